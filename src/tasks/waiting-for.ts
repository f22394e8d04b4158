// What a task that has not started waits for, in a few words for `status`, `list` and the API.
import type { RedisClient } from '../redis/connection.js';
import { formatResetTime } from '../claude/usage-limit.js';
import { readDependencyEnds } from './dependencies.js';
import type { TaskKeys } from './keys.js';
import type { TaskView } from './record.js';
import { describeUnserved, readServedExecutors, startWorkerHint, type ServedState } from './worker-roster.js';

/** The executors among `names` whose queue is paused (BullMQ keeps the flag in the queue's meta). */
export async function readPausedExecutors(
  redis: RedisClient,
  prefix: string,
  names: readonly string[],
): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hexists(`${prefix}:${name}:meta`, 'paused');
  const replies = (await pipeline.exec()) ?? [];
  return new Set(names.filter((_, index) => replies[index]?.[1] === 1));
}

/**
 * Sets `waitingFor` (and `waitingReason`) on the views of tasks that have not started: the tasks a
 * blocked one runs after (those still running), a scheduled one's start, a paused executor, a turn
 * of a concurrency key, an executor no live worker serves, else the tasks ahead of it in the queue.
 * The dependencies of every blocked task are read at once (one round trip each, sent together),
 * and the executors' pause flags and serving keys in one more.
 */
export async function describeWaits(
  ctx: { redis: RedisClient; keys: TaskKeys; namedRedisUrl?: string },
  views: TaskView[],
  now = Date.now(),
): Promise<void> {
  const waiting = views.filter((view) => ['blocked', 'scheduled', 'queued'].includes(view.status));
  if (waiting.length === 0) return;
  const { paused, served } = await readExecutorStates(ctx.redis, ctx.keys, [
    ...new Set(waiting.map((view) => view.record.executor)),
  ]);
  const blocked = waiting.filter((view) => view.status === 'blocked');
  const ends = await Promise.all(
    blocked.map((view) => readDependencyEnds(ctx.redis, ctx.keys, view.record.after ?? [])),
  );
  for (const view of waiting) {
    const r = view.record;
    const state = served.get(r.executor);
    if (view.status === 'blocked') {
      const pending = ends[blocked.indexOf(view)]!.filter((end) => end.outcome === undefined);
      const names = pending.map((end) => `task ${end.id.slice(0, 8)}${end.name !== undefined ? ` (${end.name})` : ''}`);
      view.waitingFor = `${names.join(', ') || 'the tasks it runs after'} to ${r.afterAny ? 'end' : 'complete'}`;
      view.waitingReason = 'dependency';
    } else if (view.status === 'scheduled' && r.runAt !== undefined) {
      view.waitingFor = `its start time, ${formatResetTime(r.runAt, now)}`;
      view.waitingReason = 'start_time';
    } else if (paused.has(r.executor)) {
      view.waitingFor = `executor "${r.executor}" to be resumed (paused)`;
      view.waitingReason = 'paused';
    } else if (r.concurrency?.waiting) {
      view.waitingFor = `a turn of concurrency key "${r.concurrency.key}"`;
      view.waitingReason = 'concurrency';
    } else if (view.status === 'queued' && state !== undefined && !state.alive) {
      view.waitingFor = `a worker: ${describeUnserved(r.executor, state.lastServedAt, now)}; ${startWorkerHint(r.executor, ctx.namedRedisUrl)}`;
      view.waitingReason = 'no_worker';
    } else if (view.status === 'queued' && view.queuePosition !== undefined) {
      view.waitingReason = 'queue';
    }
  }
}

/** The paused executors among `names`, and whether a live worker serves each: sent together. */
async function readExecutorStates(
  redis: RedisClient,
  keys: TaskKeys,
  names: readonly string[],
): Promise<{ paused: Set<string>; served: Map<string, ServedState> }> {
  const [paused, served] = await Promise.all([
    readPausedExecutors(redis, keys.prefix, names),
    readServedExecutors(redis, keys, names),
  ]);
  return { paused, served };
}
