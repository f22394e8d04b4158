import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import {
  ApiTaskSchema,
  createClient,
  readServerSentEvents,
  type ApiClient,
  type ApiCreateTaskBody,
  type ApiTask,
} from '../../src/index.js';
import { startDashboardWithWorker, stopDashboard } from '../helpers/dashboard.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKEN = `token-${randomUUID()}`;
const TASK_SECRET = `task-secret-${randomUUID()}`;
const EXECUTOR_SECRET = `executor-secret-${randomUUID()}`;
const HOOK_SECRET = `hook-path-${randomUUID()}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // Answers are checked field by field in each test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: () => any;
}

/** Every body any test read, to check that no secret ever left the server. */
const seen: string[] = [];

async function request(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(url, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    redirect: 'manual',
  });
  const text = await response.text();
  seen.push(text);
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

// A tiny Prometheus text-format parser: families with HELP and TYPE, samples with labels.
interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (name: string) => families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) {
      const family = families.get(m[2]!) ?? { type: '', help: '', samples: [] };
      if (m[1] === 'HELP') family.help = m[3]!;
      else family.type = m[3]!;
      families.set(m[2]!, family);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${line}`);
    const family = familyOf(m[1]!);
    if (!family?.type) throw new Error(`sample before its # TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    family.samples.push({ name: m[1]!, labels, value });
  }
  return families;
}

describe('dashboard REST API over real HTTP, with a real worker process', () => {
  let h: Harness;
  let dashboard: RunningDashboard;
  let base: string;
  let client: ApiClient;
  const receiver = new WebhookReceiver();
  const auth = { authorization: `Bearer ${TOKEN}` };
  const api = (method: string, path: string, json?: unknown, headers: Record<string, string> = auth) =>
    request(base + path, { method, json, headers });

  beforeAll(async () => {
    await receiver.start();
    receiver.script(`/failing/${HOOK_SECRET}`, [500]);
    h = createHarness({
      // `idle` has no worker: its tasks stay queued.
      extraExecutors: `  - name: idle\n    type: local\n    env: {API_KEY: ${EXECUTOR_SECRET}}\n  - name: box\n    type: container\n    image: alpine\n`,
      extraConfig: 'defaults:\n  webhook_retry_schedule: [100ms]\n  webhook_timeout: 2s\n',
    });
    await h.startWorker('local');
    dashboard = await startDashboard({ config: h.config(), port: 0, token: TOKEN });
    base = dashboard.url;
    client = createClient({ url: base, token: TOKEN });
  });
  afterAll(async () => {
    await dashboard?.close();
    await h?.cleanup();
    await receiver.stop();
  });

  const shell = (command: string, extra: Record<string, unknown> = {}) => ({
    executor: 'local',
    payload: { type: 'shell_command', command, env: { SECRET_ENV: TASK_SECRET } },
    workdir: '/tmp',
    ...extra,
  });

  async function create(body: unknown): Promise<string> {
    const r = await api('POST', '/api/tasks', body);
    expect(r.status, r.text).toBe(201);
    return r.json().task_id as string;
  }

  it('POST /api/tasks enqueues with the CLI schema and answers 201; the task runs and reads back as the CLI shows it', async () => {
    const id = await create(shell('printf "a\\nb\\n"; echo oops >&2', { name: 'two lines', labels: ['quick'] }));
    const [ended] = await client.wait(id, { timeoutMs: 20_000 });
    expect(ended).toMatchObject({
      task_id: id,
      status: 'completed',
      exit_code: 0,
      name: 'two lines',
      workdir: '/tmp',
      labels: ['quick'],
      env_keys: ['SECRET_ENV'],
    });
    const r = await api('GET', `/api/tasks/${id.slice(0, 8)}`);
    expect(r.status).toBe(200);
    // The contract is exact: no field the schema does not name.
    const task = ApiTaskSchema.strict().parse(r.json());
    expect(task.command).toBe('printf "a\\nb\\n"; echo oops >&2');
    expect(Object.keys(task).slice(0, 4)).toEqual(['task_id', 'executor', 'executor_type', 'task_type']);
    const tail = await api('GET', `/api/tasks/${id}/logs?tail=1`);
    expect(tail.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(tail.text).toBe('oops\n');
  });

  it('refuses bad input with 400 and one line naming the field, and enqueues nothing', async () => {
    const before = await h.redis().zcard(`${h.prefix}:_index:created`);
    const cases: [unknown, RegExp][] = [
      [{}, /`payload` is required/],
      [{ payload: { type: 'shell_command', command: '' } }, /payload\.command/],
      [{ ...shell('true'), timeout: 5 }, /timeout/],
      [{ ...shell('true'), workdir: 'relative/dir' }, /`workdir`: the API has no current directory/],
      [{ ...shell('true'), executor: 'nope' }, /unknown executor "nope"/],
      [{ ...shell('true'), retries: -1 }, /retries/],
      [{ ...shell('true'), callback_url: 'ftp://x' }, /callback_url/],
      // One casing: the camelCase of earlier versions names the field it does not know.
      [
        { ...shell('true'), callbackUrl: 'http://127.0.0.1:9/hook' },
        /^unknown field `callbackUrl` \(fields are snake_case: `callback_url`\)$/,
      ],
      [
        { payload: { type: 'shell_command', command: 'true', workingDir: '/tmp' }, executor: 'local' },
        /^unknown field `workingDir` in `payload` \(fields are snake_case: `working_dir`\)$/,
      ],
      [{ payload: { type: 'claude_code', prompt: 'x' }, executor: 'local', id: 'not-a-uuid' }, /`id`/],
      [
        { payload: { type: 'shell_command', command: 'true', env: { 'A-B': '1' } }, executor: 'local' },
        /environment variable name "A-B" cannot be set by the task's shell/,
      ],
      // A container takes NAME=value strings: `A=B` would become `A` with `B=value`.
      [
        { payload: { type: 'shell_command', command: 'true', env: { 'A=B': 'x' } }, executor: 'box' },
        /^environment variable name "A=B" cannot be passed to a container/,
      ],
      [
        { payload: { type: 'shell_command', command: 'true', env: { '': 'x' } }, executor: 'box' },
        /^environment variable name "" cannot be passed to a container/,
      ],
      [{ ...shell('true'), on_limit: 'wait' }, /usage-limit waits .* are for Claude tasks/],
      [{ payload: { type: 'claude_code', prompt: 'x' }, executor: 'local', limit_waits: 21 }, /limit_waits/],
      [{ payload: { type: 'claude_code', prompt: 'x' }, executor: 'local', on_limit: 'later' }, /on_limit/],
      // As `start --on-limit fail --limit-waits 2` is refused.
      [
        { payload: { type: 'claude_code', prompt: 'x' }, executor: 'local', on_limit: 'fail', limit_waits: 2 },
        /^`limit_waits` counts waits for a usage limit, and `on_limit` fail never waits: drop one$/,
      ],
      // fetch would refuse every delivery ("bad port") for a day of retries.
      [
        { ...shell('true'), callback_url: 'http://127.0.0.1:1/h' },
        /^`callback_url`: fetch refuses to connect to port 1 \(a "bad port" of the Fetch standard\)/,
      ],
      [
        { ...shell('true'), notify_session: 'agent:main' },
        /^`notify_session` sets the OpenClaw session to wake, but this task has no openclaw notifier — name one with `notify` or in defaults\.notify$/,
      ],
      // Without an executor or labels, where several are configured: named as the body names them.
      [
        { payload: { type: 'shell_command', command: 'true' }, workdir: '/tmp' },
        /^choose an executor with `executor` or `labels` — configured: local, idle, box$/,
      ],
      // What `run` and MCP refuse over their limits, the API refuses too (a 1 MiB + 1 byte command).
      [shell('x'.repeat(1024 * 1024 + 1)), /`payload\.command`: the command is over 1 MiB/],
      // execve takes no word over 128 KiB.
      [
        { payload: { type: 'shell_command', command: 'echo', args: ['x'.repeat(128 * 1024)] }, executor: 'local' },
        /`payload\.args`: an argument is over 128 KiB/,
      ],
      // A session id is never an option of the claude CLI in disguise.
      [
        {
          payload: { type: 'claude_code', prompt: 'x', resume_session_id: '--permission-mode=bypassPermissions' },
          executor: 'local',
        },
        /`payload\.resume_session_id`: a Claude session id is a UUID/,
      ],
    ];
    for (const [body, message] of cases) {
      const r = await api('POST', '/api/tasks', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json().error).toMatch(message);
      expect(r.json().error).not.toContain('\n');
    }
    const broken = await request(`${base}/api/tasks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"payload":',
    });
    expect(broken.status).toBe(400);
    expect(Object.keys(broken.json())).toEqual(['error']);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const wrongType = await request(`${base}/api/tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body: 'a=b',
      });
      expect(wrongType.status).toBe(415);
      expect(wrongType.json().error).toMatch(/application\/json/);
    }
    expect(await h.redis().zcard(`${h.prefix}:_index:created`)).toBe(before);
    expect((await api('GET', '/api/tasks/ffffffff-ffff-4fff-bfff-ffffffffffff')).status).toBe(404);
    expect((await api('GET', '/api/tasks/xyz')).status).toBe(400);
    expect((await api('GET', '/api/nothing-here')).json()).toEqual({ error: 'no such page: GET /api/nothing-here' });
  });

  it('takes an empty JSON body as none where the body is optional, and refuses it where one is needed', async () => {
    const empty = (method: string, path: string) =>
      request(base + path, { method, headers: { ...auth, 'content-type': 'application/json' }, body: '' });
    const id = await create({ executor: 'idle', payload: { type: 'shell_command', command: 'true' } });
    const retried = await empty('POST', `/api/tasks/${id}/retry`);
    expect(retried.status, retried.text).toBe(201);
    const killed = await empty('POST', `/api/tasks/${id}/kill`);
    expect(killed.status, killed.text).toBe(200);
    expect(killed.json()).toMatchObject({ task_id: id, result: 'cancelled' });
    await empty('POST', `/api/tasks/${retried.json().task_id as string}/kill`);
    for (const action of ['pause', 'resume']) {
      const r = await empty('POST', `/api/executors/idle/${action}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json()).toMatchObject({ name: 'idle', paused: action === 'pause' });
    }
    // Past the body: the schedule is looked up, and there is none.
    for (const [method, path] of [
      ['POST', '/api/schedules/no-such/pause'],
      ['POST', '/api/schedules/no-such/resume'],
      ['DELETE', '/api/schedules/no-such'],
    ] as const)
      expect((await empty(method, path)).status, `${method} ${path}`).toBe(404);
    // A body that is there is still read: JSON, and only the fields the route takes.
    const broken = await request(`${base}/api/tasks/${id}/kill`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"grace_ms":',
    });
    expect(broken.status).toBe(400);
    expect((await api('POST', '/api/executors/idle/pause', { wait: true })).json().error).toBe('unknown field `wait`');
    for (const path of ['/api/tasks', '/api/schedules']) {
      const r = await empty('POST', path);
      expect(r.status, path).toBe(400);
      expect(r.json().error, path).toBe("Body cannot be empty when content-type is set to 'application/json'");
    }
  });

  it('answers an ambiguous id prefix with 409 and a reused id with 400', async () => {
    const a = `abcdef01-${randomUUID().slice(9)}`;
    const b = `abcdef02-${randomUUID().slice(9)}`;
    await create({ executor: 'idle', payload: { type: 'shell_command', command: 'true' }, id: a });
    await create({ executor: 'idle', payload: { type: 'shell_command', command: 'true' }, id: b });
    const r = await api('GET', '/api/tasks/abcdef');
    expect(r.status).toBe(409);
    expect(r.json().error).toMatch(/ambiguous/);
    const again = await api('POST', '/api/tasks', {
      executor: 'idle',
      payload: { type: 'shell_command', command: 'true' },
      id: a,
    });
    expect(again.status).toBe(400);
    expect(again.json().error).toMatch(/already exists/);
  });

  it('lists newest first, filtered by status, executor, type and label, searched by words, in cursor pages', async () => {
    const claude = await create({
      executor: 'idle',
      payload: { type: 'claude_code', prompt: 'Refactor the quux parser' },
      labels: ['ai'],
    });
    const build = await create({
      executor: 'idle',
      payload: { type: 'shell_command', command: 'cargo build --workspace' },
      labels: ['rust'],
    });
    const list = async (query: string) =>
      (await api('GET', `/api/tasks?${query}`)).json() as { tasks: ApiTask[]; next_cursor: string | null };
    const ids = (page: { tasks: ApiTask[] }) => page.tasks.map((t) => t.task_id);
    expect(ids(await list('limit=2'))).toEqual([build, claude]);
    expect(ids(await list('type=claude_code'))).toEqual([claude]);
    expect(ids(await list('label=rust'))).toEqual([build]);
    expect(ids(await list('q=quux'))).toEqual([claude]);
    expect(ids(await list('q=CARGO%20work'))).toEqual([build]);
    expect(ids(await list('q=cargo&type=claude_code'))).toEqual([]);
    expect(
      (await list('executor=idle&status=queued')).tasks.every((t) => t.executor === 'idle' && t.status === 'queued'),
    ).toBe(true);
    expect((await list('status=completed')).tasks.every((t) => t.status === 'completed')).toBe(true);
    // Pages of one, following next_cursor, see every task once, newest first.
    const all = ids(await list('limit=1000'));
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      paged.push(...ids(page));
      cursor = page.next_cursor;
    } while (cursor);
    expect(paged).toEqual(all);
    const bad = await api('GET', '/api/tasks?status=sleeping');
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatch(/status/);
    expect((await api('GET', '/api/tasks?limit=0')).status).toBe(400);
  });

  it('kills a running task, cancels a queued one, and says so for an ended one', async () => {
    const running = await create(shell('echo started; sleep 30'));
    await eventually(
      async () => ((await client.get(running)).status === 'running' ? true : undefined),
      'the task to run',
    );
    const kill = await api('POST', `/api/tasks/${running}/kill`, { grace_ms: 500 });
    expect(kill.status).toBe(200);
    expect(kill.json()).toMatchObject({ task_id: running, result: 'stop-requested' });
    const [killed] = await client.wait(running, { timeoutMs: 20_000 });
    expect(killed!.status).toBe('killed');

    const queued = await create({ executor: 'idle', payload: { type: 'shell_command', command: 'true' } });
    expect((await api('POST', `/api/tasks/${queued}/kill`, {})).json()).toMatchObject({
      result: 'cancelled',
      status: 'cancelled',
    });
    expect((await api('POST', `/api/tasks/${queued}/kill`)).json()).toMatchObject({
      result: 'already-ended',
      status: 'cancelled',
    });
    expect((await api('POST', `/api/tasks/${queued}/kill`, { grace: 5 })).status).toBe(400);
  });

  it('retries a task as a new task with the same request', async () => {
    const first = await create(shell('echo again', { name: 'retry me', labels: ['r'] }));
    await client.wait(first, { timeoutMs: 20_000 });
    const r = await api('POST', `/api/tasks/${first}/retry`, {});
    expect(r.status).toBe(201);
    const second = r.json().task_id as string;
    expect(second).not.toBe(first);
    const [done] = await client.wait(second, { timeoutMs: 20_000 });
    expect(done).toMatchObject({
      status: 'completed',
      command: 'echo again',
      name: 'retry me',
      labels: ['r'],
      env_keys: ['SECRET_ENV'],
    });
    expect(await client.logs(second, { tail: 10 })).toBe('again\n');
  });

  it('streams a running task over SSE and resumes after Last-Event-ID with no gap and no duplicate', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join('');
    const id = await create(
      shell('for i in $(seq 1 30); do echo "line $i"; sleep 0.03; done; printf "\\033[31mred\\033[0m\\rdone\\n"'),
    );
    const events: { id: string | undefined; event: string; data: string }[] = [];
    // First connection: read a few events while the task runs, then drop the connection.
    const controller = new AbortController();
    const first = await fetch(`${base}/api/tasks/${id}/logs`, { headers: auth, signal: controller.signal });
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    for await (const event of readServerSentEvents(first.body!)) {
      events.push(event);
      if (events.filter((e) => e.event === 'stdout').length >= 3) break;
    }
    controller.abort();
    const before = (await client.get(id)).status;
    expect(before).toBe('running');
    // Second connection: resume after the last id seen.
    const resumed = await fetch(`${base}/api/tasks/${id}/logs`, {
      headers: { ...auth, 'last-event-id': events.at(-1)!.id! },
    });
    for await (const event of readServerSentEvents(resumed.body!)) events.push(event);

    const ids = events.map((e) => e.id!);
    expect(new Set(ids).size).toBe(ids.length);
    const order = (a: string) => a.split('-').map(Number) as [number, number];
    for (let i = 1; i < ids.length; i++) {
      const [am, as] = order(ids[i - 1]!);
      const [bm, bs] = order(ids[i]!);
      expect(bm > am || (bm === am && bs > as)).toBe(true);
    }
    const output = events
      .filter((e) => e.event === 'stdout')
      .map((e) => JSON.parse(e.data) as string)
      .join('');
    expect(output).toBe(`${lines}\x1b[31mred\x1b[0m\rdone\n`);
    expect(events.at(-1)!.event).toBe('end');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: 'completed', exit_code: 0 });

    // The ended task's log read again from an id in the middle: exactly the rest.
    const middle = events[5]!.id!;
    const rest: string[] = [];
    for await (const event of readServerSentEvents(
      (await fetch(`${base}/api/tasks/${id}/logs?after=${middle}`, { headers: auth })).body!,
    )) {
      if (event.event === 'stdout') rest.push(JSON.parse(event.data) as string);
    }
    expect(rest.join('')).toBe(
      events
        .slice(6)
        .filter((e) => e.event === 'stdout')
        .map((e) => JSON.parse(e.data) as string)
        .join(''),
    );
    expect((await api('GET', `/api/tasks/${id}/logs`, undefined, { ...auth, 'last-event-id': 'bogus' })).status).toBe(
      400,
    );
  });

  it("resumes a Claude task's transcript after an id exactly where it left off", async () => {
    const id = await create({
      executor: 'local',
      payload: { type: 'claude_code', prompt: 'Write the docs turns:4' },
      workdir: '/tmp',
    });
    await client.wait(id, { timeoutMs: 20_000 });
    const read = async (after?: string) => {
      const events: { id: string; text: string }[] = [];
      const response = await fetch(`${base}/api/tasks/${id}/logs?view=transcript${after ? `&after=${after}` : ''}`, {
        headers: auth,
      });
      for await (const event of readServerSentEvents(response.body!)) {
        if (event.event === 'stdout') events.push({ id: event.id!, text: JSON.parse(event.data) as string });
      }
      return events;
    };
    const whole = await read();
    const transcript = whole.map((e) => e.text).join('');
    expect(transcript).toMatch(/^● session .*\n/);
    expect(transcript).toMatch(/→ Bash: cargo build\n/);
    expect(transcript).toMatch(/✓ done in 5 turns/);
    // Resume after each entry that produced text: the rest is exactly what followed it.
    for (const [index, event] of whole.entries()) {
      if (event.text === '' || index === whole.length - 1) continue;
      const rest = await read(event.id);
      expect(rest.map((e) => e.text).join('')).toBe(
        whole
          .slice(index + 1)
          .map((e) => e.text)
          .join(''),
      );
    }
  });

  it('serves /metrics in the Prometheus text format: queue depth, running, ended by status, durations, webhook failures', async () => {
    const failing = await create(shell('exit 4', { callback_url: `${receiver.url}/failing/${HOOK_SECRET}` }));
    await client.wait(failing, { timeoutMs: 20_000 });
    await eventually(
      async () => ((await client.get(failing)).webhooks[0]?.state === 'failed' ? true : undefined),
      'the webhook to give up',
    );
    const r = await api('GET', '/metrics');
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(r.text);
    const value = (name: string, labels: Record<string, string> = {}) =>
      families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(families.get('openclaw_queue_depth')?.type).toBe('gauge');
    expect(value('openclaw_queue_depth', { executor: 'idle' })).toBeGreaterThanOrEqual(2);
    expect(value('openclaw_queue_depth', { executor: 'local' })).toBe(0);
    expect(value('openclaw_tasks_running', { executor: 'local' })).toBe(0);
    expect(value('openclaw_workers', { executor: 'local' })).toBe(1);
    expect(value('openclaw_tasks_ended', { status: 'completed' })).toBeGreaterThanOrEqual(3);
    expect(value('openclaw_tasks_ended', { status: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(value('openclaw_tasks_ended', { status: 'killed' })).toBeGreaterThanOrEqual(1);
    expect(value('openclaw_tasks_ended', { status: 'cancelled' })).toBeGreaterThanOrEqual(1);
    expect(value('openclaw_webhook_delivery_failures')).toBe(1);
    const histogram = families.get('openclaw_task_duration_seconds')!;
    expect(histogram.type).toBe('histogram');
    const buckets = histogram.samples.filter((s) => s.name.endsWith('_bucket'));
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.labels.le).toBe('+Inf');
    const count = histogram.samples.find((s) => s.name.endsWith('_count'))!.value;
    expect(buckets.at(-1)!.value).toBe(count);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(histogram.samples.find((s) => s.name.endsWith('_sum'))!.value).toBeGreaterThan(0);
  });

  it('describes itself in /api/openapi.json, derived from the zod schemas', async () => {
    const doc = (await api('GET', '/api/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/tasks',
        '/api/tasks/{id}',
        '/api/tasks/{id}/logs',
        '/api/tasks/{id}/diff',
        '/api/tasks/{id}/kill',
        '/api/tasks/{id}/retry',
        '/api/executors',
        '/metrics',
        '/healthz',
      ]),
    );
    const create = doc.components.schemas.CreateTask;
    expect(create.required).toEqual(['payload']);
    expect(create.additionalProperties).toBe(false);
    expect(Object.keys(create.properties)).toEqual(
      expect.arrayContaining([
        'executor',
        'payload',
        'labels',
        'name',
        'timeout_ms',
        'retries',
        'backoff_ms',
        'callback_url',
        'workdir',
      ]),
    );
    expect(doc.components.schemas.Task.required).toEqual(expect.arrayContaining(['task_id', 'status', 'env_keys']));
  });

  it('shows executors with env keys only, and Bull Board jobs as summaries: no env value or webhook path leaves the server', async () => {
    const executors = (await api('GET', '/api/executors')).json();
    expect(executors).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'idle', env_keys: ['API_KEY'] })]),
    );
    const id = await create(shell('echo visible', { callback_url: `${receiver.url}/ok/${HOOK_SECRET}` }));
    await client.wait(id, { timeoutMs: 20_000 });
    const queues = (
      await api('GET', '/queues/api/queues?activeQueue=local&status=latest&page=1&jobsPerPage=50')
    ).json();
    const local = queues.queues.find((q: { name: string }) => q.name === 'local');
    const job = local.jobs.find((j: { id: string }) => j.id === id);
    expect(job.name).toBe('⚙️ echo visible');
    expect(job.data).toMatchObject({
      command: 'echo visible',
      status: 'completed',
      exit_code: 0,
      env_keys: ['SECRET_ENV'],
      recent_output: ['visible'],
      task_page: `/tasks/${id}`,
    });
    expect(job.externalUrl).toEqual({ displayText: 'Task page', href: `/tasks/${id}` });
    const page = (await api('GET', `/queues/api/queues/local/${id}`)).json();
    expect(page.job.data.command).toBe('echo visible');
    expect((await api('GET', `/queues/api/queues/local/${id}/logs`)).json()).toEqual(['visible', '[end: completed]']);
    const callbacks = (
      await api('GET', '/queues/api/queues?activeQueue=callbacks&status=latest&page=1&jobsPerPage=50')
    ).json();
    const deliveries = callbacks.queues.find((q: { name: string }) => q.name === 'callbacks').jobs;
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries[0].data.target).toBe(receiver.url);
    // Every answer any test in this file read.
    for (const text of seen) {
      expect(text).not.toContain(TASK_SECRET);
      expect(text).not.toContain(EXECUTOR_SECRET);
      expect(text).not.toContain(HOOK_SECRET);
    }
  });

  it('keeps Bull Board from adding, editing or re-running tasks behind the records', async () => {
    const add = await api('POST', '/queues/api/queues/local/add', { name: 'shell_command', data: { payload: {} } });
    expect(add.status).toBe(403);
    expect(add.json().error).toMatch(/task panel/);
    expect((await api('PATCH', '/queues/api/queues/local/x/update-data', { data: {} })).status).toBe(403);
    expect((await api('PUT', '/queues/api/queues/local/retry/failed')).status).toBe(403);
  });
});

describe('the TypeScript client', () => {
  let h: Harness;
  let dashboard: RunningDashboard;
  let client: ApiClient;

  beforeAll(async () => {
    ({ h, dashboard, client } = await startDashboardWithWorker(TOKEN));
  });
  afterAll(() => stopDashboard({ h, dashboard }));

  it('runs, follows, lists, waits for, kills and retries tasks', async () => {
    const { task_id: id } = await client.run({
      argv: ['sh', '-c', 'echo one; echo two >&2; exit 3'],
      workdir: '/tmp',
      name: 'client run',
    });
    const entries = [];
    for await (const entry of client.logs(id, { follow: true })) entries.push(entry);
    expect(
      entries.filter((e) => e.kind === 'output').map((e) => (e.kind === 'output' ? `${e.stream}:${e.text}` : '')),
    ).toEqual(['stdout:one\n', 'stderr:two\n']);
    expect(entries.at(-1)).toMatchObject({ kind: 'end', end: { status: 'failed', exit_code: 3 } });
    const [task] = await client.wait([id]);
    expect(task).toMatchObject({ task_id: id, status: 'failed', exit_code: 3, name: 'client run' });
    expect((await client.get(id.slice(0, 10))).task_id).toBe(id);
    expect((await client.list({ q: 'client', limit: 5 })).tasks.map((t) => t.task_id)).toContain(id);
    expect(await client.logs(id, { tail: 5 })).toBe('one\ntwo\n');

    const sleeper = await client.run({ cmd: 'sleep 30', workdir: '/tmp' });
    await eventually(
      async () => ((await client.get(sleeper.task_id)).status === 'running' ? true : undefined),
      'running',
    );
    expect((await client.kill(sleeper.task_id, { graceMs: 200 })).result).toBe('stop-requested');
    expect((await client.wait(sleeper.task_id, { timeoutMs: 20_000 }))[0]!.status).toBe('killed');
    const again = await client.retry(id);
    expect((await client.wait(again.task_id))[0]).toMatchObject({ status: 'failed', exit_code: 3 });
  });

  it('starts a Claude task and reads its transcript', async () => {
    const { task_id: id } = await client.start({ prompt: 'Say hello turns:2', workspace: '/tmp' });
    let transcript = '';
    for await (const entry of client.logs(id, { follow: true, transcript: true }))
      if (entry.kind === 'output') transcript += entry.text;
    expect(transcript).toMatch(/✓ done in 3 turns/);
    const [task] = await client.wait(id);
    expect(task!.claude?.num_turns).toBe(3);
  });

  it('continues an ended Claude task with `continue` (its session, workspace and executor), and refuses one still running', async () => {
    const { task_id: first } = await client.start({ prompt: 'Fix the parser turns:2 slow:20000', workspace: '/tmp' });
    const session = await eventually(async () => {
      const task = await client.get(first);
      return task.status === 'running' ? task.claude?.session_id : undefined;
    }, 'the first task to run with a session');
    const listed = async () => (await client.list({ limit: 1000 })).tasks.length;
    const before = await listed();
    await expect(client.start({ prompt: 'and the docs', continue: first.slice(0, 8) })).rejects.toMatchObject({
      status: 400,
      message: `task ${first} has not ended (running): wait for it (openclaw-agent wait ${first}), then continue it`,
    });
    expect(await listed()).toBe(before);

    await client.kill(first, { graceMs: 200 });
    expect((await client.wait(first, { timeoutMs: 20_000 }))[0]!.status).toBe('killed');
    const { task_id: second } = await client.start({ prompt: 'And the docs turns:1', continue: first.slice(0, 8) });
    let transcript = '';
    for await (const entry of client.logs(second, { follow: true, transcript: true }))
      if (entry.kind === 'output') transcript += entry.text;
    expect(transcript).toContain(`resuming ${session}`);
    const [continued] = await client.wait(second);
    expect(continued).toMatchObject({ status: 'completed', executor: 'local', workdir: '/tmp', continues: first });
    expect(continued!.claude?.session_id).toBe(session);

    // `continue` names where the session comes from: not with a command, nor with a session of its own.
    const refused: [unknown, RegExp][] = [
      [
        { payload: { type: 'shell_command', command: 'true' }, workdir: '/tmp', continue: first },
        /`continue`: resumes a Claude session/,
      ],
      [
        { payload: { type: 'claude_code', prompt: 'x', resume_session_id: session }, continue: first },
        /`payload\.resume_session_id`: comes from the task `continue` names/,
      ],
      [
        { payload: { type: 'claude_code', prompt: 'x' }, continue: 'ffffffff-ffff-4fff-bfff-ffffffffffff' },
        /`continue`: no task matches/,
      ],
    ];
    for (const [body, line] of refused)
      await expect(client.create(body as ApiCreateTaskBody)).rejects.toMatchObject({
        status: 400,
        message: expect.stringMatching(line),
      });
    expect(await listed()).toBe(before + 1);
  });

  it('throws ApiError with the status and the server line', async () => {
    await expect(client.get('ffffffff-ffff-4fff-bfff-ffffffffffff')).rejects.toMatchObject({
      status: 404,
      code: 'TASK_NOT_FOUND',
    });
    await expect(createClient({ url: dashboard.url, token: 'wrong-token-wrong-token' }).list()).rejects.toMatchObject({
      status: 401,
      message: expect.stringMatching(/invalid token/),
    });
    await expect(client.wait('ffffffff-ffff-4fff-bfff-ffffffffffff')).rejects.toMatchObject({ status: 404 });
    await expect(client.run({ cmd: 'x', workdir: 'rel' })).rejects.toMatchObject({ status: 400 });
  });
});
