import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import {
  ApiCreatedTaskSchema,
  ApiExecutorSchema,
  ApiTaskSchema,
  createClient,
  type ApiClient,
} from '../../src/index.js';
import { createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { callTool, connectMcpHttp, taskOf, textOf } from '../helpers/mcp-client.js';

// Who serves each executor, over the REST API, /metrics and MCP (issue 22): a dispatch nobody
// serves is warned about, a queued task says it waits for a worker, and /metrics shows the live
// workers and how long the oldest queued task has waited. Real Redis, HTTP and worker processes.

const TOKEN = `token-${randomUUID()}`;
const HINT = 'start one with `openclaw-agent worker --executor idle` (or `openclaw-agent up`)';
const WARNING = `no worker has ever served executor "idle": the task waits until one does — ${HINT}`;

describe('worker presence over the REST API, /metrics and MCP', () => {
  let h: Harness;
  let dashboard: RunningDashboard;
  let client: ApiClient;
  let mcp: Client | undefined;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    h = createHarness({
      workerConfig: '  presence_ttl: 1500ms',
      extraExecutors: '  - name: idle\n    type: local\n',
    });
    dashboard = await startDashboard({ config: h.config(), port: 0, token: TOKEN, home: h.home });
    client = createClient({ url: dashboard.url, token: TOKEN });
  });
  afterAll(async () => {
    await mcp?.close();
    await dashboard?.close();
    await h?.cleanup();
  });

  const api = async (method: string, path: string, json?: unknown) => {
    const response = await fetch(dashboard.url + path, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    return { status: response.status, text: await response.text() };
  };
  const shell = (executor: string, command: string) => ({
    executor,
    payload: { type: 'shell_command', command },
    workdir: '/tmp',
  });
  // One sample of /metrics, by family and labels (each sample line is `name{labels} value`).
  const metric = async (name: string, labels: Record<string, string>) => {
    const text = (await api('GET', '/metrics')).text;
    const wanted = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${wanted}} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  const untilMetric = (name: string, labels: Record<string, string>, value: number) =>
    eventually(
      async () => ((await metric(name, labels)) === value ? true : undefined),
      `${name} ${JSON.stringify(labels)} to be ${value}`,
    );

  it('POST /api/tasks to an executor nobody serves: 201 with a warning; the task says it waits for a worker', async () => {
    const r = await api('POST', '/api/tasks', shell('idle', 'echo hi'));
    expect(r.status, r.text).toBe(201);
    const created = ApiCreatedTaskSchema.strict().parse(JSON.parse(r.text));
    expect(created).toMatchObject({ executor: 'idle', warning: WARNING });
    const task = ApiTaskSchema.strict().parse(JSON.parse((await api('GET', `/api/tasks/${created.task_id}`)).text));
    expect(task).toMatchObject({ status: 'queued', queue_position: 1, waiting_reason: 'no_worker' });
    expect(task.waiting_for).toBe(`a worker: no worker has ever served executor "idle"; ${HINT}`);

    const executors = (await client.executors()).map((e) => ApiExecutorSchema.strict().parse(e));
    expect(executors.map((e) => [e.name, e.served, e.workers.length, e.last_served_at])).toEqual([
      ['local', false, 0, null],
      ['idle', false, 0, null],
    ]);
  });

  it('/metrics: no live worker, and the oldest queued task of the unserved executor ages', async () => {
    expect(await metric('openclaw_workers_live', { executor: 'idle' })).toBe(0);
    expect(await metric('openclaw_oldest_queued_seconds', { executor: 'local' })).toBe(0);
    const age = await eventually(async () => {
      const seconds = await metric('openclaw_oldest_queued_seconds', { executor: 'idle' });
      return seconds !== undefined && seconds > 0 ? seconds : undefined;
    }, 'the queued task to age');
    expect(age).toBeGreaterThan(0);
  });

  it('with a worker alive: no warning, the worker is listed with its host and pid, and /metrics counts it', async () => {
    worker = await h.startWorker('local');
    const r = await api('POST', '/api/tasks', shell('local', 'echo served'));
    expect(r.status, r.text).toBe(201);
    const created = ApiCreatedTaskSchema.strict().parse(JSON.parse(r.text));
    expect(created.warning).toBeUndefined();
    const [ended] = await client.wait(created.task_id, { timeoutMs: 30_000 });
    expect(ended).toMatchObject({ status: 'completed', waiting_reason: null });

    const local = (await client.executors()).find((e) => e.name === 'local')!;
    expect(local.served).toBe(true);
    expect(local.workers).toHaveLength(1);
    expect(local.workers[0]).toMatchObject({ pid: worker.pid, concurrency: 8, running: 0 });
    expect(local.last_served_at).not.toBeNull();

    const host = local.workers[0]!.host;
    // /metrics is rendered at most once a second: a scrape may be a moment old.
    await untilMetric('openclaw_workers_live', { executor: 'local' }, 1);
    expect(await metric('openclaw_workers_live_by_host', { executor: 'local', host })).toBe(1);
    expect(await metric('openclaw_oldest_queued_seconds', { executor: 'local' })).toBe(0);
    expect(await metric('openclaw_oldest_queued_seconds', { executor: 'idle' })).toBeGreaterThan(0);
  });

  it('MCP run to an executor nobody serves carries the warning; list names the executor and how to serve it', async () => {
    mcp = await connectMcpHttp(dashboard.url, TOKEN, 'presence-test');
    const run = await callTool(mcp, 'run', { command: 'echo via mcp', executor: 'idle', workdir: '/tmp' });
    expect(run.isError).toBeFalsy();
    const task = taskOf(run);
    expect((run.structuredContent as { warning?: string }).warning).toBe(WARNING);
    expect(textOf(run)).toContain(
      `task ${task.task_id} queued on idle, waiting for a worker: no worker has ever served executor "idle"`,
    );
    const status = await callTool(mcp, 'status', { id: task.task_id });
    expect(textOf(status)).toContain('waiting for a worker: no worker has ever served executor "idle"');
    const list = await callTool(mcp, 'list', { executor: 'idle' });
    expect(textOf(list)).toContain(`No live worker serves executor "idle": ${HINT}.`);

    const served = await callTool(mcp, 'run', { command: 'echo served', executor: 'local', workdir: '/tmp' });
    expect((served.structuredContent as { warning?: string }).warning).toBeUndefined();
    expect(textOf(served)).not.toContain('no worker');
  });

  it('a stopped worker leaves the list at once, and /metrics counts none', async () => {
    await stopProcess(worker!);
    const local = (await client.executors()).find((e) => e.name === 'local')!;
    expect(local).toMatchObject({ served: false, workers: [] });
    expect(local.last_served_at).not.toBeNull();
    await untilMetric('openclaw_workers_live', { executor: 'local' }, 0);
  });
});
