// Forgetting ended tasks: index entries of expired records are swept under a deployment-wide lock.
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from './keys.js';
import { dropSearchEntriesBefore, splitScores } from './search.js';

/** How often a worker offers to sweep, and how long one sweep holds the deployment's sweep lock. */
export const INDEX_SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Removes index entries of tasks whose records have expired. Records and logs expire by
 * themselves `retention` after their task ended; the indexes that list and search them (created
 * time, ids, words) are sorted sets, which only this trims. A task created more than `retention`
 * ago is a candidate; it goes if its record is gone. One sweep per deployment at a time (a lock
 * key); returns how many tasks left the indexes.
 */
export async function sweepExpiredIndexEntries(
  redis: RedisClient,
  keys: TaskKeys,
  retentionMs: number,
  now = Date.now(),
): Promise<number> {
  const lock = `${keys.prefix}:_index:sweep-lock`;
  if ((await redis.set(lock, String(now), 'PX', INDEX_SWEEP_EVERY_MS, 'NX')) === null) return 0;
  const cutoff = now - retentionMs;
  const survivors = { ids: [] as string[], createdAt: [] as number[] };
  let removed = 0;
  for (let offset = 0; ;) {
    const page = await redis.zrangebyscore(keys.byCreated(), '-inf', `(${cutoff}`, 'WITHSCORES', 'LIMIT', offset, 1000);
    const { ids, scores } = splitScores(page);
    if (ids.length === 0) break;
    const gone = new Set(await forgetExpiredTasks(redis, keys, ids));
    ids.forEach((id, i) => {
      if (gone.has(id)) return;
      survivors.ids.push(id);
      survivors.createdAt.push(scores[i]!);
    });
    removed += gone.size;
    // The survivors stay in the set: the next page starts after them.
    offset += ids.length - gone.size;
    if (ids.length < 1000) break;
  }
  if (removed > 0) await dropSearchEntriesBefore(redis, keys, cutoff, survivors);
  return removed;
}

/**
 * Takes the ids whose records have expired out of the list indexes (created time and ids); an
 * id whose record exists, readable or not, stays. Returns the ids taken out.
 */
export async function forgetExpiredTasks(
  redis: RedisClient,
  keys: TaskKeys,
  ids: readonly string[],
): Promise<string[]> {
  const exists = await Promise.all(ids.map((id) => redis.exists(keys.record(id))));
  const gone = ids.filter((_, i) => exists[i] === 0);
  if (gone.length > 0)
    await redis
      .multi()
      .zrem(keys.byCreated(), ...gone)
      .zrem(keys.ids(), ...gone)
      .exec();
  return gone;
}
