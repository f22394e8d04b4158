// What a new task with a concurrency key does to the other tasks of its key (`--on-conflict`).
import type { TaskContext } from './cancel.js';
import { parseRecordHash } from './record.js';
import type { TaskRequest } from './request.js';
import { endWaitingTask } from './settle.js';
import { isRunUnderWay } from './status.js';
import { DEFAULT_GRACE_MS, requestStop } from './stop.js';

/** The tasks a new task stopped (`cancel-running`) or cancelled (`replace-queued`). */
export interface ConflictOutcome {
  stopped: string[];
  cancelled: string[];
}

/**
 * Whether a task waits before it may start (`--after`, or a `--delay`/`--at` start time ahead):
 * its `cancel-running` then applies once, when it is about to start, not when it is enqueued.
 */
export function waitsToStart(request: Pick<TaskRequest, 'after' | 'runAt' | 'createdAt'>): boolean {
  return request.after !== undefined || (request.runAt ?? 0) > request.createdAt;
}

/**
 * `cancel-running`: the tasks holding the key's turns are killed (SIGTERM, the grace period,
 * SIGKILL; one waiting between runs ends at once), and the new task goes first in line — applied
 * once: when the task is enqueued, or for one that waits to start (see waitsToStart), when it is
 * about to start. `replace-queued`: the key's tasks that have not started are cancelled; running
 * ones finish. `queue`: nothing.
 */
export async function applyConflictPolicy(
  ctx: TaskContext,
  id: string,
  request: Pick<TaskRequest, 'concurrencyKey' | 'onConflict' | 'createdAt'>,
): Promise<ConflictOutcome> {
  const outcome: ConflictOutcome = { stopped: [], cancelled: [] };
  const key = request.concurrencyKey;
  if (key === undefined || request.onConflict === undefined || request.onConflict === 'queue') return outcome;
  const reason = `${request.onConflict === 'cancel-running' ? 'stopped' : 'replaced'} by task ${id} (concurrency key "${key}", --on-conflict ${request.onConflict})`;
  const holders = new Set(await ctx.redis.smembers(ctx.keys.concurrencyHolders(key)));
  if (request.onConflict === 'cancel-running') {
    for (const holder of holders) {
      if (holder === id) continue;
      const record = parseRecordHash(await ctx.redis.hgetall(ctx.keys.record(holder)));
      if (!record || record.outcome !== undefined) continue;
      // A holder between runs (a retry's backoff, a usage-limit wait) ends now, not at its next run.
      if (!isRunUnderWay(record) && (await endWaitingTask(ctx, record, reason)) === 'ended') {
        outcome.stopped.push(holder);
        continue;
      }
      await requestStop(ctx.redis, ctx.keys, holder, { kind: 'killed', graceMs: DEFAULT_GRACE_MS, reason });
      outcome.stopped.push(holder);
    }
    return outcome;
  }
  // Only the tasks made before this one: two replace-queued tasks never cancel each other.
  const older = await ctx.redis.zrangebyscore(ctx.keys.concurrencyTasks(key), '-inf', `(${request.createdAt}`);
  for (const other of older) {
    if (other === id || holders.has(other)) continue;
    const record = parseRecordHash(await ctx.redis.hgetall(ctx.keys.record(other)));
    if (!record || record.outcome !== undefined || isRunUnderWay(record)) continue;
    if ((await endWaitingTask(ctx, record, reason)) === 'ended') outcome.cancelled.push(other);
  }
  return outcome;
}
