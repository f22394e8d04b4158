// What `openclaw-agent up` runs: a private redis-server (or another Redis) and a worker per executor.
import type { LoadedConfig } from '../src/config/config.js';
import {
  removeStackState,
  runningStackUrl,
  stackPaths,
  startPrivateRedis,
  type StartedRedis,
  writeStackState,
} from '../src/stack/private-stack.js';
import { describeError, isUserFacingError, UserFacingError } from '../src/errors.js';
import { connectRedis, redactRedisUrl } from '../src/redis/connection.js';
import { RedisOutageReporter } from '../src/redis/outage-reporter.js';
import type { ProcessLog } from '../src/text/process-log.js';
import { startExecutorWorker, type RunningWorker } from '../src/worker/runtime.js';
import { exitAfterShutdown, untilStopSignal } from './shutdown.js';

export interface StackProcessOptions {
  config: LoadedConfig;
  /** Started by another command in the background (output goes to the stack log). */
  background: boolean;
  /** Run workers only, against this Redis, instead of starting a private one. */
  externalRedis?: string;
  say: (line: string) => void;
  /** The stack's log: each worker speaks as `worker <executor>` in it. @default lines through `say` */
  log?: ProcessLog;
  /** Lines about unexpected errors carry their stack traces. @default false */
  verbose?: boolean;
  /**
   * More to run beside the workers once they are ready (the dashboard, started by `up`); closed
   * first on stop. A failure to start it is said and the stack goes on without it.
   */
  services?: (redisUrl: string) => Promise<{ close(): Promise<void> }>;
}

/**
 * The private stack in one process: a redis-server child (AOF on) and a worker for every
 * configured executor this version can run. Runs until SIGTERM/SIGINT, then detaches the
 * workers (tasks keep running), stops Redis cleanly and removes its state file.
 */
export async function runStackProcess(options: StackProcessOptions): Promise<void> {
  const { config, say } = options;
  const warn = options.log ? (line: string) => options.log!.warn(line) : say;
  if (await runningStackUrl()) {
    throw new UserFacingError(
      'USAGE',
      `a private stack is already running (data in ${stackPaths().root}); stop it with \`openclaw-agent down\``,
    );
  }
  const workers: RunningWorker[] = [];
  let redis: StartedRedis | undefined;
  // Made once Redis is known; stop() may run before (a signal while Redis starts).
  let redisOutage: RedisOutageReporter | undefined = undefined;
  let services: { close(): Promise<void> } | undefined;
  const stop = async () => {
    redisOutage?.stop();
    await services?.close().catch((error: unknown) => say(`stopping the dashboard: ${describeError(error)}`));
    await Promise.all(workers.map((w) => w.close()));
    await redis?.stop();
    await removeStackState();
  };
  // Listened for before anything starts: `down` right after `up` (it finds the state file before
  // "ready"), or Ctrl-C while Redis or the executors start, stops what has started and exits,
  // instead of Node's default ending the process half-way (Redis left running, the state file
  // behind). A Redis half-started is waited for, so that it is stopped too.
  let ready = false;
  let redisStarting: Promise<unknown> = Promise.resolve();
  const signalled = untilStopSignal();
  void signalled.then(async (signal) => {
    if (ready) return;
    say(`${signal}: start-up cut short; stopping what has started`);
    await redisStarting.catch(() => undefined);
    await stop().catch((error: unknown) => say(`shutdown: ${describeError(error)}`));
    process.exitCode = 1;
    exitAfterShutdown();
  });
  if (!options.externalRedis) {
    const starting = startPrivateRedis();
    redisStarting = starting;
    redis = await starting;
  }
  const redisUrl = redis?.url ?? options.externalRedis!;
  // The workers share one connection's worth of news about Redis: one line when it goes, one when it is back.
  redisOutage = new RedisOutageReporter({
    url: redisUrl,
    log: options.log?.child('worker') ?? { info: say, warn: say, error: say },
    verbose: options.verbose,
  });
  try {
    // A Redis the workers cannot use (unreachable, a bad URL, refused credentials) is one error
    // for the whole stack, said once and with its exit code, not a "not started" line per executor.
    // Persistent: a Redis still starting beside us (compose, systemd) gets the connect timeout.
    await (await connectRedis(redisUrl, { persistent: true, settings: config.redis })).quit();
    const failures: { executor: string; error: unknown }[] = [];
    for (const executor of config.executors) {
      // One executor that cannot start (its engine is down, its host key unknown) does not keep
      // the others from running; Redis gone meanwhile stops them all.
      try {
        workers.push(
          await startExecutorWorker({
            config,
            executor: executor.name,
            redisUrl,
            onLog: options.log?.child('worker', executor.name).line ?? ((line) => say(`[${executor.name}] ${line}`)),
            redisOutage,
          }),
        );
      } catch (error) {
        if (isUserFacingError(error) && error.code === 'REDIS_UNREACHABLE') throw error;
        failures.push({ executor: executor.name, error });
      }
    }
    // Nothing to serve: a stack of no workers would say "ready" and do nothing. One line says why.
    if (workers.length === 0 && failures.length > 0) {
      const [first] = failures as [(typeof failures)[0]];
      throw new UserFacingError(
        failures.length === 1 && isUserFacingError(first.error) ? first.error.code : 'EXECUTOR_FAILED',
        `no worker started — ${failures.map((f) => `executor ${f.executor}: ${describeError(f.error)}`).join('; ')}`,
        { cause: first.error },
      );
    }
    for (const f of failures) warn(`executor ${f.executor}: not started: ${describeError(f.error)}`);
    if (options.services)
      services = await options.services(redisUrl).catch((error: unknown) => {
        say(`dashboard not started: ${describeError(error)}`);
        return undefined;
      });
    await writeStackState({
      pid: process.pid,
      redis_pid: redis?.child.pid ?? 0,
      port: redis?.port ?? 0,
      external_url: redis ? undefined : redisUrl,
      started_at: new Date().toISOString(),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const where = redis
    ? `Redis on 127.0.0.1:${redis.port} (password in ${stackPaths().password})`
    : `using the Redis at ${redactRedisUrl(redisUrl)}`;
  ready = true;
  say(
    `ready: ${where}, workers for ${workers.length} executor(s)${options.background ? '' : ' — Ctrl-C stops everything'}`,
  );
  await new Promise<void>((resolve) => {
    // The first of a stop signal and a Redis that exits unasked stops the stack; Redis exiting
    // because that stop stopped it is no news (exit 0 on Ctrl-C or `down`).
    let stopping = false;
    const stopStack = (line: string, onError: (error: unknown) => void) => {
      if (stopping) return;
      stopping = true;
      say(line);
      void stop().catch(onError).finally(resolve);
    };
    void signalled.then((signal) =>
      stopStack(`${signal}: stopping workers (running tasks keep running) and Redis`, (error) =>
        say(`shutdown: ${error instanceof Error ? error.message : String(error)}`),
      ),
    );
    redis?.child.once('exit', () => {
      if (stopping) return;
      process.exitCode = 1;
      stopStack('redis-server exited unexpectedly; stopping', () => {});
    });
  });
}
