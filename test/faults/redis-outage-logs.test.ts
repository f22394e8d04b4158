import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShellPayload, loadConfig, TaskClient } from '../../src/index.js';
import { BIN, createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OUTAGE_MS = 60_000;

// A second local executor, for the worker that logs JSON.
const EXECUTORS = `  - name: jsonlocal
    type: local
`;

/** A real CLI process whose stderr is kept, line by line. */
interface Speaker {
  name: string;
  child: ChildProcess;
  lines(): string[];
}

function spawnCli(
  h: Harness,
  name: string,
  args: string[],
  children: ChildProcess[],
  env: NodeJS.ProcessEnv = {},
): Speaker {
  const child = spawn('node', [BIN, ...args], {
    env: { ...h.env, ...env },
    cwd: h.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    name,
    child,
    // Whole lines only: a line still being written waits for its newline.
    lines: () => stderr.split('\n').slice(0, -1),
  };
}

async function waitFor(speaker: Speaker, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return eventually(async () => {
    if (speaker.child.exitCode !== null) throw new Error(`${speaker.name} exited: ${speaker.lines().join('\n')}`);
    for (const line of speaker.lines()) {
      const match = pattern.exec(line);
      if (match) return match;
    }
    return undefined;
  }, `${speaker.name}: ${what}`);
}

async function healthz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a Redis outage under the real worker and dashboard processes', () => {
  let server: RedisServer;
  let h: Harness;
  const children: ChildProcess[] = [];
  const clients: TaskClient[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    // The harness and the processes it starts read REDIS_URL: point them at the private server.
    process.env.REDIS_URL = server.url;
    h = createHarness({ extraExecutors: EXECUTORS });
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    await Promise.all(children.map((child) => stopProcess(child)));
    if (!server.running) await server.start();
    await h.cleanup();
    await server.destroy();
    delete process.env.REDIS_URL;
  });

  it('worker refuses a --log-format other than text or json in one line, exit 2', async () => {
    const r = await h.cli(['worker', '--executor', 'local', '--log-format', 'yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'openclaw-agent: Expected --log-format=yaml to be one of: text, json (see `openclaw-agent worker --help`)\n',
    );
  });

  it("takes the config's log_format, and --log-format wins over it", async () => {
    const configPath = path.join(h.dir, 'json-logs.yaml');
    writeFileSync(configPath, `${readFileSync(h.configPath, 'utf8')}\nlog_format: json\n`);
    const env = { OPENCLAW_AGENT_CONFIG: configPath };
    const json = spawnCli(h, 'config json worker', ['worker', '--executor', 'local'], children, env);
    const text = spawnCli(h, 'flag text worker', ['worker', '-e', 'local', '--log-format', 'text'], children, env);
    await waitFor(json, /ready \(/, 'ready');
    await waitFor(text, /ready \(/, 'ready');
    // Given time to stop by itself on a loaded machine: a SIGKILL would cut its last line off.
    await Promise.all([stopProcess(json.child, 'SIGTERM', 30_000), stopProcess(text.child, 'SIGTERM', 30_000)]);
    expect([json.child.exitCode, text.child.exitCode]).toEqual([0, 0]);
    expect(json.lines().map((line) => (JSON.parse(line) as { event?: unknown }).event)).toEqual(['ready', 'stopping']);
    expect(text.lines()).toEqual([
      expect.stringMatching(/^\[openclaw-agent worker local\] ready \(concurrency 8, pid \d+, host .+\)$/),
      '[openclaw-agent worker local] SIGTERM: stopping; running tasks keep running and will be re-attached',
    ]);
  });

  it('60 s without Redis: worker, dashboard and up say one line when it goes, a reminder or two, one when it is back; then work goes on', async () => {
    const speakers = {
      worker: spawnCli(h, 'text worker', ['worker', '--executor', 'local'], children),
      jsonWorker: spawnCli(h, 'json worker', ['worker', '--executor', 'jsonlocal', '--log-format', 'json'], children),
      dashboard: spawnCli(h, 'text dashboard', ['dashboard', '--port', '0'], children),
      jsonDashboard: spawnCli(h, 'json dashboard', ['dashboard', '--port', '0', '--log-format', 'json'], children),
    };
    // `up` on the same Redis runs workers for both executors and a dashboard in one process.
    const up = spawnCli(
      h,
      'json up',
      ['up', '--redis-url', server.url, '--dashboard-port', '0', '--log-format', 'json'],
      children,
    );
    await waitFor(up, /ready: using the Redis/, 'ready');
    await waitFor(speakers.worker, /ready \(/, 'ready');
    await waitFor(speakers.jsonWorker, /ready \(/, 'ready');
    const urls = [
      (await waitFor(speakers.dashboard, /dashboard on (http:\/\/127\.0\.0\.1:\d+)/, 'listening'))[1]!,
      (await waitFor(speakers.jsonDashboard, /dashboard on (http:\/\/127\.0\.0\.1:\d+)/, 'listening'))[1]!,
    ];
    for (const url of urls) expect(await healthz(url)).toEqual({ status: 200, body: { ok: true, redis: 'up' } });
    const before = new Map([...Object.values(speakers), up].map((s) => [s, s.lines().length]));

    await server.stop('SIGKILL');
    const stoppedAt = Date.now();
    for (const url of urls) {
      // Answered at once from the connection's state, not held on its offline queue.
      const down = await eventually(async () => {
        const answer = await healthz(url);
        return answer.status === 503 ? answer : undefined;
      }, '/healthz to say Redis is down');
      expect(down.body).toMatchObject({ ok: false, redis: 'down' });
      expect(Date.parse(String(down.body.since))).toBeGreaterThanOrEqual(stoppedAt - 5000);
    }
    // Each speaker counts from its own sight of the close, which a loaded machine may give it
    // a second or two after this process's: the margin keeps every count past a minute.
    await sleep(Math.max(0, OUTAGE_MS + 3000 - (Date.now() - stoppedAt)));
    await server.start();

    for (const url of urls) {
      await eventually(
        async () => ((await healthz(url)).status === 200 ? true : undefined),
        '/healthz to say Redis is up',
      );
      expect(await healthz(url)).toEqual({ status: 200, body: { ok: true, redis: 'up' } });
    }
    for (const speaker of Object.values(speakers)) await waitFor(speaker, /is back after/, 'the back line');
    await eventually(
      async () => (up.lines().filter((line) => line.includes('"redis_back"')).length === 2 ? true : undefined),
      'json up: the back lines of its workers and its dashboard',
    );

    // Both workers take tasks again, and both dashboards show them.
    const client = await TaskClient.connect(loadConfig(h.configPath));
    clients.push(client);
    const ids = await Promise.all(
      ['local', 'jsonlocal'].map(
        async (executor) =>
          (
            await client.enqueue({
              executor,
              payload: buildShellPayload({ cmd: `echo after the outage on ${executor}`, workdir: h.dir }),
            })
          ).id,
      ),
    );
    await eventually(async () => {
      const views = await client.views(ids);
      return views.every((v) => v.status === 'completed') ? true : undefined;
    }, 'the tasks dispatched after the outage to complete');
    for (const url of urls) {
      const response = await fetch(`${url}/api/tasks`);
      expect(response.status).toBe(200);
      const listed = ((await response.json()) as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id);
      expect(listed).toEqual(expect.arrayContaining(ids));
    }

    for (const speaker of Object.values(speakers)) {
      const during = speaker.lines().slice(before.get(speaker));
      const said = `${speaker.name} said:\n${during.join('\n')}`;
      expect(during.length, said).toBeLessThanOrEqual(5);
      expect(
        during.filter((line) => /Redis at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/.test(line)),
        said,
      ).toHaveLength(1);
      expect(
        during.filter((line) => /Redis at 127\.0\.0\.1:\d+ is back after 1m\d\ds/.test(line)),
        said,
      ).toHaveLength(1);
      // What is left are reminders.
      expect(
        during.filter((line) => !/is unreachable|is back after|is still unreachable after/.test(line)),
        said,
      ).toEqual([]);
    }

    // `up`: its workers share one reporter and its dashboard has its own, each says its own lines.
    const upDuring = up
      .lines()
      .slice(before.get(up))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(upDuring.length, up.lines().join('\n')).toBeLessThanOrEqual(10);
    for (const component of ['worker', 'dashboard']) {
      const events = upDuring.filter((o) => o.component === component).map((o) => o.event);
      expect(
        events.filter((e) => e === 'redis_down'),
        component,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e === 'redis_back'),
        component,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e !== 'redis_down' && e !== 'redis_back' && e !== 'redis_still_down'),
        up.lines().join('\n'),
      ).toEqual([]);
    }

    await Promise.all([...Object.values(speakers), up].map((s) => stopProcess(s.child)));
    for (const object of up.lines().map((line) => JSON.parse(line) as Record<string, unknown>)) {
      expect(object).toMatchObject({
        level: expect.stringMatching(/^(info|warn|error)$/),
        component: expect.stringMatching(/^(up|worker|dashboard)$/),
        msg: expect.any(String),
      });
    }
    for (const speaker of Object.values(speakers)) {
      const all = speaker.lines();
      expect(
        all.filter((line) => /^\s+at |Error: connect|TCPConnectWrap/.test(line)),
        speaker.name,
      ).toEqual([]);
    }
    for (const speaker of [speakers.worker, speakers.dashboard]) {
      const component = speaker === speakers.worker ? '[openclaw-agent worker local] ' : '[openclaw-agent dashboard] ';
      expect(speaker.lines().filter((line) => !line.startsWith(component))).toEqual([]);
    }
    // A JSON log goes to log shippers: the one-time login link stays out of it (stderr is no terminal here).
    expect(speakers.jsonDashboard.lines().filter((line) => line.includes('login?code='))).toEqual([]);
    expect(speakers.jsonDashboard.lines().filter((line) => line.includes('"login_link_withheld"'))).toHaveLength(1);
    expect(
      speakers.dashboard.lines().filter((line) => /open once: http:\/\/127\.0\.0\.1:\d+\/login\?code=/.test(line)),
    ).toHaveLength(1);
    for (const [speaker, component] of [
      [speakers.jsonWorker, 'worker'],
      [speakers.jsonDashboard, 'dashboard'],
    ] as const) {
      const objects = speaker.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(objects.length).toBeGreaterThanOrEqual(4);
      for (const object of objects) {
        expect(object).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), component });
        expect(new Date(String(object.time)).toISOString()).toBe(object.time);
        expect(typeof object.msg).toBe('string');
        if (component === 'worker') expect(object.executor).toBe('jsonlocal');
      }
      const down = objects.filter((o) => o.event === 'redis_down');
      const back = objects.filter((o) => o.event === 'redis_back');
      expect(down).toEqual([
        expect.objectContaining({ level: 'error', redis: `127.0.0.1:${server.port}`, code: 'ECONNREFUSED' }),
      ]);
      expect(Date.parse(String(down[0]!.since))).toBeGreaterThanOrEqual(stoppedAt - 5000);
      expect(back).toEqual([expect.objectContaining({ level: 'info', redis: `127.0.0.1:${server.port}` })]);
      expect(back[0]!.down_for_ms).toBeGreaterThanOrEqual(OUTAGE_MS - 5000);
    }
  }, 180_000);
});
