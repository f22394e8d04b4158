import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildShellPayload, isEndedStatus, loadConfig, TaskClient } from '../../src/index.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Tasks queued on `parked` wait there (no worker) until a test starts one; `busy` runs ten at once.
const EXECUTORS = `  - name: parked
    type: local
    concurrency: 16
  - name: busy
    type: local
    concurrency: 10
  - name: pair
    type: local
    concurrency: 2
`;

describe('Redis faults: a crashed or absent Redis loses no task and runs none twice', () => {
  let server: RedisServer;
  let h: Harness;
  let markers: string;
  let gate: string;
  const clients: TaskClient[] = [];

  beforeEach(async () => {
    server = await startRedisServer();
    // The harness, its CLI runs and workers all read REDIS_URL: point them at the private server.
    process.env.REDIS_URL = server.url;
    h = createHarness({ extraExecutors: EXECUTORS });
    markers = path.join(h.dir, 'markers');
    mkdirSync(markers);
    gate = path.join(h.dir, 'gate');
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    if (!server.running) await server.start();
    await h.cleanup();
    await server.destroy();
    delete process.env.REDIS_URL;
  });

  // A fresh client: one made before a crash lost its connection for good (CLI clients fail fast).
  async function connectClient(): Promise<TaskClient> {
    const client = await TaskClient.connect(loadConfig(h.configPath));
    clients.push(client);
    return client;
  }

  // Each run of task `n` appends one line to its marker file: the line count is the run count.
  function markerCommand(n: number, tail: string): string {
    return `echo run >> ${path.join(markers, String(n))}; ${tail}`;
  }

  function runs(n: number): number {
    try {
      return readFileSync(path.join(markers, String(n)), 'utf8')
        .split('\n')
        .filter(Boolean).length;
    } catch {
      return 0;
    }
  }

  // A task's command waits here until the test opens the gate: the task runs through every step before.
  function untilGate(): string {
    return `while [ ! -e ${gate} ]; do sleep 0.1; done`;
  }

  function openGate(): void {
    writeFileSync(gate, '');
  }

  async function enqueue(client: TaskClient, executor: string, n: number, tail: string): Promise<string> {
    const { id } = await client.enqueue({
      executor,
      payload: buildShellPayload({ cmd: markerCommand(n, tail), workdir: h.dir }),
    });
    return id;
  }

  // Waits until every task's process has started (an active job shows as running a moment before).
  async function startedPids(client: TaskClient, ids: string[]): Promise<number[]> {
    return eventually(async () => {
      const pids = (await client.views(ids)).flatMap((v) => (v.record.pid === undefined ? [] : [v.record.pid]));
      return pids.length === ids.length ? pids : undefined;
    }, 'the tasks to start');
  }

  async function statuses(client: TaskClient, ids: string[]): Promise<string[]> {
    return (await client.views(ids)).map((v) => v.status);
  }

  // Jobs in a queue's active list whose record says the task ended.
  async function activeButEnded(client: TaskClient, executor: string): Promise<string[]> {
    const active = await client.redis.lrange(`${h.prefix}:${executor}:active`, 0, -1);
    if (active.length === 0) return [];
    const views = await client.views(active);
    return views.filter((v) => v.record.outcome !== undefined || isEndedStatus(v.status)).map((v) => v.record.id);
  }

  // The record ends a task just before its job is finished, so allow that moment, no more.
  async function expectNoneActiveAndEnded(client: TaskClient, executor: string): Promise<void> {
    let left: string[] = [];
    try {
      await eventually(
        async () => ((left = await activeButEnded(client, executor)).length === 0 ? true : undefined),
        'ended tasks to leave the active list',
        10_000,
      );
    } catch {
      expect(left, `jobs of ended tasks still active on ${executor}`).toEqual([]);
    }
  }

  // The BullMQ job ends as the record says: a completed task's job is completed, not failed.
  async function expectJobsCompleted(client: TaskClient, executor: string, ids: string[]): Promise<void> {
    const queue = client.queue(executor);
    let states: string[] = [];
    try {
      await eventually(
        async () => {
          states = await Promise.all(ids.map((id) => queue.getJobState(id)));
          return states.every((s) => s === 'completed') ? true : undefined;
        },
        'the jobs to be completed',
        10_000,
      );
    } catch {
      const failed = await Promise.all(ids.map(async (id) => (await queue.getJob(id))?.failedReason));
      expect({ states, failed }).toEqual({ states: ids.map(() => 'completed'), failed: ids.map(() => undefined) });
    }
  }

  // Waits until each stalled job has been taken again (its second start): a worker re-attaches to its run.
  async function retaken(client: TaskClient, executor: string, ids: string[]): Promise<void> {
    const queue = client.queue(executor);
    await eventually(async () => {
      const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
      return jobs.every((job) => (job?.attemptsStarted ?? 0) >= 2) ? true : undefined;
    }, 'the stalled jobs to be taken again');
  }

  function pidAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  // 1,010 tasks through a killed and restarted Redis: ~20 s on a 2-vCPU VM by itself.
  it('kill -9 under AOF everysec: queued tasks survive, running tasks finish and are recorded once, none runs twice', async () => {
    const QUEUED = 1000;
    const RUNNING = 10;
    const worker = await h.startWorker('busy');
    let client = await connectClient();
    const queued: string[] = [];
    for (let n = 0; n < QUEUED; n++) queued.push(await enqueue(client, 'parked', n, 'echo done'));
    const running: string[] = [];
    for (let n = QUEUED; n < QUEUED + RUNNING; n++)
      running.push(await enqueue(client, 'busy', n, `${untilGate()}; echo done`));
    const pids = await startedPids(client, running);
    // Everything above was written more than a second before the crash: AOF everysec has it on disk.
    await sleep(1200);
    await server.stop('SIGKILL');
    expect(pids.every(pidAlive)).toBe(true);
    await server.start();
    // The running tasks end only now, with Redis back.
    openGate();

    client = await connectClient();
    const redis = client.redis;
    for (const id of queued) {
      expect(await redis.exists(`${h.prefix}:_task:${id}`), `record of ${id}`).toBe(1);
      expect(await redis.exists(`${h.prefix}:parked:${id}`), `job of ${id}`).toBe(1);
    }
    // Every task has a BullMQ priority (the lowest when none is given): queued ones wait in `prioritized`.
    expect((await redis.llen(`${h.prefix}:parked:wait`)) + (await redis.zcard(`${h.prefix}:parked:prioritized`))).toBe(
      QUEUED,
    );
    await eventually(
      async () => ((await statuses(client, running)).every((s) => s === 'completed') ? true : undefined),
      'the running tasks to complete',
    );
    for (const id of running) expect((await h.logText(id)).ends, `end markers of ${id}`).toBe(1);
    await expectJobsCompleted(client, 'busy', running);

    // The queued tasks run too, each exactly once.
    await h.startWorker('parked');
    await eventually(
      async () => ((await statuses(client, queued)).every((s) => s === 'completed') ? true : undefined),
      'the queued tasks to complete',
      60_000,
    );
    for (let n = 0; n < QUEUED + RUNNING; n++) expect(runs(n), `runs of task ${n}`).toBe(1);
    await expectNoneActiveAndEnded(client, 'busy');
    await expectNoneActiveAndEnded(client, 'parked');
    expect(worker.exitCode).toBeNull();
  }, 180_000);

  it('an idle worker resumes consuming after Redis was down for 20 s', async () => {
    const worker = await h.startWorker('local');
    let client = await connectClient();
    const before = await enqueue(client, 'local', 0, 'echo done');
    await eventually(
      async () => ((await statuses(client, [before]))[0] === 'completed' ? true : undefined),
      'a task before the outage',
    );
    await client.close();
    clients.length = 0;

    await server.stop('SIGKILL');
    await sleep(20_000);
    await server.start();
    expect(worker.exitCode).toBeNull();

    client = await connectClient();
    const after = await enqueue(client, 'local', 1, 'echo done');
    // The contract under test: picked up within 5 s of being queued once Redis is back.
    await eventually(
      async () => ((await statuses(client, [after]))[0] !== 'queued' ? true : undefined),
      'the task after the outage to be picked up',
      5_000,
    );
    await eventually(
      async () => ((await statuses(client, [after]))[0] === 'completed' ? true : undefined),
      'the task after the outage to complete',
    );
    expect(runs(1)).toBe(1);
  });

  it('Redis down longer than the lock duration: tasks keep running, are re-attached and recorded, never run twice', async () => {
    const worker: ChildProcess = await h.startWorker('local');
    let client = await connectClient();
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await enqueue(client, 'local', n, `${untilGate()}; echo done`));
    const pids = await startedPids(client, ids);
    await sleep(1200);
    await server.stop('SIGKILL');
    // Three lock durations (2 s) and many stalled intervals (1 s) pass without Redis.
    await sleep(6000);
    expect(pids.every(pidAlive)).toBe(true);
    await server.start();

    client = await connectClient();
    // The tasks end only once the worker has taken their stalled jobs again, so it re-attaches to running tasks.
    await retaken(client, 'local', ids);
    openGate();
    await eventually(
      async () => ((await statuses(client, ids)).every((s) => s === 'completed') ? true : undefined),
      'the tasks to be recorded completed',
    );
    for (let n = 0; n < 3; n++) expect(runs(n), `runs of task ${n}`).toBe(1);
    for (const id of ids) {
      const { stdout, ends } = await h.logText(id);
      expect(ends, `end markers of ${id}`).toBe(1);
      expect(stdout).toBe('done\n');
    }
    await expectJobsCompleted(client, 'local', ids);
    await expectNoneActiveAndEnded(client, 'local');
    expect(worker.exitCode).toBeNull();
  });

  it('a task handed to another worker after a long outage ends once, its output whole and its job completed, not failed', async () => {
    // The first worker's two slots stay taken by the runs it still follows, so the stalled jobs go to the second.
    const first = await h.startWorker('pair');
    let client = await connectClient();
    const ids: string[] = [];
    for (let n = 0; n < 2; n++)
      ids.push(
        await enqueue(
          client,
          'pair',
          n,
          `for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.5; done; ${untilGate()}; ` +
            'for i in 11 12 13 14 15 16 17 18 19 20; do echo $i; sleep 0.5; done',
        ),
      );
    const pids = await startedPids(client, ids);
    const second = await h.startWorker('pair');
    await sleep(1200);
    await server.stop('SIGKILL');
    await sleep(4000);
    expect(pids.every(pidAlive)).toBe(true);
    await server.start();

    client = await connectClient();
    // Half the output comes only after the second worker has taken the stalled jobs: it ships the rest.
    await retaken(client, 'pair', ids);
    openGate();
    await eventually(
      async () => ((await statuses(client, ids)).every((s) => s === 'completed') ? true : undefined),
      'the tasks to be recorded completed',
    );
    for (let n = 0; n < 2; n++) expect(runs(n), `runs of task ${n}`).toBe(1);
    const lines = Array.from({ length: 20 }, (_, i) => `${i + 1}\n`).join('');
    for (const id of ids) {
      const { stdout, ends } = await h.logText(id);
      expect(ends, `end markers of ${id}`).toBe(1);
      expect(stdout).toBe(lines);
    }
    await expectJobsCompleted(client, 'pair', ids);
    await expectNoneActiveAndEnded(client, 'pair');
    expect(first.exitCode).toBeNull();
    expect(second.exitCode).toBeNull();
  });
});
