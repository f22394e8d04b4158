import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { RESUME_PROMPT } from '../../src/claude/usage-limit.js';
import { findExecutor, parseConfigText, type LoadedConfig } from '../../src/config/config.js';
import { notLaunched, resultFromExitCode } from '../../src/executors/executor.js';
import { runLocalScript } from '../../src/executors/local/host-script.js';
import { readLog, type EndMarker } from '../../src/logs/log-stream.js';
import { connectRedis } from '../../src/redis/connection.js';
import { TaskClient, type EnqueueInput } from '../../src/tasks/client.js';
import { killTask, waitForTasks } from '../../src/tasks/control.js';
import { finishTask } from '../../src/tasks/finish.js';
import { TaskKeys } from '../../src/tasks/keys.js';
import type { ShellCommandPayload } from '../../src/tasks/request.js';
import { parseRecordHash, toTaskJson, type TaskRecord } from '../../src/tasks/record.js';
import { DEFAULT_GRACE_MS, requestStop, type StopSwitch } from '../../src/tasks/stop.js';
import { createTaskProcessor } from '../../src/worker/processor.js';
import { git, makeRepo } from '../helpers/git-repo.js';
import { deleteKeys, eventually } from '../helpers/harness.js';
import {
  claudeRun,
  exits,
  FakeExecutor,
  reattachesAndExits,
  type FakeRun,
  runsUntilStopped,
  successLines,
  usageLimitLines,
} from './fake-executor.js';

// The task processor's decisions (src/worker/processor.ts), driven as production drives it: a real
// BullMQ Worker on the executor's queue runs createTaskProcessor against the real Redis, with an
// in-memory executor (./fake-executor.ts) in place of processes. Tasks are enqueued with the real
// TaskClient and read back as every surface reads them (toTaskJson, the log stream, the job).
// The kill pub/sub nudge is wired by runtime.ts, not by the processor: here a kill request
// reaches the run through the processor's own poll of the record.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const EXECUTOR = 'fake';
/** Short, so that a worker that went away hands its job on within about two seconds. */
const LOCK_MS = 1000;

interface FakeWorker {
  /** Records the processor's `onEnded` saw. */
  ended: TaskRecord[];
  /** Errors the processor rejected with, in order. */
  failures: Error[];
  /** Shuts down as `RunningWorker.close` does: running tasks are left for the next worker. */
  close(): Promise<void>;
}

describe('task processor', () => {
  let prefix: string;
  let config: LoadedConfig;
  let keys: TaskKeys;
  let client: TaskClient;
  let workers: FakeWorker[];

  beforeEach(async () => {
    prefix = `oca-test-${randomUUID().slice(0, 8)}`;
    const text = `executors:\n  - name: ${EXECUTOR}\n    type: local\nredis:\n  prefix: ${prefix}\nretention: 1h\n`;
    config = { ...parseConfigText(text, 'processor.test'), sourcePath: undefined };
    keys = new TaskKeys(prefix);
    client = await TaskClient.connect(config, REDIS_URL);
    workers = [];
  });

  afterEach(async () => {
    for (const worker of workers) await worker.close();
    await client.close();
    const redis = new Redis(REDIS_URL);
    try {
      await deleteKeys(redis, `${prefix}:*`);
    } finally {
      redis.disconnect();
    }
  });

  // A worker as runtime.ts makes one: one connection shared by the queue worker and the processor.
  async function startWorker(executor: FakeExecutor): Promise<FakeWorker> {
    const redis = await connectRedis(REDIS_URL, { persistent: true });
    const shutdown = new AbortController();
    const ended: TaskRecord[] = [];
    const failures: Error[] = [];
    const processor = createTaskProcessor({
      config,
      executorConfig: findExecutor(config, EXECUTOR)!,
      executor,
      redis,
      keys,
      shutdown: shutdown.signal,
      stops: new Map<string, StopSwitch>(),
      onEnded: async (record) => {
        ended.push(record);
      },
    });
    const worker = new Worker(EXECUTOR, processor, {
      connection: redis,
      prefix,
      concurrency: 1,
      lockDuration: LOCK_MS,
      stalledInterval: LOCK_MS / 2,
      maxStalledCount: 1_000_000,
      autorun: false,
    });
    worker.on('failed', (_job, error) => failures.push(error));
    worker.on('error', () => {});
    void worker.run().catch(() => {});
    await worker.waitUntilReady();
    let closing: Promise<void> | undefined;
    const running: FakeWorker = {
      ended,
      failures,
      close: () =>
        (closing ??= (async () => {
          shutdown.abort();
          await worker.close(true);
          redis.disconnect();
        })()),
    };
    workers.push(running);
    return running;
  }

  async function enqueue(input: Partial<EnqueueInput> = {}): Promise<string> {
    const { id } = await client.enqueue({
      executor: EXECUTOR,
      payload: { type: 'shell_command', command: 'make test', args: [], env: {} },
      ...input,
    });
    return id;
  }

  async function recordOf(id: string): Promise<TaskRecord> {
    return parseRecordHash(await client.redis.hgetall(keys.record(id)))!;
  }

  async function jobOf(id: string): Promise<Job> {
    return (await client.queue(EXECUTOR).getJob(id))!;
  }

  /** The task as `status --json` shows it, once it has ended. */
  async function endedJson(id: string): Promise<Record<string, unknown>> {
    const [view] = await waitForTasks(client, [id], { timeoutMs: 25_000 });
    return toTaskJson(view!);
  }

  /** Waits until BullMQ has settled the job (after the record ended and `onEnded` ran). */
  async function settledJob(id: string): Promise<Job> {
    await eventually(async () => {
      const state = await client.queue(EXECUTOR).getJobState(id);
      return state === 'completed' || state === 'failed' ? state : undefined;
    }, `job ${id} settled`);
    return jobOf(id);
  }

  async function logOf(id: string): Promise<{ stdout: string; system: string; ends: EndMarker[]; lastIsEnd: boolean }> {
    const entries = await readLog(client.redis, keys, id);
    return {
      stdout: entries.map((e) => (e.kind === 'output' && e.stream === 'stdout' ? e.text : '')).join(''),
      system: entries.map((e) => (e.kind === 'output' && e.stream === 'system' ? e.text : '')).join(''),
      ends: entries.flatMap((e) => (e.kind === 'end' ? [e.end] : [])),
      lastIsEnd: entries.at(-1)?.kind === 'end',
    };
  }

  it('a run that exits 0 ends completed with exit code 0, its output and one end marker in the log', async () => {
    const fake = new FakeExecutor(exits(0, 'built 3 targets\n'));
    const worker = await startWorker(fake);
    const id = await enqueue();

    const json = await endedJson(id);
    expect(json).toMatchObject({
      status: 'completed',
      exit_code: 0,
      signal: null,
      error: null,
      pid: 40_001,
      attempt: 1,
      attempts: [],
    });
    expect(json.duration_ms).toEqual(expect.any(Number));
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ taskId: id, attempt: 1, handle: {} });
    const log = await logOf(id);
    expect(log.stdout).toBe('built 3 targets\n');
    expect(log.ends).toEqual([{ status: 'completed', exit_code: 0, signal: null, error: null }]);
    expect(log.lastIsEnd).toBe(true);
    // The job completes with the same result, and the worker hears of the end once.
    const job = await settledJob(id);
    expect(job.returnvalue).toMatchObject({ status: 'completed', exit_code: 0, signal: null });
    expect(await job.getState()).toBe('completed');
    await eventually(async () => (worker.ended.length > 0 ? true : undefined), 'onEnded');
    expect(worker.ended.map((r) => [r.id, r.outcome])).toEqual([[id, 'completed']]);
  });

  it('a run that keeps failing with retries: 2 runs three times, records every attempt and ends failed', async () => {
    const fake = new FakeExecutor(exits(1, 'boom\n'));
    await startWorker(fake);
    const id = await enqueue({ retries: 2, backoffMs: 100 });

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'failed', exit_code: 1, attempt: 3 });
    expect(json.attempts).toEqual(
      [1, 2, 3].map((attempt) =>
        expect.objectContaining({ attempt, outcome: 'failed', exit_code: 1, started_at: expect.any(String) }),
      ),
    );
    // Every run is a new one: the processor forgot the last run's handle before it.
    expect(fake.calls.map((c) => [c.attempt, c.handle])).toEqual([
      [1, {}],
      [2, {}],
      [3, {}],
    ]);
    const log = await logOf(id);
    expect(log.stdout).toBe('boom\n'.repeat(3));
    expect(log.system).toContain('attempt 2 of 3 starting');
    expect(log.system).toContain('attempt 3 of 3 starting');
    expect(log.ends).toEqual([{ status: 'failed', exit_code: 1, signal: null, error: null }]);
    const job = await settledJob(id);
    expect(await job.getState()).toBe('failed');
    expect(job.failedReason).toMatch(/^exited with code 1/);
  });

  it('a failed first run with retries: 2 that succeeds on attempt 2 ends completed', async () => {
    const fake = new FakeExecutor(exits(1, 'flaky\n'), exits(0, 'ok\n'));
    await startWorker(fake);
    const id = await enqueue({ retries: 2, backoffMs: 100 });

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'completed', exit_code: 0, error: null, attempt: 2 });
    expect(json.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed', exit_code: 1 }),
      expect.objectContaining({ attempt: 2, outcome: 'completed', exit_code: 0 }),
    ]);
    await settledJob(id);
    expect(fake.calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect((await logOf(id)).stdout).toBe('flaky\nok\n');
  });

  it('re-attaches to the run a previous worker started instead of starting it again', async () => {
    const first = new FakeExecutor(runsUntilStopped('first half\n'));
    const gone = await startWorker(first);
    // retries: 1 so that a run wrongly counted as a new attempt would start afresh as attempt 2.
    const id = await enqueue({ retries: 1, backoffMs: 100 });
    await first.started(0);
    // The worker shuts down: the run is left going, its handle on the record.
    await gone.close();
    expect(first.calls[0]!.detached).toBe(true);
    const before = await recordOf(id);
    expect(before.handle).toEqual({ fake: `${id}.1` });
    expect(before.outcome).toBeUndefined();

    // A new worker (another process: a new executor, nothing shared but Redis) takes the stalled job.
    const second = new FakeExecutor(reattachesAndExits(0, 'second half\n'));
    await startWorker(second);
    const json = await endedJson(id);
    expect(json).toMatchObject({
      status: 'completed',
      exit_code: 0,
      attempt: 1,
      started_at: new Date(before.startedAt!).toISOString(),
    });
    expect(second.calls).toHaveLength(1);
    expect(second.calls[0]).toMatchObject({
      attempt: 1,
      handle: { fake: `${id}.1` },
      attemptStartedAt: before.attemptStartedAt,
      checkpoint: { stdout: String('first half\n'.length) },
    });
    // One run, recorded once; its output shipped once, no new attempt begun.
    expect(json.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);
    const log = await logOf(id);
    expect(log.stdout).toBe('first half\nsecond half\n');
    expect(log.system).not.toContain('starting');
    expect(log.ends).toHaveLength(1);
  });

  it("records a run's end when the executor says its process ended, held between the run's start and now", async () => {
    let saidEnd = 0;
    const endingAt = (when: (startedBy: number) => number): FakeRun => {
      return async (_ctx, _call, io) => {
        await io.start();
        const startedBy = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 300));
        saidEnd = when(startedBy);
        return { ...resultFromExitCode(0), endedAt: saidEnd };
      };
    };
    const fake = new FakeExecutor(
      endingAt((startedBy) => startedBy + 100),
      endingAt(() => Date.now() + 3_600_000),
      endingAt(() => 0),
    );
    await startWorker(fake);

    // Within the run: taken as it is, also by the duration.
    const within = await endedJson(await enqueue());
    expect(within.finished_at).toBe(new Date(saidEnd).toISOString());
    expect(within.duration_ms).toBe(saidEnd - Date.parse(within.started_at as string));
    // Later than now (a clock ahead): now.
    const ahead = await endedJson(await enqueue());
    const seenEnded = Date.now();
    expect(Date.parse(ahead.finished_at as string)).toBeLessThanOrEqual(seenEnded);
    expect(Date.parse(ahead.finished_at as string)).toBeGreaterThan(Date.parse(ahead.started_at as string));
    // Before the run started (a clock behind): the start.
    const behind = await endedJson(await enqueue());
    expect(behind.finished_at).toBe(behind.started_at);
    expect(behind.duration_ms).toBe(0);
  });

  it('a stop request recorded before the run starts ends the task killed without running it', async () => {
    const fake = new FakeExecutor(exits(0));
    const id = await enqueue({ retries: 2 });
    // The worker has not taken the job yet (none runs): the request waits on the record.
    await requestStop(client.redis, keys, id, { kind: 'killed', graceMs: 2500, reason: 'killed on request' });
    await startWorker(fake);

    const json = await endedJson(id);
    expect(json).toMatchObject({
      status: 'killed',
      error: 'killed on request',
      exit_code: null,
      started_at: null,
      attempts: [],
    });
    const job = await settledJob(id);
    expect(job.failedReason).toBe('killed — killed on request');
    expect(fake.calls).toHaveLength(0);
    expect((await logOf(id)).ends).toEqual([
      { status: 'killed', exit_code: null, signal: null, error: 'killed on request' },
    ]);
  });

  it('a kill of a run marked launching by a worker that left goes to the executor, which stops what was launched', async () => {
    // The first worker marks the run launching, launches it, and leaves before recording its start.
    const first = new FakeExecutor(async (ctx, _call, io) => {
      await ctx.markLaunching({ fake: `${ctx.taskId}.launching` });
      await io.stopped();
      throw new Error('unreachable');
    });
    const gone = await startWorker(first);
    const id = await enqueue();
    await eventually(async () => ((await recordOf(id)).launchingAt !== undefined ? true : undefined), 'the mark');
    await gone.close();
    const launching = await recordOf(id);
    expect(launching).toMatchObject({ handle: { fake: `${id}.launching` }, attemptStartedAt: undefined });
    expect((await client.get(id)).status).toBe('running');
    expect((await killTask(client, id, 1500)).kind).toBe('stop-requested');

    // The next worker hands the run to its executor with the stop tripped: it is not a new run.
    const second = new FakeExecutor(async () => ({ outcome: 'failed', exitCode: 143, signal: null, stopped: true }));
    await startWorker(second);
    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'killed', error: 'killed on request' });
    expect(second.calls).toHaveLength(1);
    expect(second.calls[0]).toMatchObject({
      handle: { fake: `${id}.launching` },
      stop: { kind: 'killed', graceMs: 1500, reason: 'killed on request' },
    });
  });

  it('a kill requested before the launch mark: the mark reads it, and the executor launches nothing', async () => {
    let launched = false;
    const fake = new FakeExecutor(async (ctx) => {
      await requestStop(client.redis, keys, ctx.taskId, { kind: 'killed', graceMs: 1500, reason: 'killed on request' });
      await ctx.markLaunching({ fake: `${ctx.taskId}.1` });
      if (ctx.stop.request) return notLaunched();
      launched = true;
      return resultFromExitCode(0);
    });
    await startWorker(fake);
    const id = await enqueue();

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'killed', error: 'killed on request', exit_code: null, signal: null });
    expect(launched).toBe(false);
    // Nothing was marked: the stop came first.
    const record = await recordOf(id);
    expect(record.launchingAt).toBeUndefined();
    expect(record.handle).toEqual({});
  });

  it("a stop request recorded during a retry's backoff ends the task killed without running the next attempt", async () => {
    const fake = new FakeExecutor(exits(1, 'boom\n'), runsUntilStopped());
    await startWorker(fake);
    const id = await enqueue({ retries: 2, backoffMs: 800 });
    await eventually(
      async () => ((await client.queue(EXECUTOR).getJobState(id)) === 'delayed' ? true : undefined),
      'the retry backoff',
    );
    await requestStop(client.redis, keys, id, { kind: 'killed', graceMs: 2500, reason: 'killed on request' });

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'killed', error: 'killed on request' });
    await settledJob(id);
    expect((await logOf(id)).system).not.toContain('attempt 2 of 3 starting');
    expect(fake.calls).toHaveLength(1);
  });

  it("a worktree task killed during a retry's backoff: its worktree is marked ended and its changes committed with --commit before it ends", async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'oca-processor-'));
    onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
    const repo = makeRepo(path.join(scratch, 'repo'));
    // The worktrees live beside the executor's spool directory: here, in the scratch directory.
    const text = `executors:\n  - name: ${EXECUTOR}\n    type: local\n    spool_dir: ${path.join(scratch, 'tasks')}\nredis:\n  prefix: ${prefix}\nretention: 1h\n`;
    config = { ...parseConfigText(text, 'processor.test'), sourcePath: undefined };
    // The first run leaves a change in its worktree and fails; the second must never run.
    const fake = Object.assign(
      new FakeExecutor(async (ctx, _call, io) => {
        await io.start();
        const payload = ctx.request.payload as ShellCommandPayload;
        writeFileSync(path.join(payload.workingDir!, 'WORK'), 'work\n');
        return resultFromExitCode(3);
      }, exits(0)),
      { runScript: runLocalScript },
    );
    await startWorker(fake);
    const id = await enqueue({
      name: 'fix the parser',
      payload: { type: 'shell_command', command: 'make fix', args: [], env: {}, workingDir: repo },
      worktree: { commit: true },
      retries: 1,
      backoffMs: 800,
    });
    await eventually(
      async () => ((await client.queue(EXECUTOR).getJobState(id)) === 'delayed' ? true : undefined),
      'the retry backoff',
    );
    const worktree = (await recordOf(id)).git!.worktree;
    expect(existsSync(`${worktree}.ended`)).toBe(false);
    // Recorded while the job waits: the worker that takes it ends the task without running it.
    await requestStop(client.redis, keys, id, { kind: 'killed', graceMs: 2500, reason: 'killed on request' });

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'killed', error: 'killed on request' });
    expect(fake.calls).toHaveLength(1);
    expect(existsSync(`${worktree}.ended`)).toBe(true);
    expect(git(worktree, 'log', '-1', '--format=%s').trim()).toBe('fix the parser');
    expect(git(worktree, 'show', 'HEAD:WORK')).toBe('work\n');
    expect((await recordOf(id)).git).toMatchObject({
      files_changed: 1,
      head_sha: git(worktree, 'rev-parse', 'HEAD').trim(),
    });
  });

  it('a kill request while running stops the run with its grace period and ends it killed, not retried', async () => {
    const fake = new FakeExecutor(runsUntilStopped('working\n'));
    await startWorker(fake);
    const id = await enqueue({ retries: 2, backoffMs: 100 });
    await fake.started(0);
    expect((await client.get(id)).status).toBe('running');

    const kill = await killTask(client, id, 1500);
    expect(kill.kind).toBe('stop-requested');
    const json = await endedJson(id);
    expect(fake.calls[0]!.stop).toEqual({ kind: 'killed', graceMs: 1500, reason: 'killed on request' });
    // Exit 143 from a shell is SIGTERM.
    expect(json).toMatchObject({ status: 'killed', exit_code: 143, signal: 'SIGTERM', error: 'killed on request' });
    expect(json.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'killed' })]);
    await settledJob(id);
    expect(fake.calls).toHaveLength(1);
  });

  it('a run past its timeoutMs is stopped with the default grace period and ends timed_out, not retried', async () => {
    const fake = new FakeExecutor(runsUntilStopped());
    await startWorker(fake);
    const id = await enqueue({ timeoutMs: 400, retries: 1, backoffMs: 100 });

    const json = await endedJson(id);
    const reason = "timed out after 400ms (the task's limit)";
    expect(fake.calls[0]!.stop).toEqual({ kind: 'timed_out', graceMs: DEFAULT_GRACE_MS, reason });
    expect(json).toMatchObject({ status: 'timed_out', exit_code: 143, signal: 'SIGTERM', error: reason });
    // The clock starts when the run does.
    expect(json.duration_ms).toBeGreaterThanOrEqual(400);
    await settledJob(id);
    expect(fake.calls).toHaveLength(1);
  });

  it('a run whose output another worker took over rejects with OwnershipLostError and leaves the task unended', async () => {
    let id = '';
    const fake = new FakeExecutor(async (ctx, _call, io) => {
      await io.start();
      await io.write('one\n');
      // Another worker now follows the task: it has moved the checkpoint on.
      await client.redis.hset(keys.record(ctx.taskId), 'c:stdout', '999');
      await io.write('two\n');
      return resultFromExitCode(0);
    });
    const worker = await startWorker(fake);
    id = await enqueue();

    const error = await eventually(async () => worker.failures[0], 'the processor rejects');
    expect(error.name).toBe('OwnershipLostError');
    expect(error.message).toContain(id);
    // Left to its new owner: not ended here, the refused output not shipped.
    const record = await recordOf(id);
    expect(record.outcome).toBeUndefined();
    expect(record.finishedAt).toBeUndefined();
    const log = await logOf(id);
    expect(log.stdout).toBe('one\n');
    expect(log.ends).toEqual([]);
    expect(fake.calls).toHaveLength(1);
  });

  it('a task another worker ended meanwhile: the run still going here is stopped as an orphan and the first end stands', async () => {
    // No output after the start: an append after the end would be refused (TaskEndedError) and
    // rejected like a lost ownership; this checks the processor's own watch of the record.
    const fake = new FakeExecutor(runsUntilStopped());
    await startWorker(fake);
    const id = await enqueue();
    await fake.started(0);
    // Another worker (this one was cut off from Redis) ended the task.
    await finishTask(
      client.redis,
      keys,
      id,
      { outcome: 'completed', exitCode: 0, signal: null, finishedAt: Date.now() },
      { retentionMs: 3_600_000, maxLogEntries: 20_000 },
    );

    const job = await settledJob(id);
    const reason = 'the task already ended as completed (recorded by another worker)';
    expect(fake.calls[0]!.stop).toEqual({ kind: 'killed', graceMs: DEFAULT_GRACE_MS, reason });
    expect(job.failedReason).toMatch(new RegExp(`^killed — ${reason.replace(/[()]/g, '\\$&')}`));
    const record = await recordOf(id);
    expect(record).toMatchObject({ outcome: 'completed', exitCode: 0 });
    expect(record.signal).toBeUndefined();
    expect((await logOf(id)).ends).toEqual([{ status: 'completed', exit_code: 0, signal: null, error: null }]);
  });

  it('a run the executor reports lost ends lost, with no exit code', async () => {
    const vanished = 'the task process vanished without an exit code';
    const fake = new FakeExecutor(async (_ctx, _call, io) => {
      await io.start();
      return { outcome: 'lost', exitCode: null, signal: null, error: vanished };
    });
    await startWorker(fake);
    const id = await enqueue();

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'lost', exit_code: null, signal: null, error: vanished });
    const job = await settledJob(id);
    expect(job.failedReason).toMatch(new RegExp(`^lost — ${vanished}`));
  });

  it('an executor error after the run started re-attaches to it instead of failing the task', async () => {
    const fake = new FakeExecutor(
      async (_ctx, _call, io) => {
        await io.start();
        throw new Error('connection reset by peer');
      },
      reattachesAndExits(0, 'done\n'),
    );
    await startWorker(fake);
    const id = await enqueue();

    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'completed', exit_code: 0, attempt: 1 });
    expect(fake.calls.map((c) => [c.attempt, c.handle])).toEqual([
      [1, {}],
      [1, { fake: `${id}.1` }],
    ]);
  });

  it('an executor error before anything started fails the task with the error, without a second call', async () => {
    const fake = new FakeExecutor(async () => {
      throw new Error('cannot reach the host');
    });
    await startWorker(fake);
    const id = await enqueue();

    const json = await endedJson(id);
    expect(json).toMatchObject({
      status: 'failed',
      exit_code: null,
      started_at: null,
      error: 'executor error: cannot reach the host',
    });
    await settledJob(id);
    expect(fake.calls).toHaveLength(1);
  });

  it('a Claude run that meets the usage limit is delayed without spending an attempt, then resumes the same session', async () => {
    const session = randomUUID();
    let resetsAt = 0;
    const fake = new FakeExecutor(
      async (ctx, call, io) => {
        resetsAt = Math.floor(Date.now() / 1000) + 2;
        return claudeRun(usageLimitLines(session, resetsAt), 1)(ctx, call, io);
      },
      claudeRun(successLines(session, true), 0),
    );
    await startWorker(fake);
    // retries 0: a spent attempt would fail the task for good.
    const { id } = await client.enqueue({
      executor: EXECUTOR,
      payload: { type: 'claude_code', prompt: 'Fix the build' },
    });

    // It waits: the job is delayed, the record says until when and which session to resume.
    await eventually(
      async () => ((await client.queue(EXECUTOR).getJobState(id)) === 'delayed' ? true : undefined),
      'the job is delayed',
    );
    const waiting = await recordOf(id);
    expect(waiting.outcome).toBeUndefined();
    expect(waiting.limit).toMatchObject({ waits: 1, session, resumeRun: 2, allowed: 3 });
    const until = waiting.limit!.until!;
    // The wait ends 0.5–5 s after the reset the stream gave (never the 10 min of an unknown reset).
    expect(until).toBeGreaterThanOrEqual(resetsAt * 1000 + 500);
    expect(until).toBeLessThanOrEqual(Math.max(resetsAt * 1000, Date.now()) + 5000);
    // The executor's other Claude tasks are held until then too.
    expect(Number(await client.redis.get(keys.limitHold(EXECUTOR)))).toBe(until);
    expect(waiting.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'failed',
        exit_code: 1,
        error: expect.stringContaining('API error 429'),
      }),
    ]);
    const job = await jobOf(id);
    expect(job.attemptsMade).toBe(0);
    expect(job.opts.attempts).toBe(1);
    expect((await logOf(id)).system).toContain("Claude's usage limit is reached");
    const queued = toTaskJson(await client.get(id));
    expect(queued).toMatchObject({ status: 'queued', limit: { waits: 1, until: new Date(until).toISOString() } });
    expect(fake.calls).toHaveLength(1);

    // After the wait, the next run resumes the session.
    const json = await endedJson(id);
    expect(json).toMatchObject({ status: 'completed', exit_code: 0, attempt: 2, limit: { waits: 1, until: null } });
    expect(json.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed' }),
      expect.objectContaining({ attempt: 2, outcome: 'completed', exit_code: 0 }),
    ]);
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[0]!.request.payload).toMatchObject({ type: 'claude_code', prompt: 'Fix the build' });
    expect(fake.calls[0]!.request.payload).not.toHaveProperty('resumeSessionId');
    expect(fake.calls[1]).toMatchObject({ attempt: 2, handle: {} });
    expect(fake.calls[1]!.request.payload).toMatchObject({
      type: 'claude_code',
      prompt: RESUME_PROMPT,
      resumeSessionId: session,
    });
    expect(fake.calls[1]!.at).toBeGreaterThanOrEqual(until);
    expect((await logOf(id)).system).toContain("resuming Claude's session after the usage limit (wait 1 of 3)");
    expect((await recordOf(id)).claude?.session_id).toBe(session);
  });
});
