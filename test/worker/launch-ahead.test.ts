import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, killTask, waitForTasks, type TaskClient, type TaskView } from '../../src/index.js';
import { startExecutorWorker, type RunningWorker } from '../../src/worker/runtime.js';
import { BIN, createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';

// Launch ahead (src/tasks/launch-ahead.ts): a local task dispatched in the process of its
// executor's worker starts there as soon as its record and job are written, before the queue
// hands the job over; the worker then takes the job and follows the run it finds. Real Redis, a
// real worker in this process (as `openclaw-agent up` runs its workers beside the dashboard), real
// task processes; then the built CLI's `up` and its REST API.

describe('launch ahead: a task dispatched beside its worker starts before the queue hands it over', () => {
  let h: Harness;
  let client: TaskClient;
  let worker: RunningWorker;

  beforeAll(async () => {
    h = createHarness({
      // The cases pause the worker's queue consumer with tasks waiting: its liveness check must
      // not replace the consumer meanwhile.
      workerConfig: '  liveness_timeout: 10m',
      extraExecutors: (dir) =>
        [
          '  - name: near',
          '    type: local',
          '    concurrency: 1',
          `    spool_dir: ${path.join(dir, 'home', 'tasks')}`,
          '',
        ].join('\n'),
    });
    worker = await startExecutorWorker({ config: h.config(), executor: 'near' });
    client = await h.client();
  });
  afterEach(async () => {
    await client.setExecutorPaused('near', false);
    if (worker.worker.isPaused()) await worker.worker.resume();
  });
  afterAll(async () => {
    await worker?.close();
    await h?.cleanup();
  });

  const file = (name: string) => path.join(h.dir, name);
  const lines = (name: string) =>
    existsSync(file(name)) ? readFileSync(file(name), 'utf8').split('\n').filter(Boolean) : [];
  const enqueue = (script: string, workdir = h.dir, priority?: number) =>
    client.enqueue({
      executor: 'near',
      payload: { type: 'shell_command', command: 'sh', args: ['-c', script], env: {}, workingDir: workdir },
      priority,
    });
  const ended = async (id: string): Promise<TaskView> => (await waitForTasks(client, [id], { timeoutMs: 60_000 }))[0]!;
  const endOf = (view: TaskView) => ({ status: view.status, exitCode: view.record.exitCode, error: view.record.error });
  const jobState = (id: string) => client.queue('near').getJobState(id);

  it('runs the task while the queue still holds its job; the worker then follows it to its end, and it ran once', async () => {
    // The worker takes no job now: whatever starts, the queue did not hand over.
    await worker.worker.pause();
    const { id } = await enqueue(`echo started >> '${file('once')}'; echo out; echo err >&2`);
    // Claimed with its record, in the same round trip: running, on this worker's host.
    const claimed = await client.get(id);
    expect(claimed.status).toBe('running');
    expect(claimed.record.launchingAt).toEqual(expect.any(Number));
    await eventually(async () => (lines('once').length > 0 ? true : undefined), 'the task to run');
    expect(['waiting', 'prioritized']).toContain(await jobState(id));

    const resumedAt = Date.now();
    await worker.worker.resume();
    const view = await ended(id);
    expect(endOf(view)).toEqual({ status: 'completed', exitCode: 0, error: undefined });
    // Its start (and its timeout's clock) is the launch, not the moment the worker took it over.
    expect(view.record.startedAt).toBeLessThan(resumedAt);
    expect((await h.logText(id)).stdout).toBe('out\n');
    expect(lines('once')).toEqual(['started']);
  });

  it('a kill before the worker has the job stops the launched process: the task ends killed', async () => {
    await worker.worker.pause();
    const { id } = await enqueue(`echo started >> '${file('killed')}'; exec sleep 300`);
    await eventually(async () => (lines('killed').length > 0 ? true : undefined), 'the task to run');
    const spool = path.join(h.home, 'tasks', id);
    const pid = Number(readFileSync(path.join(spool, 'pid'), 'utf8').split('\n')[0]);
    expect(alive(pid)).toBe(true);
    // Running, not queued: the kill is a stop request, which the worker obeys once it follows the run.
    expect((await killTask(client, id, 1000)).kind).toBe('stop-requested');

    await worker.worker.resume();
    const view = await ended(id);
    expect({ status: view.status, error: view.record.error }).toEqual({ status: 'killed', error: 'killed on request' });
    await eventually(async () => (alive(pid) ? undefined : true), 'the process to be gone');
  });

  it('a paused executor, a task queued ahead, or a full worker: the task waits in the queue as before', async () => {
    // Paused: nothing is claimed, and it runs once resumed.
    await client.setExecutorPaused('near', true);
    const paused = await enqueue(`echo paused >> '${file('order')}'`);
    const pausedView = await client.get(paused.id);
    expect({ status: pausedView.status, launchingAt: pausedView.record.launchingAt }).toEqual({
      status: 'queued',
      launchingAt: undefined,
    });

    // Resumed while the worker takes nothing: the paused task waits ahead, so the next one is
    // not claimed either, though the worker has its slot free.
    await worker.worker.pause();
    await client.setExecutorPaused('near', false);
    const behind = await enqueue(`echo behind >> '${file('order')}'`);
    expect((await client.get(behind.id)).record.launchingAt).toBeUndefined();
    await worker.worker.resume();
    expect(endOf(await ended(paused.id)).status).toBe('completed');
    expect(endOf(await ended(behind.id)).status).toBe('completed');
    expect(lines('order')).toEqual(['paused', 'behind']);

    // Full (concurrency 1): the next task is queued until the running one ends.
    const gate = file('gate');
    const first = await enqueue(`while [ ! -e '${gate}' ]; do sleep 0.05; done; echo first >> '${file('full')}'`);
    await eventually(
      async () => ((await client.get(first.id)).record.pid !== undefined ? true : undefined),
      'the first task to start',
    );
    const second = await enqueue(`echo second >> '${file('full')}'`);
    const secondView = await client.get(second.id);
    expect({ status: secondView.status, launchingAt: secondView.record.launchingAt }).toEqual({
      status: 'queued',
      launchingAt: undefined,
    });
    writeFileSync(gate, '');
    expect(endOf(await ended(first.id)).status).toBe('completed');
    expect(endOf(await ended(second.id)).status).toBe('completed');
    expect(lines('full')).toEqual(['first', 'second']);
  });

  it('a workdir that does not exist: nothing is launched, and the worker fails the task as it always has', async () => {
    await worker.worker.pause();
    const missing = file('no-such-dir');
    const { id } = await enqueue('echo never', missing);
    // Claimed (the workdir is looked at beside the claim), not launched, and given back: the
    // task is queued, not running, until the worker takes it.
    const view0 = await client.get(id);
    expect({ status: view0.status, launchingAt: view0.record.launchingAt, handle: view0.record.handle }).toEqual({
      status: 'queued',
      launchingAt: undefined,
      handle: {},
    });
    await worker.worker.resume();
    const view = await ended(id);
    expect(endOf(view)).toEqual({
      status: 'failed',
      exitCode: undefined,
      error: `working directory ${missing} does not exist on executor "near"`,
    });
    expect(existsSync(path.join(h.home, 'tasks', id))).toBe(false);
  });

  it('a launched task is next in line: a task with a priority, sent after it, waits for it', async () => {
    await worker.worker.pause();
    const gate = file('next-gate');
    const first = await enqueue(`echo first >> '${file('next')}'; while [ ! -e '${gate}' ]; do sleep 0.05; done`);
    await eventually(async () => (lines('next').length > 0 ? true : undefined), 'the first task to run');
    // The worker's one slot is held for the first task: the second is not claimed, and its
    // priority would put it first in BullMQ's line.
    const second = await enqueue(`echo second >> '${file('next')}'`, h.dir, 1);
    expect((await client.get(second.id)).record.launchingAt).toBeUndefined();

    await worker.worker.resume();
    await eventually(
      async () => ((await client.get(first.id)).record.pid !== undefined ? true : undefined),
      'the worker to follow the first task',
    );
    expect((await client.get(second.id)).status).toBe('queued');
    writeFileSync(gate, '');
    expect(endOf(await ended(first.id)).status).toBe('completed');
    expect(endOf(await ended(second.id)).status).toBe('completed');
    expect(lines('next')).toEqual(['first', 'second']);
  });

  it('a job that took the slot of a launched task (sent with a better priority as it launched) steps back: the launched task is followed first', async () => {
    await worker.worker.pause();
    const gate = file('step-gate');
    const launched = await enqueue(`echo launched >> '${file('step')}'`);
    await eventually(async () => (lines('step').length > 0 ? true : undefined), 'the launched task to run');
    // The race lost: the launched task's job not yet first in line (its score as queue.add gave
    // it, before the dispatcher's ZADD) when a task with a priority is sent.
    const queue = client.queue('near');
    await h.redis().zadd(queue.keys.prioritized!, 'XX', 1e15, launched.id);
    const ahead = await enqueue(
      `while [ ! -e '${gate}' ]; do sleep 0.05; done; echo ahead >> '${file('step')}'`,
      h.dir,
      1,
    );
    expect((await client.get(ahead.id)).record.launchingAt).toBeUndefined();

    // The worker's one slot is held for the launched task: the queue hands over the other job
    // first, which steps back, and the launched task is followed to its end while the other waits.
    await worker.worker.resume();
    const view = (await waitForTasks(client, [launched.id], { timeoutMs: 20_000 }))[0]!;
    expect(endOf(view)).toEqual({ status: 'completed', exitCode: 0, error: undefined });
    writeFileSync(gate, '');
    const other = await ended(ahead.id);
    expect(endOf(other)).toEqual({ status: 'completed', exitCode: 0, error: undefined });
    expect(other.record.attempt).toBe(1);
    expect(lines('step')).toEqual(['launched', 'ahead']);
  });

  it('a worker of another host serves the executor: nothing is claimed, as its worker could take the job', async () => {
    // This process's worker takes no job: a run marked launching here was claimed ahead, and
    // one the other worker starts is marked with its host.
    await worker.worker.pause();
    const elsewhere = await h.startWorker('near', { OPENCLAW_AGENT_HOST_ID: 'elsewhere' });
    const shared = await enqueue(`echo shared >> '${file('shared')}'`);
    expect([undefined, 'elsewhere']).toContain((await client.get(shared.id)).record.handle.host);
    const sharedEnd = await ended(shared.id);
    expect(endOf(sharedEnd).status).toBe('completed');
    expect(sharedEnd.record.handle.host).toBe('elsewhere');
    // Gone (a closing worker withdraws its presence at once): tasks are claimed here again.
    await stopProcess(elsewhere);
    const alone = await enqueue(`echo alone >> '${file('shared')}'`);
    const claimed = (await client.get(alone.id)).record;
    expect(claimed.launchingAt).toEqual(expect.any(Number));
    expect(claimed.handle.host).toBe(worker.hostId);
    await worker.worker.resume();
    expect(endOf(await ended(alone.id)).status).toBe('completed');
    expect(lines('shared')).toEqual(['shared', 'alone']);
  });

  describe('through `openclaw-agent up`: its dashboard and workers share one process', () => {
    let up: ChildProcess | undefined;
    afterAll(async () => {
      if (up) await stopProcess(up);
    });

    it('a task posted to the REST API is claimed before its job is written, and ends with its output', async () => {
      const child = spawn(
        'node',
        [BIN, 'up', '--redis-url', h.env.REDIS_URL ?? 'redis://127.0.0.1:6379', '--dashboard-port', '0'],
        {
          env: h.env,
          cwd: h.dir,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      up = child;
      let said = '';
      child.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
      const url = await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`up exited: ${said}`);
          // Its workers are ready before the dashboard starts.
          return /dashboard on (http:\/\/127\.0\.0\.1:\d+)/.exec(said)?.[1];
        },
        'the dashboard of up',
        60_000,
      );
      const api = createClient({ url, home: h.home });
      const { task_id: id } = await api.run({
        executor: 'local',
        argv: ['sh', '-c', `echo ahead >> '${file('rest')}'; echo via rest`],
        workdir: h.dir,
      });
      const view = await ended(id);
      expect(endOf(view)).toEqual({ status: 'completed', exitCode: 0, error: undefined });
      expect((await h.logText(id)).stdout).toBe('via rest\n');
      expect(lines('rest')).toEqual(['ahead']);
      // The claim was written before the job was made (the job's timestamp is taken when it is
      // built); a worker's own launching mark comes only after it took the job.
      const job = await client.queue('local').getJob(id);
      expect(view.record.launchingAt).toBeLessThanOrEqual(job!.timestamp);
    });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
