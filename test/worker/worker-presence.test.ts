import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskKeys } from '../../src/tasks/keys.js';
import { startWorkerPresence } from '../../src/worker/worker-presence.js';
import { createHarness, deleteKeys, eventually, FAKE_CLAUDE, stopProcess, type Harness } from '../helpers/harness.js';

// Workers announce themselves (issue 22): `executors` lists them per executor, a killed one goes
// within the presence TTL, a stopped one at once; a dispatch nobody serves is warned about, and
// `status` says why a queued task waits. Real Redis, the built CLI, real worker processes.

interface WorkerJson {
  id: string;
  host: string;
  pid: number;
  version: string;
  started_at: string;
  concurrency: number;
  running: number;
  last_seen_at: string;
}
interface ExecutorJson {
  name: string;
  paused: boolean | null;
  workers: WorkerJson[] | null;
  served: boolean | null;
  last_served_at: string | null;
}
interface TaskJson {
  task_id: string;
  status: string;
  queue_position: number | null;
  waiting_for: string | null;
  waiting_reason: string | null;
  warning?: string;
}

// The harness names its Redis in REDIS_URL: a plain `up` would start another, so `up` is given that URL.
const HINT = `start one with \`openclaw-agent worker --executor crib\` (or \`openclaw-agent up --redis-url ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}\`)`;

describe('worker presence: who serves each executor, and what a queued task waits for', () => {
  let h: Harness;
  let gate: string;

  beforeAll(() => {
    h = createHarness({
      // Short, so that a killed worker is gone within the test's patience.
      workerConfig: '  presence_ttl: 1500ms',
      // crib's Claude task runs the fake claude once a worker comes.
      extraExecutors: [
        '  - name: crib',
        '    type: local',
        `    claude_path: ${FAKE_CLAUDE}`,
        '  - name: solo',
        '    type: local',
        '',
      ].join('\n'),
    });
    gate = path.join(h.dir, 'gate');
  });
  afterAll(async () => {
    writeFileSync(gate, '');
    await h.cleanup();
  });

  const executors = async () => {
    const r = await h.cli(['executors', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return new Map((JSON.parse(r.stdout) as ExecutorJson[]).map((e) => [e.name, e]));
  };
  const status = async (id: string) => {
    const r = await h.cli(['status', id, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as TaskJson;
  };
  // The same, read in this process: for polls, where a CLI process per look costs ~0.4 s of CPU.
  const polled = async (id: string) => (await h.taskJson(id)) as unknown as TaskJson;
  // A task that runs until the gate file exists.
  const gated = () => ['--', 'sh', '-c', `while [ ! -e '${gate}' ]; do sleep 0.1; done`];

  it('run and start to an executor no worker ever served: enqueued, exit 0, one warning line; --json carries it instead', async () => {
    const r = await h.cli(['run', '-e', 'crib', '--', 'echo', 'hi']);
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(r.stderr).toBe(
      `openclaw-agent: warning: no worker has ever served executor "crib": the task waits until one does — ${HINT}\n`,
    );
    const queued = await status(id);
    expect(queued).toMatchObject({ status: 'queued', queue_position: 1, waiting_reason: 'no_worker' });
    expect(queued.waiting_for).toBe(`a worker: no worker has ever served executor "crib"; ${HINT}`);
    const text = await h.cli(['status', id]);
    expect(text.stdout).toContain(
      `Status:   queued (position 1 in queue) — waiting for a worker: no worker has ever served executor "crib"`,
    );

    const json = await h.cli(['run', '-e', 'crib', '--json', '--', 'echo', 'hi']);
    expect(json.exitCode).toBe(0);
    expect(json.stderr).toBe('');
    const task = JSON.parse(json.stdout) as TaskJson;
    expect(task).toMatchObject({ status: 'queued', queue_position: 2, waiting_reason: 'no_worker' });
    expect(task.warning).toBe(`no worker has ever served executor "crib": the task waits until one does — ${HINT}`);

    // `wait` on it says, once, that it waits for a worker (then waits as asked).
    const wait = await h.cli(['wait', id, '--timeout', '1s']);
    expect(wait.exitCode).toBe(124);
    expect(wait.stderr).toContain(
      `openclaw-agent: waiting for a worker: no worker has ever served executor "crib"; ${HINT}\n`,
    );

    const start = await h.cli(['start', '-e', 'crib', '-p', 'Fix the build', '-w', h.dir]);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stderr).toBe(
      `openclaw-agent: warning: no worker has ever served executor "crib": the task waits until one does — ${HINT}\n`,
    );

    const listed = await executors();
    expect(listed.get('crib')).toMatchObject({ workers: [], served: false, last_served_at: null });
    const table = (await h.cli(['executors'])).stdout;
    expect(table.split('\n').find((line) => line.startsWith('crib '))).toContain('no worker — never served');
  });

  let locals: ChildProcess[] = [];
  let crib: ChildProcess | undefined;

  it('lists each live worker with host, pid, slots and running count; a dispatch to a served executor is not warned', async () => {
    locals = [
      await h.startWorker('local', {}, ['--concurrency', '2']),
      await h.startWorker('local', {}, ['--concurrency', '1']),
    ];
    crib = await h.startWorker('crib');
    const listed = await executors();
    const local = listed.get('local')!;
    expect(local.served).toBe(true);
    expect(local.workers!.map((w) => w.pid).sort()).toEqual(locals.map((c) => c.pid).sort());
    expect(local.workers!.map((w) => w.concurrency).sort()).toEqual([1, 2]);
    for (const w of local.workers!) {
      expect(w.host).toBe(process.env.OPENCLAW_AGENT_HOST_ID ?? hostname());
      expect(w.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Date.parse(w.last_seen_at)).toBeGreaterThanOrEqual(Date.parse(w.started_at));
    }
    expect(listed.get('crib')!.workers!.map((w) => w.pid)).toEqual([crib.pid]);
    expect(listed.get('solo')).toMatchObject({ workers: [], served: false });

    const run = await h.cli(['run', '-e', 'local', ...gated()]);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    await eventually(async () => ((await polled(id)).status === 'running' ? true : undefined), 'the task to run');
    const running = await eventually(async () => {
      const workers = (await executors()).get('local')!.workers!;
      const sum = workers.reduce((n, w) => n + w.running, 0);
      return sum === 1 ? workers : undefined;
    }, 'a beat to count the running task');
    expect(running.filter((w) => w.running === 1)).toHaveLength(1);
    const table = (await h.cli(['executors'])).stdout.split('\n');
    expect(table.find((line) => line.startsWith('local '))).toMatch(/ 2 on \S+ {2}1\/3 running$/);
    expect(table.find((line) => line.startsWith('crib '))).toMatch(/ 1 on \S+ {2}0\/8 running$/);
  });

  it('a SIGKILLed worker is gone within the presence TTL; a stopped one at once, leaving its last-served time', async () => {
    const [killed, kept] = locals as [ChildProcess, ChildProcess];
    await stopProcess(killed, 'SIGKILL');
    const left = await eventually(async () => {
      const workers = (await executors()).get('local')!.workers!;
      return workers.length === 1 ? workers : undefined;
    }, 'the killed worker to drop out');
    expect(left[0]!.pid).toBe(kept.pid);

    await stopProcess(crib!, 'SIGTERM');
    expect(crib!.exitCode).toBe(0);
    const after = (await executors()).get('crib')!;
    expect(after).toMatchObject({ workers: [], served: false });
    expect(after.last_served_at).not.toBeNull();
    const table = (await h.cli(['executors'])).stdout.split('\n');
    expect(table.find((line) => line.startsWith('crib '))).toMatch(/no worker — last seen \S+ ago/);

    const r = await h.cli(['run', '-e', 'crib', '--', 'echo', 'again']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(
      /^openclaw-agent: warning: no worker has served executor "crib" for \S+: the task waits until one does — /,
    );
    expect(await status(r.stdout.trim())).toMatchObject({ waiting_reason: 'no_worker' });
  });

  it('status says why a queued task waits: tasks ahead of it, a paused executor, a dependency', async () => {
    const solo = await h.startWorker('solo', {}, ['--concurrency', '1']);
    const first = (await h.cli(['run', '-e', 'solo', ...gated()])).stdout.trim();
    await eventually(async () => ((await polled(first)).status === 'running' ? true : undefined), 'the first to run');
    const second = (await h.cli(['run', '-e', 'solo', '--', 'echo', '2'])).stdout.trim();
    const third = (await h.cli(['run', '-e', 'solo', '--', 'echo', '3'])).stdout.trim();
    expect(await status(third)).toMatchObject({
      status: 'queued',
      queue_position: 2,
      waiting_reason: 'queue',
      waiting_for: null,
    });
    expect((await h.cli(['status', third])).stdout).toContain('Status:   queued (position 2 in queue) — 1 ahead of it');

    const blocked = (await h.cli(['run', '-e', 'solo', '--after', second, '--', 'echo', 'after'])).stdout.trim();
    expect(await status(blocked)).toMatchObject({
      status: 'blocked',
      waiting_reason: 'dependency',
      waiting_for: `task ${second.slice(0, 8)} to complete`,
    });

    expect((await h.cli(['pause', '-e', 'solo'])).exitCode).toBe(0);
    try {
      expect(await status(third)).toMatchObject({
        status: 'queued',
        waiting_reason: 'paused',
        waiting_for: 'executor "solo" to be resumed (paused)',
      });
    } finally {
      expect((await h.cli(['resume', '-e', 'solo'])).exitCode).toBe(0);
    }
    writeFileSync(gate, '');
    for (const id of [first, second, third, blocked])
      await eventually(
        async () => ((await polled(id)).status === 'completed' ? true : undefined),
        `task ${id} to complete`,
      );
    await stopProcess(solo);
  });
});

describe('a worker leaving', () => {
  it('drops its own entry and those of workers killed without a word, and keeps "serving" while one lives', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    try {
      const options = { executor: 'crib', hostId: 'vm', concurrency: 1, running: () => 0, ttlMs: 60_000 };
      // A worker SIGKILLed long ago: in the set, its presence key lapsed.
      await redis.sadd(keys.executorWorkers('crib'), 'killed0000');
      const first = startWorkerPresence(redis, keys, options);
      const second = startWorkerPresence(redis, keys, options);
      await Promise.all([first.announced, second.announced]);
      expect((await redis.smembers(keys.executorWorkers('crib'))).sort()).toEqual(
        ['killed0000', first.id, second.id].sort(),
      );
      await first.stop();
      expect(await redis.smembers(keys.executorWorkers('crib'))).toEqual([second.id]);
      expect(await redis.exists(keys.executorServing('crib'))).toBe(1);
      await second.stop();
      expect(await redis.smembers(keys.executorWorkers('crib'))).toEqual([]);
      expect(await redis.exists(keys.executorServing('crib'))).toBe(0);
      expect(Number(await redis.get(keys.executorServed('crib')))).toBeGreaterThan(0);
    } finally {
      await deleteKeys(redis, `${keys.prefix}:*`);
      redis.disconnect();
    }
  });
});
