import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { ApiExecutorSchema, ApiScheduleSchema } from '../../src/api/contract.js';
import { startDashboardWithWorker, stopDashboard } from '../helpers/dashboard.js';
import type { Harness } from '../helpers/harness.js';
import {
  callTool,
  connectMcpHttp,
  connectMcpStdio,
  MCP_READ_ONLY_TOOLS,
  MCP_TOOLS,
  mcpTransports,
  taskOf,
  textOf,
} from '../helpers/mcp-client.js';

// The pipeline arguments of run and start, and the schedule, schedules, pause_executor and
// resume_executor tools, through the SDK's own client (which checks every answer against the
// tool's output schema): over stdio (the real CLI process) and over HTTP on a real dashboard.

const TOKEN = `mcp-pipelines-${randomUUID()}`;

let h: Harness;
let dashboard: RunningDashboard;

beforeAll(async () => {
  ({ h, dashboard } = await startDashboardWithWorker(TOKEN));
});
afterAll(() => stopDashboard({ h, dashboard }));

const connectStdio = () => connectMcpStdio(h, 'mcp-pipelines-test');
const connectHttp = (url = dashboard.url, token: string | null = TOKEN) =>
  connectMcpHttp(url, token, 'mcp-pipelines-test');

const transports = mcpTransports(connectStdio, () => connectHttp());

// A command that runs until the test opens its gate (`open(name)`): no check depends on how long
// a call takes on a loaded machine.
const gated = (name: string, then: string) =>
  `while [ ! -e '${path.join(h.dir, `gate-${name}`)}' ]; do sleep 0.05; done; ${then}`;
const open = (name: string) => writeFileSync(path.join(h.dir, `gate-${name}`), '');

describe.each(transports)('pipelines over MCP ($transport)', ({ transport, connect }) => {
  let client: Client;
  const call = (name: string, args: Record<string, unknown>) => callTool(client, name, args);
  const ok = async (name: string, args: Record<string, unknown>) => {
    const result = await call(name, args);
    expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
    return result;
  };
  // Names of their own per transport: both describe blocks share one Redis prefix.
  const tag = transport === 'stdio' ? 'stdio' : 'http';

  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists the new tools with their arguments; only schedules is read-only', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(MCP_TOOLS);
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['run', 'start']) {
      expect(Object.keys(byName.get(name)!.inputSchema.properties!)).toEqual(
        expect.arrayContaining([
          'after',
          'after_any',
          'delay',
          'at',
          'priority',
          'concurrency_key',
          'concurrency_limit',
          'on_conflict',
        ]),
      );
    }
    expect(byName.get('schedule')!.inputSchema.required).toEqual(['action', 'name']);
    expect(byName.get('schedules')!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.get('schedule')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.get('pause_executor')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
  });

  it('runs a step after another, blocked until it completed, and says what it waits for', async () => {
    const first = taskOf(await ok('run', { command: gated(`first-${tag}`, 'echo one'), name: `first ${tag}` }));
    const second = await ok('run', { command: 'echo two', after: [first.task_id.slice(0, 8)] });
    const next = taskOf(second);
    expect(next).toMatchObject({ status: 'blocked', after: [first.task_id] });
    const waitingFor = `task ${first.task_id.slice(0, 8)} (first ${tag}) to complete`;
    expect(textOf(second)).toMatch(
      new RegExp(
        `^task ${next.task_id} blocked on local, waiting for task ${first.task_id.slice(0, 8)} \\(first ${tag}\\) to complete\\. It runs detached\\. Call wait`,
      ),
    );
    const status = await ok('status', { id: next.task_id });
    expect(textOf(status).split('\n')[0]).toBe(`task ${next.task_id} blocked on local — waiting for ${waitingFor}`);
    const listed = await ok('list', { status: 'blocked' });
    expect((listed.structuredContent as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id)).toContain(
      next.task_id,
    );
    expect(textOf(listed)).toContain(`⏳ ${waitingFor}`);
    open(`first-${tag}`);
    const waited = await ok('wait', { ids: [next.task_id], timeout: '30s' });
    expect((waited.structuredContent as { tasks: { status: string }[] }).tasks[0]!.status).toBe('completed');
  });

  it('says at once that a step after a failed task was cancelled, naming it', async () => {
    const failed = taskOf(await ok('run', { command: 'exit 3' })).task_id;
    await ok('wait', { ids: [failed] });
    const after = await ok('start', { prompt: 'turns:1 never', workspace: h.dir, after: [failed] });
    expect(taskOf(after).status).toBe('cancelled');
    expect(textOf(after)).toBe(
      `task ${taskOf(after).task_id} cancelled on local at once: it runs after task ${failed} (failed), which did not complete (\`after_any\` runs it whatever their end).`,
    );
    expect(taskOf(after).error).toContain(`task ${failed}`);
  });

  it('holds a task with delay or at, takes a priority and a concurrency key', async () => {
    const later = await ok('run', { command: 'true', delay: '10m', priority: 7 });
    expect(taskOf(later)).toMatchObject({ status: 'scheduled', priority: 7 });
    expect(textOf(later)).toMatch(/^task \S+ scheduled on local, waiting for its start time, /);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const atTask = taskOf(
      await ok('run', {
        command: 'true',
        at,
        concurrency_key: `k-${tag}`,
        concurrency_limit: 2,
        on_conflict: 'queue',
      }),
    );
    expect(atTask).toMatchObject({
      status: 'scheduled',
      run_at: at,
      concurrency_key: `k-${tag}`,
      concurrency_limit: 2,
    });
    const listed = await ok('list', { status: 'scheduled' });
    const ids = (listed.structuredContent as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id);
    expect(ids).toEqual(expect.arrayContaining([taskOf(later).task_id, atTask.task_id]));
    for (const id of [taskOf(later).task_id, atTask.task_id]) await ok('kill', { id });
  });

  it('pauses an executor: a task sent to it waits, saying so, and runs once resumed', async () => {
    const paused = await ok('pause_executor', { executor: 'local' });
    expect(ApiExecutorSchema.strict().parse(paused.structuredContent)).toMatchObject({ name: 'local', paused: true });
    expect(textOf(paused)).toBe(
      'executor local paused: its workers take no new task until resume_executor; running tasks go on',
    );
    let id = '';
    try {
      const run = await ok('run', { command: 'echo after the pause' });
      id = taskOf(run).task_id;
      expect(textOf(run)).toMatch(/^task \S+ queued on local, waiting for executor "local" to be resumed \(paused\)\./);
      expect(textOf(await ok('status', { id })).split('\n')[0]).toBe(
        `task ${id} queued on local — waiting for executor "local" to be resumed (paused)`,
      );
    } finally {
      const resumed = await ok('resume_executor', { executor: 'local' });
      expect(resumed.structuredContent).toMatchObject({ name: 'local', paused: false });
    }
    const waited = await ok('wait', { ids: [id], timeout: '30s' });
    expect(waited.structuredContent).toMatchObject({ done: true, tasks: [{ status: 'completed' }] });
  });

  it('adds a schedule, lists it, pauses, resumes and removes it', async () => {
    const name = `nightly-${tag}`;
    const added = await ok('schedule', {
      action: 'add',
      name,
      cron: '0 3 * * *',
      tz: 'Europe/Prague',
      overlap: 'skip',
      task: { command: 'make nightly', workdir: h.dir, labels: ['quick'], priority: 2 },
    });
    const schedule = ApiScheduleSchema.strict().parse(added.structuredContent);
    expect(schedule).toMatchObject({
      name,
      tz: 'Europe/Prague',
      overlap: 'skip',
      paused: false,
      summary: 'make nightly',
    });
    expect(textOf(added)).toBe(
      `added: schedule ${name} (0 3 * * * in Europe/Prague) queues a shell_command task on local at each tick, overlap skip; next tick ${schedule.next_run_at}; fired 0 times`,
    );
    const prompt = await ok('schedule', {
      action: 'add',
      name: `review-${tag}`,
      cron: '0 9 * * 1-5',
      task: { prompt: 'Review the open PRs', workspace: h.dir, max_turns: 3 },
    });
    expect(prompt.structuredContent).toMatchObject({ task_type: 'claude_code', tz: 'UTC' });

    const listed = await ok('schedules', {});
    const names = (listed.structuredContent as { schedules: { name: string }[] }).schedules.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([name, `review-${tag}`]));
    expect(textOf(await ok('schedules', { name }))).toBe(textOf(added).replace(/^added: /, ''));

    const paused = await ok('schedule', { action: 'pause', name });
    expect(paused.structuredContent).toMatchObject({ paused: true, next_run_at: null });
    expect(textOf(paused)).toMatch(/; paused \(no ticks until resumed\); fired 0 times$/);
    const resumed = await ok('schedule', { action: 'resume', name });
    expect(resumed.structuredContent).toMatchObject({ paused: false, next_run_at: schedule.next_run_at });

    for (const each of [name, `review-${tag}`]) {
      const removed = await ok('schedule', { action: 'remove', name: each });
      expect(textOf(removed)).toBe(`schedule ${each} removed; the tasks it made stay`);
      expect(removed.structuredContent).toMatchObject({ name: each, removed: true });
    }
    const gone = await call('schedules', { name });
    expect(gone).toEqual({
      content: [{ type: 'text', text: `no schedule named "${name}" — call schedules for the names` }],
      isError: true,
    });
  });

  it('gives bad pipeline and schedule arguments as tool errors of one line', async () => {
    const before = await h.redis().zcard(`${h.prefix}:_index:created`);
    const cases: [string, Record<string, unknown>, string | RegExp][] = [
      ['run', { command: 'true', after: 'abcdef12' }, /^Expected `after` to be a list, got `abcdef12`$/],
      [
        'run',
        { command: 'true', after_any: true },
        '`after_any` says how to wait for the tasks of `after`: give `after` too',
      ],
      ['run', { command: 'true', delay: 'soon' }, '`delay`: expected a duration like 30s or 2h, got `soon`'],
      [
        'run',
        { command: 'true', delay: '1m', at: '2030-01-01T00:00:00Z' },
        'give one start time: `delay` (from now) or `at` (a time), not both',
      ],
      [
        'run',
        { command: 'true', at: 'tonight' },
        'Expected `at` to be a time like 2026-12-07T03:00:00Z, got `tonight`',
      ],
      ['run', { command: 'true', priority: 0 }, /^`priority`: Too small/],
      [
        'start',
        { prompt: 'x', concurrency_limit: 2 },
        '`concurrency_limit` acts on a concurrency key: give `concurrency_key` too',
      ],
      [
        'run',
        { command: 'true', concurrency_key: 'k', on_conflict: 'evict' },
        /^Expected `on_conflict` to be one of "queue"/,
      ],
      ['schedule', { action: 'add', name: 'x' }, 'add needs `cron`: a pattern like "0 3 * * *"'],
      [
        'schedule',
        { action: 'add', name: 'x', cron: '0 3 * * *' },
        'add needs `task`: `command` or `argv` (as run), or `prompt` (as start), with their options',
      ],
      [
        'schedule',
        { action: 'add', name: 'x', cron: '0 3 * * *', task: { command: 'true', prompt: 'x' } },
        'give the task exactly one of `task.command`, `task.argv` (a command) or `task.prompt` (a Claude prompt), not command and prompt',
      ],
      [
        'schedule',
        { action: 'add', name: 'x', cron: '0 3 * * *', task: { command: 'true', max_turns: 3 } },
        '`task.max_turns` is for a prompt: a command takes no `max_turns`',
      ],
      [
        'schedule',
        { action: 'add', name: 'x', cron: '0 3 * * *', task: { command: 'true', after: ['abcdef'] } },
        'unknown field `after` in `task`',
      ],
      [
        'schedule',
        { action: 'add', name: 'x', cron: 'daily', task: { command: 'true' } },
        /^Expected a cron pattern of 5 fields/,
      ],
      ['schedule', { action: 'pause', name: 'x', cron: '0 3 * * *' }, '`cron` is for action add, not pause'],
      [
        'schedule',
        { action: 'remove', name: 'no-such' },
        'no schedule named "no-such" — see `openclaw-agent schedule list`',
      ],
      ['schedule', { action: 'stop', name: 'x' }, /^Expected `action` to be one of "add", "pause", "resume", "remove"/],
      ['schedule', { action: 'add', name: 'bad name', cron: '0 3 * * *' }, /^`name`: schedule names use letters/],
      ['pause_executor', { executor: 'nowhere' }, /^unknown executor "nowhere"/],
    ];
    for (const [name, args, message] of cases) {
      const result = await call(name, args);
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      expect(result.content).toHaveLength(1);
      const text = textOf(result);
      if (typeof message === 'string') expect(text, `${name} ${JSON.stringify(args)}`).toBe(message);
      else expect(text, `${name} ${JSON.stringify(args)}`).toMatch(message);
    }
    expect(await h.redis().zcard(`${h.prefix}:_index:created`)).toBe(before);
    expect(await h.redis().scard(`${h.prefix}:_index:schedules`)).toBe(0);
  });
});

describe('a read-only dashboard over MCP', () => {
  it('offers schedules but not the tools that change schedules or executors', async () => {
    const readOnly = await startDashboard({ config: h.config(), port: 0, readOnly: true });
    try {
      const client = await connectHttp(readOnly.url, null);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(MCP_READ_ONLY_TOOLS);
      const refused = (await client.callTool({
        name: 'pause_executor',
        arguments: { executor: 'local' },
      })) as CallToolResult;
      expect(refused).toMatchObject({ isError: true });
      expect(textOf(refused)).toMatch(/^no tool "pause_executor" \(this server is read-only\)/);
      await client.close();
    } finally {
      await readOnly.close();
    }
    const tasks = await h.client();
    expect((await tasks.pausedExecutors(['local'])).has('local')).toBe(false);
  });
});
