// What `openclaw-agent worker` runs: one executor's worker, until SIGTERM or SIGINT.
import type { LoadedConfig } from '../src/config/config.js';
import { resolveRedisUrl } from '../src/redis/connection.js';
import { RedisOutageReporter } from '../src/redis/outage-reporter.js';
import { ProcessLog, type LogFormat } from '../src/text/process-log.js';
import { startExecutorWorker } from '../src/worker/runtime.js';
import { exitAfterShutdown, untilStopSignal } from './shutdown.js';

export interface WorkerProcessOptions {
  config: LoadedConfig;
  executor: string;
  concurrency?: number;
  redisUrl?: string;
  /** @default "text" */
  logFormat?: LogFormat;
  /** Errors' lines carry their stack traces. @default false */
  verbose?: boolean;
}

/**
 * The worker process: one BullMQ worker on one executor's queue. SIGTERM/SIGINT stop it promptly
 * without touching running tasks, which are detached and get re-attached by the next worker.
 */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const log = new ProcessLog({ format: options.logFormat, component: 'worker', executor: options.executor });
  const redisUrl = options.redisUrl ?? resolveRedisUrl(options.config.redis.url);
  const redisOutage = new RedisOutageReporter({ url: redisUrl, log, verbose: options.verbose });
  // Listened for before anything starts: a SIGTERM that comes during start-up, or right after
  // "ready", stops the worker once it is up instead of killing it half-way.
  // A second signal, with the first one's listener gone, ends it at once as Node's default does.
  let ready = false;
  const signalled = untilStopSignal();
  void signalled.then((signal) => {
    if (!ready) log.info(`${signal}: stopping once started (send it again to end the worker at once)`);
  });
  const running = await startExecutorWorker({ ...options, redisUrl, onLog: log.line, redisOutage });
  ready = true;
  log.info(`ready (concurrency ${running.concurrency}, pid ${process.pid}, host ${running.hostId})`, {
    event: 'ready',
    concurrency: running.concurrency,
    pid: process.pid,
    host: running.hostId,
  });
  const signal = await signalled;
  log.info(`${signal}: stopping; running tasks keep running and will be re-attached`, { event: 'stopping' });
  redisOutage.stop();
  await running
    .close()
    .catch((error: unknown) => log.error(`shutdown: ${error instanceof Error ? error.message : String(error)}`));
  exitAfterShutdown();
}
