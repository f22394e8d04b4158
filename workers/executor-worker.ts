// What `openclaw-agent worker` runs: one executor's worker, until SIGTERM or SIGINT.
import type { LoadedConfig } from '../src/config/config.js';
import { startExecutorWorker } from '../src/worker/runtime.js';
import { exitAfterShutdown } from './shutdown.js';

export interface WorkerProcessOptions {
  config: LoadedConfig;
  executor: string;
  concurrency?: number;
  redisUrl?: string;
}

/**
 * The worker process: one BullMQ worker on one executor's queue. SIGTERM/SIGINT stop it promptly
 * without touching running tasks, which are detached and get re-attached by the next worker.
 */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const say = (line: string) => process.stderr.write(`[worker ${options.executor}] ${line}\n`);
  const running = await startExecutorWorker({ ...options, onLog: say });
  say(`ready (concurrency ${running.concurrency}, pid ${process.pid}, host ${running.hostId})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      say(`${signal}: stopping; running tasks keep running and will be re-attached`);
      void running
        .close()
        .catch((error: unknown) => say(`shutdown: ${error instanceof Error ? error.message : String(error)}`))
        .finally(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  exitAfterShutdown();
}
