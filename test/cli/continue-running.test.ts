import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTaskJson, type TaskClient } from '../../src/index.js';
import { makeRepo } from '../helpers/git-repo.js';
import { createHarness, eventually, FAKE_CLAUDE, type Harness } from '../helpers/harness.js';
import { callTool, connectMcpStdio, textOf } from '../helpers/mcp-client.js';

// `--continue` of a task that has not ended is refused, through the CLI and MCP alike: the two
// runs would resume one Claude session in one worktree at once, and the first one's end would
// let `cleanup` remove the worktree under the second.

describe('continuing a task that has not ended', () => {
  let h: Harness;
  let repo: string;
  let client: TaskClient;

  beforeAll(async () => {
    h = createHarness({
      extraExecutors: `  - name: agents\n    type: local\n    worktree: true\n    claude_path: ${FAKE_CLAUDE}\n`,
    });
    repo = makeRepo(path.join(h.dir, 'app'));
    await h.startWorker('agents');
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('is refused in one line saying to wait for it, enqueuing nothing; once it has ended it continues in its worktree', async () => {
    const first = (
      await h.cli(['start', '-e', 'agents', '-w', repo, '--prompt', 'turns:2 slow:20000 fix it'])
    ).stdout.trim();
    // Running, with its session and worktree.
    const running = await eventually(async () => {
      const task = toTaskJson(await client.get(first));
      const session = (task.claude as { session_id?: string } | null)?.session_id;
      const git = task.git as { worktree: string } | null;
      return task.status === 'running' && task.finished_at === null && session && git ? { git } : undefined;
    }, 'the first task to be running with a session');
    const tasksBefore = (await client.list({})).length;
    const line = `task ${first} has not ended (running): wait for it (openclaw-agent wait ${first}), then continue it`;

    const cli = await h.cli(['start', '--continue', first.slice(0, 8), '--prompt', 'turns:1 and the docs']);
    expect(cli).toEqual({ exitCode: 2, stdout: '', stderr: `openclaw-agent: ${line}\n` });

    const mcp = await connectMcpStdio(h, 'continue-test');
    try {
      const refused = await callTool(mcp, 'start', { prompt: 'turns:1 and the docs', continue: first.slice(0, 8) });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe(line);
    } finally {
      await mcp.close();
    }
    expect((await client.list({})).length).toBe(tasksBefore);

    // Once it has ended (killed here, not to wait its turns out): continued in the same worktree,
    // which `cleanup` of the first leaves alone.
    expect((await h.cli(['kill', first])).exitCode).toBe(0);
    await h.cli(['wait', first]);
    expect(toTaskJson(await client.get(first)).status).toBe('killed');
    const next = await h.cli(['start', '--continue', first.slice(0, 8), '--prompt', 'turns:1 slow:1500 and the docs']);
    expect(next.exitCode, next.stderr).toBe(0);
    const second = next.stdout.trim();
    await eventually(
      async () => (toTaskJson(await client.get(second)).status === 'running' ? true : undefined),
      'the continuation to run',
    );
    expect((await h.cli(['cleanup', first])).exitCode).toBe(0);
    expect(existsSync(running.git.worktree)).toBe(true);
    expect(await h.cli(['wait', second])).toMatchObject({ exitCode: 0 });
    expect(toTaskJson(await client.get(second)).git).toMatchObject({ worktree: running.git.worktree });
  });
});
