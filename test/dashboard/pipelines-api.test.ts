import { writeFileSync } from 'node:fs';
import nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { ApiScheduleSchema, ApiTaskSchema, type ApiTask } from '../../src/api/contract.js';
import type { ApiClient } from '../../src/api/client.js';
import { startDashboardWithWorker, stopDashboard } from '../helpers/dashboard.js';
import { eventually, type Harness } from '../helpers/harness.js';

// Issue 20 over the REST API and the TypeScript client: tasks after others, at a time, by
// priority and under a concurrency key; executors paused and resumed; schedules added, shown,
// paused, resumed, fired and removed. One real worker process, real HTTP, real Redis.

const TOKEN = `pipelines-token-${'x'.repeat(16)}`;
const UNKNOWN_ID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

interface Answer {
  status: number;
  text: string;
  // Answers are checked field by field in each test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: () => any;
}

let h: Harness;
let dashboard: RunningDashboard;
let client: ApiClient;

beforeAll(async () => {
  // `idle` has no worker: its tasks stay queued, in the order the queue would run them.
  ({ h, dashboard, client } = await startDashboardWithWorker(TOKEN, {
    harness: { extraExecutors: '  - name: idle\n    type: local\n' },
  }));
});
afterAll(() => stopDashboard({ h, dashboard }));

async function api(method: string, path: string, json?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(dashboard.url + path, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: json === undefined ? undefined : JSON.stringify(json),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) } satisfies Answer;
}

const shell = (command: string, extra: Record<string, unknown> = {}) => ({
  executor: 'local',
  payload: { type: 'shell_command', command },
  workdir: '/tmp',
  ...extra,
});

async function create(
  body: unknown,
): Promise<{ task_id: string; conflicts?: { stopped: string[]; cancelled: string[] } }> {
  const r = await api('POST', '/api/tasks', body);
  expect(r.status, r.text).toBe(201);
  return r.json();
}

async function task(id: string): Promise<ApiTask> {
  const r = await api('GET', `/api/tasks/${id}`);
  expect(r.status, r.text).toBe(200);
  return ApiTaskSchema.strict().parse(r.json());
}

const statusOf = async (id: string, status: string) => ((await task(id)).status === status ? true : undefined);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// A command that runs until the test opens its gate (`open(name)`): no check depends on how long
// a request takes on a loaded machine.
const gated = (name: string, then: string) =>
  `while [ ! -e '${nodePath.join(h.dir, `gate-${name}`)}' ]; do sleep 0.05; done; ${then}`;
const open = (name: string) => writeFileSync(nodePath.join(h.dir, `gate-${name}`), '');

describe('tasks after others, later, by priority and under a concurrency key', () => {
  it('runs B --after A once A completed, blocked until then and saying for what', async () => {
    const a = (await create(shell(gated('step-one', 'echo a'), { name: 'step one' }))).task_id;
    const b = (await create(shell('echo b', { after: [a.slice(0, 8)] }))).task_id;
    const blocked = await task(b);
    expect(blocked).toMatchObject({ status: 'blocked', after: [a], after_any: false });
    expect(blocked.waiting_for).toBe(`task ${a.slice(0, 8)} (step one) to complete`);
    const listed = (await api('GET', '/api/tasks?status=blocked&limit=1000')).json().tasks as ApiTask[];
    expect(listed.map((t) => t.task_id)).toContain(b);
    expect(listed.every((t) => t.status === 'blocked')).toBe(true);

    open('step-one');
    const [doneA, doneB] = await client.wait([a, b], { timeoutMs: 30_000 });
    expect(doneA!.status).toBe('completed');
    expect(doneB).toMatchObject({ status: 'completed', waiting_for: null });
    expect(Date.parse(doneB!.started_at!)).toBeGreaterThanOrEqual(Date.parse(doneA!.finished_at!));
  });

  it('cancels a task whose dependency failed, naming it, and runs one --after_any whatever the end', async () => {
    const failing = (await create(shell('sleep 0.5; exit 3'))).task_id;
    const cancelled = (await create(shell('echo never', { after: [failing] }))).task_id;
    const anyway = (await create(shell('echo anyway', { after: [failing], after_any: true }))).task_id;
    const [c, any] = await client.wait([cancelled, anyway], { timeoutMs: 30_000 });
    expect(c).toMatchObject({ status: 'cancelled', started_at: null });
    expect(c!.error).toContain(`task ${failing}`);
    expect(c!.error).toMatch(/ended failed/);
    expect(any).toMatchObject({ status: 'completed', after_any: true });
    // After a dependency that already failed: 201, and cancelled as it is made.
    const late = (await create(shell('echo never', { after: [failing] }))).task_id;
    expect(await task(late)).toMatchObject({ status: 'cancelled', error: expect.stringContaining(failing) });
  });

  it('holds a task with delay_ms or at as scheduled until its time, then runs it', async () => {
    const before = Date.now();
    const later = (await create(shell('echo later', { delay_ms: 600_000 }))).task_id;
    const at = new Date(Date.now() + 3_600_000);
    const atTask = (await create(shell('echo at', { at: at.toISOString(), name: 'at one' }))).task_id;
    const soon = (await create(shell('echo soon', { delay_ms: 1500 }))).task_id;
    const laterJson = await task(later);
    expect(laterJson.status).toBe('scheduled');
    expect(Date.parse(laterJson.run_at!)).toBeGreaterThanOrEqual(before + 600_000);
    expect(laterJson.waiting_for).toMatch(/^its start time, /);
    expect(await task(atTask)).toMatchObject({ status: 'scheduled', run_at: at.toISOString() });
    const scheduled = (await api('GET', '/api/tasks?status=scheduled&limit=1000')).json().tasks as ApiTask[];
    expect(scheduled.map((t) => t.task_id)).toEqual(expect.arrayContaining([later, atTask]));
    expect(scheduled.every((t) => t.status === 'scheduled')).toBe(true);

    const [ran] = await client.wait(soon, { timeoutMs: 30_000 });
    expect(ran!.status).toBe('completed');
    expect(Date.parse(ran!.started_at!)).toBeGreaterThanOrEqual(Date.parse(ran!.run_at!));
    for (const id of [later, atTask]) {
      expect((await api('POST', `/api/tasks/${id}/kill`, {})).json()).toMatchObject({ result: 'cancelled' });
    }
  });

  it('takes a priority: on one queue the task with 1 goes before the one with 5, both before none', async () => {
    const none = (await create({ ...shell('true'), executor: 'idle' })).task_id;
    const five = (await create({ ...shell('true'), executor: 'idle', priority: 5 })).task_id;
    const one = (await create({ ...shell('true'), executor: 'idle', priority: 1 })).task_id;
    const [t1, t5, tn] = [await task(one), await task(five), await task(none)];
    expect([t1.priority, t5.priority, tn.priority]).toEqual([1, 5, null]);
    expect(t1.queue_position! < t5.queue_position!).toBe(true);
    expect(t5.queue_position! < tn.queue_position!).toBe(true);
    for (const id of [none, five, one]) await api('POST', `/api/tasks/${id}/kill`, {});
  });

  it('runs one task of a concurrency key at a time; replace-queued cancels the waiting, cancel-running stops the running', async () => {
    const key = `deploy:${h.prefix}`;
    const holder = (await create(shell('sleep 30', { concurrency_key: key }))).task_id;
    await eventually(() => statusOf(holder, 'running'), 'the first task of the key to run');
    const waiting = (await create(shell('echo second', { concurrency_key: key }))).task_id;
    const queued = await eventually(async () => {
      const t = await task(waiting);
      return t.waiting_for?.includes('turn') ? t : undefined;
    }, 'the second task to wait for a turn');
    expect(queued).toMatchObject({
      status: 'queued',
      concurrency_key: key,
      concurrency_limit: 1,
      waiting_for: `a turn of concurrency key "${key}"`,
    });

    const replacing = await create(shell('echo replacing', { concurrency_key: key, on_conflict: 'replace-queued' }));
    expect(replacing.conflicts).toEqual({ stopped: [], cancelled: [waiting] });
    expect((await task(waiting)).status).toBe('cancelled');

    const urgent = await create(shell('echo urgent', { concurrency_key: key, on_conflict: 'cancel-running' }));
    expect(urgent.conflicts).toEqual({ stopped: [holder], cancelled: [] });
    const ended = await client.wait([holder, replacing.task_id, urgent.task_id], { timeoutMs: 30_000 });
    expect(ended.map((t) => t.status)).toEqual(['killed', 'completed', 'completed']);
    // A plain task answers the 201 it always did: no `conflicts`.
    expect(Object.keys(await create(shell('true')))).toEqual(['task_id', 'executor']);
  });

  it('refuses bad input for every new field with 400 and one line naming the field, and enqueues nothing', async () => {
    const redis = h.redis();
    const created = `${h.prefix}:_index:created`;
    const known = (await create({ ...shell('true'), executor: 'idle' })).task_id;
    const before = await redis.zcard(created);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ after: known }, /^Expected `after` to be a list, got /],
      [{ after: [] }, /^`after`: Too small/],
      [{ after: [UNKNOWN_ID] }, /^`after` `ffffffff-ffff-4fff-bfff-ffffffffffff`: no such task/],
      [{ after: ['abc'] }, /^`after`: task id prefix "abc" is too short/],
      [{ after: ['zzzzzzzz'] }, /^`after`: Expected a task id or a prefix of one, got `zzzzzzzz`$/],
      [{ after: [known], after_any: 'yes' }, /^Expected `after_any` to be a boolean/],
      [{ after_any: true }, /^`after_any`: says how to wait for the tasks of `after`: give `after` too/],
      [{ delay_ms: -5 }, /^`delay_ms`: Too small/],
      [{ delay_ms: 1.5 }, /^Expected `delay_ms` to be an int/],
      [{ delay_ms: '30m' }, /^Expected `delay_ms` to be a number, got `30m`$/],
      [{ delay: '30m' }, /^unknown field `delay`$/],
      [{ delay_ms: 1000, at: new Date(Date.now() + 60_000).toISOString() }, /^`at`: give one start time/],
      [{ at: 'tomorrow' }, /^Expected `at` to be a time like 2026-12-07T03:00:00Z, got `tomorrow`$/],
      [
        { at: '2020-01-01T00:00:00Z' },
        /^the start time 2020-01-01T00:00:00.000Z is in the past; give a later `at`, or `delay_ms`$/,
      ],
      [{ at: '2100-01-01T00:00:00Z' }, /too far ahead/],
      [{ priority: 0 }, /^`priority`: Too small/],
      [{ priority: 1_000_001 }, /^`priority`: Too big/],
      [{ priority: 'high' }, /^Expected `priority` to be a number, got `high`$/],
      [{ concurrency_key: 'bad key!' }, /^`concurrency_key`: concurrency keys use letters/],
      [{ concurrency_key: 'k', concurrency_limit: 0 }, /^`concurrency_limit`: Too small/],
      [{ concurrency_limit: 2 }, /^`concurrency_limit`: acts on a concurrency key: give `concurrency_key` too/],
      [
        { concurrency_key: 'k', on_conflict: 'evict' },
        /^Expected `on_conflict` to be one of "queue", "cancel-running"/,
      ],
      [{ on_conflict: 'queue' }, /^`on_conflict`: acts on a concurrency key: give `concurrency_key` too/],
      [{ afterAny: true }, /^unknown field `afterAny` \(fields are snake_case: `after_any`\)$/],
    ];
    for (const [extra, message] of cases) {
      const r = await api('POST', '/api/tasks', { ...shell('echo must-not-run'), ...extra });
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(r.json().error, JSON.stringify(extra)).toMatch(message);
      expect(r.json().error).not.toContain('\n');
    }
    expect(await redis.zcard(created)).toBe(before);
    await api('POST', `/api/tasks/${known}/kill`, {});
  });
});

describe('executors paused and resumed', () => {
  it('shows paused in GET /api/executors; a task sent to a paused executor waits, saying so, and runs after resume', async () => {
    const executors = (await api('GET', '/api/executors')).json() as { name: string; paused: boolean }[];
    expect(executors.map((e) => [e.name, e.paused])).toEqual([
      ['local', false],
      ['idle', false],
    ]);
    const paused = await api('POST', '/api/executors/local/pause');
    expect(paused.status, paused.text).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'local', type: 'local', paused: true, env_keys: [] });
    let id: string | undefined;
    try {
      expect((await api('GET', '/api/executors')).json()).toEqual([
        expect.objectContaining({ name: 'local', paused: true }),
        expect.objectContaining({ name: 'idle', paused: false }),
      ]);
      id = (await create(shell('echo resumed'))).task_id;
      // Long enough for an idle worker to have taken it, were the executor not paused.
      await pause(1500);
      expect(await task(id)).toMatchObject({
        status: 'queued',
        waiting_for: 'executor "local" to be resumed (paused)',
      });
    } finally {
      const resumed = await api('POST', '/api/executors/local/resume', {});
      expect(resumed.status, resumed.text).toBe(200);
      expect(resumed.json()).toMatchObject({ name: 'local', paused: false });
    }
    const [done] = await client.wait(id, { timeoutMs: 30_000 });
    expect(done).toMatchObject({ status: 'completed', waiting_for: null });
  });

  it('refuses an unknown executor and a body with options', async () => {
    const unknown = await api('POST', '/api/executors/nowhere/pause');
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatch(/^unknown executor "nowhere"/);
    const extra = await api('POST', '/api/executors/local/pause', { wait: true });
    expect(extra.status).toBe(400);
    expect(extra.json().error).toBe('unknown field `wait`');
    expect((await client.executors()).find((e) => e.name === 'local')?.paused).toBe(false);
  });
});

describe('schedules', () => {
  const scheduleBody = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    cron: '0 3 * * *',
    tz: 'Europe/Prague',
    task: { ...shell('echo nightly'), priority: 3, labels: ['nightly'] },
    ...extra,
  });

  it('adds, lists, shows, pauses, resumes and removes a schedule; an unknown name is 404', async () => {
    const name = 'nightly-build';
    const added = await api('POST', '/api/schedules', scheduleBody(name));
    expect(added.status, added.text).toBe(201);
    const schedule = ApiScheduleSchema.strict().parse(added.json());
    expect(schedule).toMatchObject({
      name,
      cron: '0 3 * * *',
      tz: 'Europe/Prague',
      overlap: 'queue',
      paused: false,
      executor: 'local',
      task_type: 'shell_command',
      summary: 'echo nightly',
      fired: 0,
      last_task_id: null,
    });
    expect(Date.parse(schedule.next_run_at!)).toBeGreaterThan(Date.now());
    const again = await api('POST', '/api/schedules', scheduleBody(name));
    expect(again.status).toBe(400);
    expect(again.json().error).toMatch(/a schedule named "nightly-build" exists/);

    const list = (await api('GET', '/api/schedules')).json() as unknown[];
    expect(list.map((s) => ApiScheduleSchema.strict().parse(s).name)).toEqual([name]);
    expect((await api('GET', `/api/schedules/${name}`)).json()).toEqual(schedule);

    const paused = await api('POST', `/api/schedules/${name}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.json()).toMatchObject({ name, paused: true, next_run_at: null });
    const resumed = await api('POST', `/api/schedules/${name}/resume`, {});
    expect(resumed.json()).toMatchObject({ name, paused: false, next_run_at: schedule.next_run_at });

    const removed = await api('DELETE', `/api/schedules/${name}`);
    expect([removed.status, removed.text]).toEqual([204, '']);
    for (const [method, path] of [
      ['GET', `/api/schedules/${name}`],
      ['POST', `/api/schedules/${name}/pause`],
      ['POST', `/api/schedules/${name}/resume`],
      ['DELETE', `/api/schedules/${name}`],
    ] as const) {
      const r = await api(method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json().error).toMatch(/^no schedule named "nightly-build"/);
    }
    expect((await api('GET', '/api/schedules')).json()).toEqual([]);
  });

  it('makes an ordinary task at each tick, named and labelled after the schedule', async () => {
    const name = 'every-second';
    const added = await api('POST', '/api/schedules', {
      name,
      cron: '* * * * * *',
      overlap: 'skip',
      task: { ...shell('echo tick'), labels: ['ticks'] },
    });
    expect(added.status, added.text).toBe(201);
    try {
      const fired = await eventually(async () => {
        const s = (await api('GET', `/api/schedules/${name}`)).json();
        return s.last_task_id ? s : undefined;
      }, 'the first tick');
      expect(fired).toMatchObject({ last_result: 'started', last_fired_at: expect.any(String) });
      const [made] = await client.wait(fired.last_task_id, { timeoutMs: 30_000 });
      expect(made).toMatchObject({
        status: 'completed',
        name,
        schedule: name,
        labels: ['ticks', `schedule:${name}`],
        command: 'echo tick',
      });
    } finally {
      expect((await api('DELETE', `/api/schedules/${name}`)).status).toBe(204);
    }
  });

  it('refuses a bad schedule with 400 and one line naming the field, and adds nothing', async () => {
    const redis = h.redis();
    const names = `${h.prefix}:_index:schedules`;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: undefined }, /^`name` is required$/],
      [{ name: 'bad name!' }, /^Expected a schedule name of letters, digits/],
      [{ cron: undefined }, /^`cron` is required$/],
      [{ cron: 'every day' }, /^Expected a cron pattern of 5 fields/],
      [{ cron: '99 * * * *' }, /^invalid cron pattern `99 \* \* \* \*`/],
      [{ tz: 'Mars/Olympus' }, /^unknown time zone `Mars\/Olympus`/],
      [{ overlap: 'sometimes' }, /^Expected `overlap` to be one of "queue", "skip", got `sometimes`$/],
      [{ task: undefined }, /^`task` is required$/],
      [{ task: { ...shell('true'), after: [UNKNOWN_ID] } }, /^unknown field `after` in `task`$/],
      [{ task: { ...shell('true'), delay_ms: 1000 } }, /^unknown field `delay_ms` in `task`$/],
      [{ task: { ...shell('true'), at: '2030-01-01T00:00:00Z' } }, /^unknown field `at` in `task`$/],
      [{ task: { ...shell('true'), worktree: true } }, /^unknown field `worktree` in `task`$/],
      [{ task: { ...shell('true'), executor: 'nope' } }, /^unknown executor "nope"/],
      [{ task: { ...shell('true'), priority: 0 } }, /^`task.priority`: Too small/],
      [{ task: { ...shell('true'), on_conflict: 'queue' } }, /^`task.on_conflict`: acts on a concurrency key/],
      [{ task: { ...shell('true'), workdir: 'relative' } }, /^`task.workdir`: the API has no current directory/],
      [{ crontab: '* * * * *' }, /^unknown field `crontab`$/],
    ];
    for (const [extra, message] of cases) {
      const r = await api('POST', '/api/schedules', scheduleBody('checked', extra));
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(r.json().error, JSON.stringify(extra)).toMatch(message);
      expect(r.json().error).not.toContain('\n');
    }
    expect(await redis.scard(names)).toBe(0);
    expect(await redis.exists(`${h.prefix}:_schedule:checked`)).toBe(0);
  });
});

describe('the new writes pass the same gate as the old ones', () => {
  it('refuses them on a read-only dashboard, and from a browser session without the CSRF token', async () => {
    const readOnly = await startDashboard({ config: h.config(), port: 0, readOnly: true });
    try {
      for (const [method, path, body] of [
        ['POST', '/api/executors/local/pause', undefined],
        ['POST', '/api/executors/local/resume', undefined],
        ['POST', '/api/schedules', scheduleLike()],
        ['POST', '/api/schedules/x/pause', undefined],
        ['DELETE', '/api/schedules/x', undefined],
      ] as const) {
        const r = await fetch(readOnly.url + path, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(((await r.json()) as { error: string }).error).toMatch(/read-only/);
      }
      expect((await fetch(`${readOnly.url}/api/schedules`)).status).toBe(200);
    } finally {
      await readOnly.close();
    }
    expect((await client.executors()).find((e) => e.name === 'local')?.paused).toBe(false);

    const login = await fetch(`${dashboard.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(),
      redirect: 'manual',
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const noCsrf = await fetch(`${dashboard.url}/api/executors/local/pause`, { method: 'POST', headers: { cookie } });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: string }).error).toMatch(/x-csrf-token/);
    const crossSite = await fetch(`${dashboard.url}/api/schedules`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify(scheduleLike()),
    });
    expect(crossSite.status).toBe(403);
    expect((await client.executors()).find((e) => e.name === 'local')?.paused).toBe(false);
    expect(await client.listSchedules()).toEqual([]);
  });
});

function scheduleLike() {
  return { name: 'refused', cron: '0 3 * * *', task: shell('true') };
}

describe('the OpenAPI document', () => {
  it('lists the new routes and fields, and every route it lists exists', async () => {
    const doc = (await api('GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/executors/{name}/pause',
        '/api/executors/{name}/resume',
        '/api/schedules',
        '/api/schedules/{name}',
        '/api/schedules/{name}/pause',
        '/api/schedules/{name}/resume',
      ]),
    );
    expect(Object.keys(doc.paths['/api/schedules'])).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/schedules/{name}'])).toEqual(['get', 'delete']);
    expect(Object.keys(doc.components.schemas.CreateTask.properties)).toEqual(
      expect.arrayContaining([
        'after',
        'after_any',
        'delay_ms',
        'at',
        'priority',
        'concurrency_key',
        'concurrency_limit',
        'on_conflict',
      ]),
    );
    expect(doc.components.schemas.CreateSchedule.required).toEqual(['name', 'cron', 'task']);
    expect(doc.components.schemas.CreateSchedule.properties.task.properties).not.toHaveProperty('after');
    expect(doc.components.schemas.Schedule.required).toEqual(expect.arrayContaining(['name', 'next_run_at', 'paused']));
    expect(doc.components.schemas.Executor.required).toContain('paused');
    expect(doc.components.schemas.ApiCreatedTask.properties).toHaveProperty('conflicts');
    const listed = doc.paths['/api/tasks'].get.parameters.find((p: { name: string }) => p.name === 'status');
    expect(listed.schema.enum).toEqual(expect.arrayContaining(['blocked', 'scheduled']));
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(methods)) {
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        expect(dashboard.app.hasRoute({ method: method.toUpperCase(), url }), `${method} ${path}`).toBe(true);
      }
    }
  });
});

describe('the TypeScript client', () => {
  it('dispatches after, later, by priority and under a key, with camelCase options', async () => {
    const first = await client.run({ cmd: 'exit 2', workdir: '/tmp', executor: 'local' });
    const next = await client.run({ argv: ['true'], workdir: '/tmp', executor: 'local', after: [first.task_id] });
    const anyway = await client.start({
      prompt: 'turns:1 anyway',
      workspace: '/tmp',
      executor: 'local',
      after: [first.task_id],
      afterAny: true,
      priority: 2,
      concurrencyKey: 'client-key',
      concurrencyLimit: 2,
      onConflict: 'queue',
    });
    const [n, a] = await client.wait([next.task_id, anyway.task_id], { timeoutMs: 30_000 });
    expect(n).toMatchObject({ status: 'cancelled', error: expect.stringContaining(first.task_id) });
    expect(a).toMatchObject({
      status: 'completed',
      after_any: true,
      priority: 2,
      concurrency_key: 'client-key',
      concurrency_limit: 2,
    });
    const at = new Date(Date.now() + 3_600_000);
    const byDate = await client.run({ cmd: 'true', workdir: '/tmp', executor: 'idle', at });
    const byDelay = await client.run({ cmd: 'true', workdir: '/tmp', executor: 'idle', delayMs: 3_600_000 });
    expect(await client.get(byDate.task_id)).toMatchObject({ status: 'scheduled', run_at: at.toISOString() });
    expect((await client.get(byDelay.task_id)).status).toBe('scheduled');
    const listed = await client.list({ status: 'scheduled', executor: 'idle' });
    expect(listed.tasks.map((t) => t.task_id)).toEqual([byDelay.task_id, byDate.task_id]);
    for (const t of [byDate, byDelay]) await client.kill(t.task_id);
    await expect(client.run({ cmd: 'true', workdir: '/tmp', delayMs: 5, at })).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^`at`: give one start time/),
    });
  });

  it('adds, lists, pauses, resumes and removes schedules, and pauses and resumes executors', async () => {
    const added = await client.addSchedule({
      name: 'client-schedule',
      cron: '30 2 * * 1-5',
      overlap: 'skip',
      start: { prompt: 'Review the open PRs', workspace: '/tmp', executor: 'local', maxTurns: 3, priority: 4 },
    });
    expect(added).toMatchObject({ name: 'client-schedule', overlap: 'skip', task_type: 'claude_code', paused: false });
    expect((await client.listSchedules()).map((s) => s.name)).toEqual(['client-schedule']);
    expect((await client.pauseSchedule('client-schedule')).paused).toBe(true);
    expect((await client.getSchedule('client-schedule')).next_run_at).toBeNull();
    expect((await client.resumeSchedule('client-schedule')).next_run_at).not.toBeNull();
    await client.removeSchedule('client-schedule');
    await expect(client.getSchedule('client-schedule')).rejects.toMatchObject({
      status: 404,
      code: 'SCHEDULE_NOT_FOUND',
    });
    await expect(client.removeSchedule('client-schedule')).rejects.toMatchObject({ status: 404 });
    await expect(
      client.addSchedule({ name: 'x', cron: 'soon', run: { cmd: 'true', workdir: '/tmp', executor: 'local' } }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/cron pattern/) });

    expect(await client.pauseExecutor('idle')).toMatchObject({ name: 'idle', paused: true });
    expect((await client.executors()).map((e) => [e.name, e.paused])).toEqual([
      ['local', false],
      ['idle', true],
    ]);
    expect(await client.resumeExecutor('idle')).toMatchObject({ name: 'idle', paused: false });
    await expect(client.pauseExecutor('nowhere')).rejects.toMatchObject({ status: 400 });
  });
});
