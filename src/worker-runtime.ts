import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { LoadedConfig } from './config.js';
import { UnknownExecutorError } from './errors.js';
import { createExecutor } from './executors/create-executor.js';
import { connectRedis, resolveRedisUrl } from './redis-connection.js';
import { TaskKeys } from './task-keys.js';
import { createTaskProcessor } from './task-processor.js';
import { findExecutor } from './config.js';

export interface ExecutorWorkerOptions {
  config: LoadedConfig;
  executor: string;
  /** Tasks run at once. @default the executor's `concurrency` */
  concurrency?: number;
  /** Receives one line per notable event (errors, shutdown). @default ignore */
  onLog?: (line: string) => void;
}

export interface RunningWorker {
  readonly worker: Worker;
  readonly concurrency: number;
  /** Stops taking jobs and detaches from running tasks, which keep running for the next worker. */
  close(): Promise<void>;
}

/**
 * Starts a BullMQ worker on one executor's queue. Tasks are detached processes, so a worker that
 * dies loses nothing: BullMQ's stalled check hands its jobs to the next worker, which re-attaches.
 */
export async function startExecutorWorker(options: ExecutorWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const executorConfig = findExecutor(config, options.executor);
  if (!executorConfig) {
    throw new UnknownExecutorError(
      `unknown executor "${options.executor}" — configured: ${config.executors.map((e) => e.name).join(', ') || '(none)'}`,
    );
  }
  const executor = createExecutor(executorConfig);
  const redis: Redis = await connectRedis(resolveRedisUrl(config.redis.url), { persistent: true });
  const shutdown = new AbortController();
  const concurrency = options.concurrency ?? executorConfig.concurrency;
  const log = options.onLog ?? (() => {});
  const worker = new Worker(
    executorConfig.name,
    createTaskProcessor({ config, executorConfig, executor, redis, keys: new TaskKeys(config.redis.prefix), shutdown: shutdown.signal }),
    {
      connection: redis,
      prefix: config.redis.prefix,
      concurrency,
      lockDuration: config.worker.lock_duration,
      stalledInterval: config.worker.stalled_interval,
      // A stalled task is re-attached, never re-run, so stalls are harmless to count.
      maxStalledCount: 1_000_000,
      autorun: false,
    },
  );
  worker.on('error', (error) => {
    if (!shutdown.signal.aborted) log(`worker error: ${error.message}`);
  });
  void worker.run().catch((error: unknown) => log(`worker stopped: ${String(error)}`));
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  return {
    worker,
    concurrency,
    close: () => {
      closing ??= (async () => {
        shutdown.abort();
        await worker.close(true);
        redis.disconnect();
      })();
      return closing;
    },
  };
}
