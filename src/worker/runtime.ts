// A worker process for one executor: its BullMQ worker, kill requests, deliveries, liveness and
// shutdown.
import { setMaxListeners } from 'node:events';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { ExecutorConfig, LoadedConfig } from '../config/config.js';
import { createExecutor } from '../executors/create-executor.js';
import type { Executor } from '../executors/executor.js';
import { resolveHostId } from '../executors/local/host-id.js';
import { localSpoolDir } from '../executors/local/local-executor.js';
import { offerLaunchAhead } from '../tasks/launch-ahead.js';
import { connectRedis, destroySockets, resolveRedisUrl, type RedisClient } from '../redis/connection.js';
import { TaskKeys } from '../tasks/keys.js';
import { unendedTasks } from '../tasks/store.js';
import { createTaskProcessor, type TaskResult } from './processor.js';
import { OwnershipLostError } from '../logs/log-stream.js';
import { requireExecutor } from '../config/config.js';
import { sweepCompletionRecords, writeCompletionRecord } from '../notify/completion-record.js';
import { notifierSecretEnv } from '../notify/notifier-config.js';
import { isAnnounced } from '../notify/outbox-entry.js';
import { startDeliveryWorker, type RunningDeliveries } from '../notify/delivery-worker.js';
import type { TaskRequest } from '../tasks/request.js';
import type { TaskRecord } from '../tasks/record.js';
import { readStopRequest, type StopSwitch } from '../tasks/stop.js';
import { WorkLiveness } from './liveness.js';
import { endSilentHostTasks, hostHeartbeats, startHostHeartbeat, type SilentHostSweep } from './host-heartbeat.js';
import { startWorkerPresence } from './worker-presence.js';
import { INDEX_SWEEP_EVERY_MS, sweepExpiredIndexEntries } from '../tasks/retention.js';
import { sweepEndedSpools } from '../executors/local/spool-retention.js';
import { spoolRoot } from '../config/paths.js';
import { describeError } from '../errors.js';
import { worktreeRoot } from '../git/host-runner.js';
import { sweepEndedWorktrees } from '../git/task-worktree.js';
import type { TaskContext } from '../tasks/cancel.js';
import { sweepWaitingTasks } from '../tasks/settle.js';
import { TaskClient } from '../tasks/client.js';
import { fireSchedule } from '../schedules/schedule-firing.js';
import { SCHEDULES_QUEUE } from '../schedules/schedule-store.js';
import { RedisOutageReporter } from '../redis/outage-reporter.js';
import { sinkOf } from '../text/process-log.js';

export interface ExecutorWorkerOptions {
  config: LoadedConfig;
  executor: string;
  /** Tasks run at once. @default the executor's `concurrency` */
  concurrency?: number;
  /** The Redis to use. @default REDIS_URL, then the config's `redis.url`, then the default address */
  redisUrl?: string;
  /** Receives one line per notable event (errors, shutdown). @default ignore */
  onLog?: (line: string) => void;
  /**
   * Takes every Redis error of this worker and says what matters about an outage (one reporter
   * per process: `up` shares one among its workers). @default one that speaks through `onLog`
   */
  redisOutage?: RedisOutageReporter;
}

export interface RunningWorker {
  readonly worker: Worker;
  readonly concurrency: number;
  /** The host id recorded with the local tasks this worker starts (OPENCLAW_AGENT_HOST_ID, worker.host_id, hostname). */
  readonly hostId: string;
  /** Stops taking jobs and detaches from running tasks, which keep running for the next worker. */
  close(): Promise<void>;
}

/**
 * Starts a BullMQ worker on one executor's queue. Tasks are detached processes, so a worker that
 * dies loses nothing: BullMQ's stalled check hands its jobs to the next worker, which re-attaches.
 */
export async function startExecutorWorker(options: ExecutorWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const executorConfig = requireExecutor(config, options.executor);
  const log = options.onLog ?? (() => {});
  const hostId = resolveHostId(config.worker.host_id);
  const keys = new TaskKeys(config.redis.prefix);
  // Read by the local executor only once a task comes, after the connection below is made.
  const connection: { redis?: RedisClient } = {};
  const heartbeatTtl = config.worker.host_heartbeat;
  const executor = createExecutor(executorConfig, log, {
    hostId,
    lockDurationMs: config.worker.lock_duration,
    secretEnv: notifierSecretEnv(config.notifiers),
    heartbeat: hostHeartbeats(() => connection.redis!, keys, heartbeatTtl),
    maxSpoolBytes: config.logs.max_spool_bytes,
    spoolers: config.logs.local_spoolers,
    // Until Redis is connected every task counts as not ended: the first sweep removes nothing.
    unended: async (ids) => (connection.redis ? unendedTasks(connection.redis, keys, ids) : new Set(ids)),
  });
  await executor.prepare?.();
  const redisUrl = options.redisUrl ?? resolveRedisUrl(config.redis.url);
  const redis = await connectRedis(redisUrl, { persistent: true, settings: config.redis });
  connection.redis = redis;
  const outage = options.redisOutage ?? new RedisOutageReporter({ url: redisUrl, log: sinkOf(log) });
  outage.watch(redis);
  // Every worker of a local executor keeps its host's heartbeat: others then leave its tasks alone.
  const stopHeartbeat =
    executorConfig.type === 'local' ? startHostHeartbeat(redis, keys, hostId, heartbeatTtl) : () => {};
  const shutdown = new AbortController();
  const concurrency = options.concurrency ?? executorConfig.concurrency;
  // Each task followed waits on the shutdown signal: Node's warning at ten listeners would cry leak
  // at eleven tasks; past twice the concurrency (and some) it still shows a real one.
  setMaxListeners(2 * concurrency + 10, shutdown.signal);
  const stops = new Map<string, StopSwitch>();
  const subscriber = await followStopRequests(redis, keys, stops, outage);
  const deliveries = await startDeliveryWorker({
    config,
    redis,
    keys,
    onLog: log,
    onError: outage.listener,
  });
  const onEnded = announceEnd(config, deliveries, log);
  let running = 0;
  // Slots held for tasks launched ahead by dispatchers of this process, until their jobs come.
  const reserved = new Map<string, NodeJS.Timeout>();
  const freeSlot = (taskId: string) => {
    clearTimeout(reserved.get(taskId));
    reserved.delete(taskId);
  };
  const processor = joinFollowedTasks(
    followWhileLocked(
      createTaskProcessor({ config, executorConfig, executor, redis, keys, shutdown: shutdown.signal, stops, onEnded }),
      redis,
    ),
  );
  const counted = async (job: Job, token?: string) => {
    running++;
    const launchedHere = reserved.has(job.id!);
    freeSlot(job.id!);
    try {
      // The queue handed over another job in a slot held for a task launched ahead (one sent
      // with a better priority as it was launched): this one steps back for a moment, and the
      // launched task's job is taken in its place, so that the task is followed (and stoppable).
      if (
        !launchedHere &&
        running + reserved.size > concurrency &&
        (await awaitedLaunches(redis, worker.keys, reserved, freeSlot))
      ) {
        await job.moveToDelayed(Date.now() + STEP_BACK_MS, token);
        throw new DelayedError();
      }
      return await processor(job);
    } finally {
      running--;
    }
  };
  const liveness = new WorkLiveness(
    config.worker.liveness_timeout,
    {
      waiting: async () => {
        const [wait, prioritized, paused] = await Promise.all([
          redis.llen(worker.keys.wait!),
          redis.zcard(worker.keys.prioritized!),
          redis.hexists(worker.keys.meta!, 'paused'),
        ]);
        // A paused executor's tasks wait on purpose.
        return paused === 1 ? 0 : wait + prioritized;
      },
      running: () => running,
      capacity: concurrency,
      connected: () => redis.status === 'ready',
    },
    async (reason) => {
      log(`work is not flowing: ${reason}; reconnecting and restarting the queue consumer`);
      // A half-open socket would hold every command sent on it: destroy it (a graceful close would
      // wait on the silent peer) and ioredis reconnects and sends the unanswered commands again.
      // The BullMQ worker, with its own blocking connection, is replaced.
      destroySockets(redis, new Error(`liveness check: ${reason}`));
      const stuck = worker;
      worker = await startQueueWorker();
      void retire(stuck);
    },
  );
  const startQueueWorker = async () => {
    const queueWorker = new Worker(executorConfig.name, counted, {
      connection: redis,
      prefix: config.redis.prefix,
      concurrency,
      lockDuration: config.worker.lock_duration,
      stalledInterval: config.worker.stalled_interval,
      // A stalled task is re-attached, never re-run, so stalls are harmless to count.
      maxStalledCount: 1_000_000,
      autorun: false,
    });
    queueWorker.on('error', (error) => {
      if (!shutdown.signal.aborted && queueWorker === worker) outage.report('worker', error);
    });
    queueWorker.on('active', () => liveness.pickedUp());
    void queueWorker.run().catch((error: unknown) => log(`worker stopped: ${String(error)}`));
    await queueWorker.waitUntilReady();
    return queueWorker;
  };
  let worker = await startQueueWorker();
  liveness.start();
  // Announced once it consumes the queue: `executors`, the API and dispatch see it from now on.
  const presence = startWorkerPresence(redis, keys, {
    executor: executorConfig.name,
    hostId,
    concurrency,
    running: () => running,
    ttlMs: config.worker.presence_ttl,
  });
  // Listed before the process says it is ready: a dispatch right after "ready" is not warned.
  await presence.announced;
  const withdrawLane = offerLane(
    { redis, config, executorConfig, executor, hostId, concurrency, shutdown: shutdown.signal },
    { running: () => running, reserved, freeSlot },
  );
  const indexSweep = startSweeps(redis, keys, config, executorConfig, executor, log);
  const silentHostSweep =
    executorConfig.type === 'local'
      ? startSilentHostSweep(
          {
            redis,
            keys,
            config,
            hostId,
            heartbeat: hostHeartbeats(() => redis, keys, heartbeatTtl),
            suspects: new Set(),
            onEnded,
          },
          () => worker.keys.active!,
          log,
        )
      : undefined;
  const pipelineSweep = startPipelineSweep({ redis, keys, config }, log);
  const ticks = await startScheduleTicks(config, redis, shutdown.signal, log, outage);

  let closing: Promise<void> | undefined;
  return {
    get worker() {
      return worker;
    },
    concurrency,
    hostId,
    close: () => {
      closing ??= (async () => {
        shutdown.abort();
        withdrawLane();
        stopHeartbeat();
        liveness.stop();
        clearInterval(indexSweep);
        clearInterval(silentHostSweep);
        clearInterval(pipelineSweep);
        // Gone from `executors` at once, not after the TTL.
        await presence.stop();
        await ticks.close();
        await worker.close(true);
        await deliveries.close();
        await executor.close?.();
        subscriber.disconnect();
        redis.disconnect();
        if (options.redisOutage === undefined) outage.stop();
      })();
      return closing;
    },
  };
}

/** How long a slot waits for the job of a task launched ahead before it is free again. */
const RESERVED_SLOT_MS = 30_000;
/** How long a job that took the slot of a task launched ahead waits before it is taken again. */
const STEP_BACK_MS = 100;

/**
 * Whether a slot is held for a task launched ahead whose job is still to come: not written yet,
 * or waiting in the queue. A held slot whose job is neither (another worker of this host took
 * it, or it was removed) is freed here.
 */
async function awaitedLaunches(
  redis: RedisClient,
  queueKeys: Worker['keys'],
  reserved: Map<string, NodeJS.Timeout>,
  freeSlot: (taskId: string) => void,
): Promise<boolean> {
  const ids = [...reserved.keys()];
  const found = await Promise.all(
    ids.map(async (id) => {
      const [exists, score, position] = await Promise.all([
        redis.exists(`${queueKeys['']}${id}`),
        redis.zscore(queueKeys.prioritized!, id),
        redis.lpos(queueKeys.wait!, id),
      ]);
      return exists === 0 || score !== null || position !== null;
    }),
  );
  ids.forEach((id, i) => {
    if (!found[i]) freeSlot(id);
  });
  return found.some(Boolean);
}

// Offers the dispatchers of this process (the dashboard of `up`) to start this executor's tasks
// here at once, while a slot is free (see tasks/launch-ahead.ts): local executors only.
function offerLane(
  worker: {
    redis: RedisClient;
    config: LoadedConfig;
    executorConfig: ExecutorConfig;
    executor: Executor;
    hostId: string;
    concurrency: number;
    shutdown: AbortSignal;
  },
  slots: { running: () => number; reserved: Map<string, NodeJS.Timeout>; freeSlot: (taskId: string) => void },
): () => void {
  const { executor, executorConfig, config } = worker;
  if (!executor.prepareLaunchAhead || executorConfig.type !== 'local') return () => {};
  return offerLaunchAhead(worker.redis, config.redis.prefix, executorConfig.name, {
    reserve: (taskId, request) => {
      if (worker.shutdown.aborted || slots.running() + slots.reserved.size >= worker.concurrency) return undefined;
      const timer = setTimeout(() => slots.reserved.delete(taskId), RESERVED_SLOT_MS);
      timer.unref();
      slots.reserved.set(taskId, timer);
      const dir = localSpoolDir(executorConfig, taskId, 1);
      const prepared = executor.prepareLaunchAhead!({
        taskId,
        request,
        executor: executorConfig,
        defaults: config.defaults,
        dir,
      });
      return {
        dir,
        hostId: worker.hostId,
        // A worker that began closing meanwhile launches nothing more: the next one starts it.
        launch: async () => !worker.shutdown.aborted && (await prepared.start()),
        release: () => slots.freeSlot(taskId),
      };
    },
  });
}

// Every heartbeat period, the running local tasks of hosts whose heartbeat is gone end lost (see
// endSilentHostTasks); one sweep at a time.
function startSilentHostSweep(
  sweep: SilentHostSweep,
  activeKey: () => string,
  log: (line: string) => void,
): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void (async () => {
      const ended = await endSilentHostTasks(sweep, await sweep.redis.lrange(activeKey(), 0, -1));
      for (const id of ended) log(`task ${id} ended lost: its host's heartbeat is gone`);
    })()
      .catch(() => undefined)
      .finally(() => (sweeping = false));
  }, sweep.heartbeat.periodMs);
  timer.unref();
  return timer;
}

// Kill requests arrive as a pub/sub nudge that trips the stop switch of a task this worker follows;
// the record is the durable copy the processor polls.
async function followStopRequests(
  redis: RedisClient,
  keys: TaskKeys,
  stops: Map<string, StopSwitch>,
  outage: RedisOutageReporter,
): Promise<RedisClient> {
  const subscriber = redis.duplicate();
  outage.watch(subscriber, 'kill-request subscriber');
  await subscriber.subscribe(keys.stopChannel());
  subscriber.on('message', (_channel: string, taskId: string) => {
    const stop = stops.get(taskId);
    if (!stop) return;
    void readStopRequest(redis, keys, taskId).then(
      (request) => request && stop.trip(request),
      () => {},
    );
  });
  return subscriber;
}

// What a worker does once a task ended: the original tool's completion file, and the outbox relayed
// at once when anyone is to hear of it (the relay sweep covers the rest).
function announceEnd(config: LoadedConfig, deliveries: RunningDeliveries, log: (line: string) => void) {
  return async (record: TaskRecord, request: TaskRequest): Promise<void> => {
    try {
      writeCompletionRecord(record);
    } catch (error) {
      log(`could not write the completion record of ${record.id}: ${String(error)}`);
    }
    if (isAnnounced(request, config)) await deliveries.relay();
  };
}

// Records and logs expire by themselves; the list and search indexes, this host's completion files
// (the original tool's), the spool directories of this host's local tasks and the worktrees of tasks that ended `retention` ago (their branches stay,
// with the work) are trimmed here, now and every INDEX_SWEEP_EVERY_MS.
function startSweeps(
  redis: RedisClient,
  keys: TaskKeys,
  config: LoadedConfig,
  executorConfig: ExecutorConfig,
  executor: Executor,
  log: (line: string) => void,
): NodeJS.Timeout {
  const sweep = () => {
    void sweepExpiredIndexEntries(redis, keys, config.retention).catch((error: unknown) =>
      log(`index sweep: ${String(error)}`),
    );
    void sweepCompletionRecords(config.retention).catch((error: unknown) =>
      log(`completion file sweep: ${describeError(error)}`),
    );
    if (executorConfig.type === 'local') {
      void sweepEndedSpools(spoolRoot(executorConfig.spool_dir), config.retention).catch((error: unknown) =>
        log(`spool sweep: ${String(error)}`),
      );
    }
    if (executor.runScript) {
      const runner = { runScript: executor.runScript.bind(executor) };
      void sweepEndedWorktrees(runner, worktreeRoot(executorConfig), config.retention).catch((error: unknown) =>
        log(`worktree sweep: ${describeError(error)}`),
      );
    }
  };
  const timer = setInterval(sweep, INDEX_SWEEP_EVERY_MS);
  timer.unref();
  sweep();
  return timer;
}

/** How often each worker settles what a dead process may have left unsettled (see sweepWaitingTasks). */
const PIPELINE_SWEEP_EVERY_MS = 10_000;

// Releases blocked tasks and passes on concurrency turns whose settlement a dead process missed.
function startPipelineSweep(ctx: TaskContext, log: (line: string) => void): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void sweepWaitingTasks(ctx, log)
      .catch((error: unknown) => log(`pipeline sweep: ${describeError(error)}`))
      .finally(() => (sweeping = false));
  }, PIPELINE_SWEEP_EVERY_MS);
  timer.unref();
  return timer;
}

// Every worker takes schedule ticks too: BullMQ hands each tick to one of them, which makes its task.
async function startScheduleTicks(
  config: LoadedConfig,
  redis: RedisClient,
  shutdown: AbortSignal,
  log: (line: string) => void,
  outage: RedisOutageReporter,
): Promise<{ close(): Promise<void> }> {
  const client = new TaskClient(config, redis);
  const ticks = new Worker(
    SCHEDULES_QUEUE,
    async (job: Job<{ schedule?: string }>, token?: string) => {
      const name = job.data.schedule;
      if (typeof name !== 'string') return { kind: 'gone' };
      let result;
      try {
        result = await fireSchedule(client, name, job.id!);
      } catch (error) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log(`schedule ${name}: its tick failed (${describeError(error)}); ${last ? 'given up' : 'it is tried again'}`);
        throw error;
      }
      if (result.kind === 'failed') log(`schedule ${name}: could not make its task: ${result.error}`);
      if (result.kind === 'elsewhere') {
        // Handed out again (no attempt spent), for a worker whose config has the executor.
        await job.moveToDelayed(Date.now() + result.retryInMs, token);
        throw new DelayedError();
      }
      return result;
    },
    { connection: redis, prefix: config.redis.prefix, concurrency: 1, autorun: false },
  );
  ticks.on('error', (error) => {
    if (!shutdown.aborted) outage.report('schedule ticks', error);
  });
  void ticks.run().catch((error: unknown) => log(`schedule ticks stopped: ${String(error)}`));
  await ticks.waitUntilReady();
  return { close: () => ticks.close(true) };
}

// A stuck BullMQ worker is closed in the background: its tasks are already followed by the shared
// processor. (Not `disconnect()`: that would close the main connection it shares with the rest.)
async function retire(stuck: Worker): Promise<void> {
  await stuck.close(true).catch(() => {});
}

/**
 * When Redis was away longer than the lock duration, the stalled check hands a job this worker still
 * follows back to this same worker. A second follower would race the first for the task's output and
 * the loser would fail the job under its new lock; instead the new run waits for the first one's
 * outcome and settles the job with it (the first run's own settling fails harmlessly on its old lock).
 */
function joinFollowedTasks(processor: (job: Job) => Promise<TaskResult>): (job: Job) => Promise<TaskResult> {
  const following = new Map<string, Promise<TaskResult>>();
  return (job) => {
    const taskId = job.id!;
    const current = following.get(taskId);
    if (current) return current;
    const run = processor(job);
    following.set(taskId, run);
    const forget = () => {
      if (following.get(taskId) === run) following.delete(taskId);
    };
    run.then(forget, forget);
    return run;
  };
}

/**
 * After a long Redis outage the stalled check may hand a job to another worker while the first one
 * still follows the task. Their followers race for the output; when the one holding the job's lock
 * loses, it follows again from the checkpoint instead of failing the job (the stale follower gives
 * up on its next lost append, or ends the task first: the new run then finds the outcome).
 */
function followWhileLocked(
  processor: (job: Job) => Promise<TaskResult>,
  redis: RedisClient,
): (job: Job) => Promise<TaskResult> {
  return async (job) => {
    for (;;) {
      try {
        return await processor(job);
      } catch (error) {
        if (!(error instanceof OwnershipLostError) || job.token === undefined) throw error;
        const lock = await redis.get(`${job.queueQualifiedName}:${job.id!}:lock`);
        if (lock !== job.token) throw error;
        // A pause before following again: the other follower gives up on its next append.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
}
