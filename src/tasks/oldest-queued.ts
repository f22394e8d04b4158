// How long the oldest task of an executor's queue has waited to be taken: the figure an alert on a
// stuck queue (no worker, a wedged one) watches.
import type { RedisClient } from '../redis/connection.js';

// BullMQ's prioritized score: priority * 2^32 + arrival counter, so each priority is one band,
// its oldest job first. Delayed scores are the due time * 2^12.
const BAND = 2 ** 32;
const DELAY_SHIFT = 0x1000;

/**
 * The age (ms) of the oldest job waiting in `queue` to be taken — in `wait`, in `prioritized`, or
 * due in `delayed` — counted from when it could first run (its add time plus its delay); 0 when
 * none waits. A few round trips: one per priority in use, not one per job.
 */
export async function readOldestQueuedAge(
  redis: RedisClient,
  prefix: string,
  queue: string,
  now = Date.now(),
): Promise<number> {
  const key = (part: string) => `${prefix}:${queue}:${part}`;
  const candidates: string[] = [];
  // New jobs are pushed at the head of `wait`, taken from its tail: the tail is the oldest.
  const tail = await redis.lindex(key('wait'), -1);
  if (tail !== null) candidates.push(tail);
  // The first job of each priority band, band after band.
  for (let min = '-inf'; ;) {
    const [id, score] = await redis.zrangebyscore(key('prioritized'), min, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    if (id === undefined || score === undefined) break;
    candidates.push(id);
    min = String((Math.floor(Number(score) / BAND) + 1) * BAND);
  }
  let oldest = now;
  // A delayed job now due waits for a worker to move it (none does while no worker runs).
  const [due, dueScore] = await redis.zrangebyscore(key('delayed'), 0, now * DELAY_SHIFT, 'WITHSCORES', 'LIMIT', 0, 1);
  if (due !== undefined && dueScore !== undefined) oldest = Math.floor(Number(dueScore) / DELAY_SHIFT);
  if (candidates.length > 0) {
    const pipeline = redis.pipeline();
    for (const id of candidates) pipeline.hmget(key(id), 'timestamp', 'delay');
    for (const [, fields] of (await pipeline.exec()) ?? []) {
      const [timestamp, delay] = (fields ?? []) as (string | null)[];
      const since = Number(timestamp) + (Number(delay) || 0);
      if (Number.isFinite(since) && since > 0) oldest = Math.min(oldest, since);
    }
  }
  return Math.max(0, now - oldest);
}
