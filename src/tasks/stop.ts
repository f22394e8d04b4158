// Stop requests (kill, timeout): recorded on the task, announced by pub/sub, obeyed by its worker.
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from './keys.js';
import type { TaskRecord } from './record.js';

export type StopKind = 'killed' | 'timed_out';

/** Why and how a running task is to be stopped: SIGTERM to its process group, `graceMs`, SIGKILL. */
export interface StopRequest {
  kind: StopKind;
  graceMs: number;
  reason: string;
}

/** @default 10 s between SIGTERM and SIGKILL */
export const DEFAULT_GRACE_MS = 10_000;

/**
 * Records a kill request durably on the task record (the first request wins) and nudges the
 * workers over pub/sub. The worker that follows the task acts on the nudge at once; a worker
 * that re-attaches later finds the request on the record.
 */
export async function requestStop(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  request: StopRequest,
): Promise<void> {
  const key = keys.record(taskId);
  await redis
    .multi()
    .hsetnx(key, 'stop_kind', request.kind)
    .hsetnx(key, 'stop_grace_ms', String(request.graceMs))
    .hsetnx(key, 'stop_reason', request.reason)
    .hsetnx(key, 'stop_requested_at', String(Date.now()))
    .publish(keys.stopChannel(), taskId)
    .exec();
}

/** The stop request of a record already read (HGETALL carries the same fields). */
export function stopRequestOf(record: TaskRecord): StopRequest | undefined {
  const stop = record.stop;
  return stop ? { kind: stop.kind, graceMs: stop.graceMs ?? DEFAULT_GRACE_MS, reason: stop.reason } : undefined;
}

/** The stop request stored on a record hash, if any. */
export async function readStopRequest(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
): Promise<StopRequest | undefined> {
  return (await readStopOrEnd(redis, keys, taskId)).request;
}

/** The stop request on a record hash, and its outcome if the task has ended: one round trip. */
export async function readStopOrEnd(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
): Promise<{ request?: StopRequest; outcome?: string }> {
  return stopOrEndOf(await redis.hmget(keys.record(taskId), ...STOP_OR_END_FIELDS));
}

/** The record fields `stopOrEndOf` reads, in its order. */
export const STOP_OR_END_FIELDS = ['stop_kind', 'stop_grace_ms', 'stop_reason', 'outcome'] as const;

/** The stop request and outcome in the values of STOP_OR_END_FIELDS (as HMGET returns them). */
export function stopOrEndOf(values: readonly (string | null | undefined)[]): {
  request?: StopRequest;
  outcome?: string;
} {
  const [kind, grace, reason, outcome] = values;
  const graceMs = Number(grace);
  const request: StopRequest | undefined =
    kind === 'killed' || kind === 'timed_out'
      ? { kind, graceMs: Number.isFinite(graceMs) && graceMs >= 0 ? graceMs : DEFAULT_GRACE_MS, reason: reason ?? kind }
      : undefined;
  return { request, outcome: outcome ?? undefined };
}

/** The switch an executor watches while it follows a task; it trips once. */
export class StopSwitch {
  private current: StopRequest | undefined;
  private readonly listeners = new Set<(request: StopRequest) => void>();

  get request(): StopRequest | undefined {
    return this.current;
  }

  trip(request: StopRequest): void {
    if (this.current) return;
    this.current = request;
    for (const listener of this.listeners) listener(request);
  }

  /** Calls `listener` when the switch trips (at once if it already has). Returns an unsubscribe. */
  onTrip(listener: (request: StopRequest) => void): () => void {
    if (this.current) listener(this.current);
    else this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
