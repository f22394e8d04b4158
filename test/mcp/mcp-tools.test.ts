import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_TOOLS } from '../../src/mcp/mcp-tools.js';
import type { McpToolContext } from '../../src/mcp/mcp-tool.js';
import { RunInput } from '../../src/mcp/tool-inputs.js';
import { TaskClient } from '../../src/tasks/client.js';
import { killTask } from '../../src/tasks/control.js';
import type { TaskView } from '../../src/tasks/record.js';
import type { TaskStatus } from '../../src/tasks/status.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';

// The `run` tool's handler in this process, against a real worker: its answer read as a client
// reads it when the worker is fast, the task already started (or ended) by the time it is looked at.

let h: Harness;

beforeAll(async () => {
  h = createHarness();
  await h.startWorker();
});
afterAll(() => h?.cleanup());

// A client whose look at a task waits until the task has reached one of `statuses`.
async function clientSeeing(statuses: readonly TaskStatus[]): Promise<TaskClient> {
  const client = await h.client();
  return new (class extends TaskClient {
    override async get(idOrPrefix: string): Promise<TaskView> {
      return eventually(
        async () => {
          const view = await client.get(idOrPrefix);
          return statuses.includes(view.status) ? view : undefined;
        },
        `task ${idOrPrefix} to be ${statuses.join(' or ')}`,
      );
    }
  })(client.config, client.redis);
}

async function run(client: TaskClient, args: Record<string, unknown>) {
  const tool = MCP_TOOLS.find((t) => t.name === 'run')!;
  const context: McpToolContext = { client, signal: new AbortController().signal, progress: async () => {} };
  return tool.handle(context, RunInput.parse({ workdir: h.dir, ...args }) as never);
}

describe('run', () => {
  it('says the status its task shows: running once a worker has it', async () => {
    const client = await clientSeeing(['running']);
    const { text, structured } = await run(client, { argv: ['sleep', '30'] });
    const id = structured.task_id as string;
    expect(structured.status).toBe('running');
    expect(text).toBe(
      `task ${id} running on local. It runs detached. Call wait with its id to learn how it ended (or status/logs meanwhile).`,
    );
    await killTask(await h.client(), id, 1000);
  });

  it('says a task that ended before the answer ended, not that it runs', async () => {
    const client = await clientSeeing(['completed']);
    const { text, structured } = await run(client, { argv: ['true'] });
    expect(structured.status).toBe('completed');
    expect(text).toBe(
      `task ${String(structured.task_id)} completed on local already. Call status or logs with its id for how it ended.`,
    );
  });
});
