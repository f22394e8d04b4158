// Launch ahead: a local task dispatched in a process that also runs its executor's worker (the
// dashboard and the workers of `openclaw-agent up`) starts in that process right after its record
// and job are written, instead of after the queue's hop to the worker (BullMQ's wake-up,
// `moveToActive`, the record read, the launching mark). The worker then takes the job as usual
// and finds the task started, as it finds one whose worker died after the launch: the spool
// directory is the claim on the start, so the task runs once whoever gets there first.
import type { Redis } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import type { TaskRequest } from './request.js';

/** A slot of a local executor's worker, held for one task from its dispatch to its launch. */
export interface LaunchAheadTicket {
  /** The spool directory of the task's first run. */
  readonly dir: string;
  /** The host the worker runs on: recorded with the directory before anything is launched. */
  readonly hostId: string;
  /**
   * Claims the spool directory and hands the task to a waiting wrapper, once its run is claimed on
   * the record. False when nothing was launched (the workdir is missing, the spec cannot be built,
   * the directory is claimed, the worker is closing): the worker then starts the task, or says why
   * it cannot, as it does for every other task.
   */
  launch(): Promise<boolean>;
  /** Gives the slot back (the task was not launched here). */
  release(): void;
}

/** What a local executor's worker offers the dispatchers of its own process. */
export interface LaunchAheadLane {
  /** A slot for the task, or undefined when the worker is busy or closing. */
  reserve(taskId: string, request: TaskRequest): LaunchAheadTicket | undefined;
}

// One registry per process, shared by every bundle that carries this module (the CLI's, the
// dashboard's side bundle): keyed by Redis server, key prefix and executor name.
const REGISTRY = Symbol.for('openclaw-agent.launch-ahead');

function lanes(): Map<string, LaunchAheadLane> {
  const holder = globalThis as { [REGISTRY]?: Map<string, LaunchAheadLane> };
  return (holder[REGISTRY] ??= new Map());
}

// The server a connection talks to, as its options name it (a cluster: its startup nodes). Not
// `instanceof`: the dashboard's side bundle carries its own copy of ioredis.
function laneKey(redis: RedisClient, prefix: string, executor: string): string {
  let server: unknown;
  if (redis.isCluster) server = (redis as unknown as { startupNodes: unknown }).startupNodes;
  else {
    const { path, host, port, db } = (redis as Redis).options;
    server = [path ?? host, port, db ?? 0];
  }
  return JSON.stringify([server, prefix, executor]);
}

/** Offers a worker's lane to the dispatchers of this process; returns its withdrawal. */
export function offerLaunchAhead(
  redis: RedisClient,
  prefix: string,
  executor: string,
  lane: LaunchAheadLane,
): () => void {
  const key = laneKey(redis, prefix, executor);
  lanes().set(key, lane);
  return () => {
    if (lanes().get(key) === lane) lanes().delete(key);
  };
}

/** The lane of a worker in this process for the executor on the same Redis, if one runs here. */
export function launchAheadLane(redis: RedisClient, prefix: string, executor: string): LaunchAheadLane | undefined {
  const all = lanes();
  return all.size === 0 ? undefined : all.get(laneKey(redis, prefix, executor));
}

/**
 * Whether a task may start in the dispatching process: a shell command due now, with nothing to
 * wait for first (no dependencies, start time, concurrency key or worktree). Claude tasks go
 * through the worker, which holds them at the account's usage limit and follows their session.
 */
export function mayLaunchAhead(request: TaskRequest): boolean {
  return (
    request.payload.type === 'shell_command' &&
    request.after === undefined &&
    request.runAt === undefined &&
    request.concurrencyKey === undefined &&
    request.worktree === undefined
  );
}
