// How long the oldest task of an executor's queue has waited to be taken: the figure an alert on a
// stuck queue (no worker, a wedged one) watches.
import type { RedisClient } from '../redis/connection.js';
import { parseRecordHash } from './record.js';
import { TaskKeys } from './keys.js';

// BullMQ's prioritized score: priority * 2^32 + arrival counter, so each priority is one band,
// its oldest job first. Delayed scores are the due time * 2^12.
const BAND = 2 ** 32;
const DELAY_SHIFT = 0x1000;
/** Bands looked at, at most (priorities run from 1 to 2^21; a deployment uses a handful). */
const MAX_BANDS = 256;

/**
 * The first member of each band of a prioritized set, band after band, in one step: KEYS[1] the
 * set; ARGV[1] the band width, ARGV[2] how many bands at most.
 */
const BAND_HEADS_SOURCE = `
local heads, min = {}, '-inf'
for _ = 1, tonumber(ARGV[2]) do
  local first = redis.call('ZRANGEBYSCORE', KEYS[1], min, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 0 then break end
  heads[#heads + 1] = first[1]
  min = tostring((math.floor(tonumber(first[2]) / ARGV[1]) + 1) * ARGV[1])
end
return heads
`;

/**
 * The age (ms) of the oldest task waiting in `queue` to be taken — in `wait`, in `prioritized`, or
 * due in `delayed` — counted from when it could first run; 0 when none waits. BullMQ forgets a
 * job's delay once it is promoted, so the task's record says the rest: its start time (`--at`,
 * `--delay`), its release from `--after` or its concurrency turn (`ready_at`), its last attempt's
 * end (a retry: its backoff counts as waiting) and a usage-limit wait's end. Three round trips.
 */
export async function readOldestQueuedAge(
  redis: RedisClient,
  prefix: string,
  queue: string,
  now = Date.now(),
): Promise<number> {
  const key = (part: string) => `${prefix}:${queue}:${part}`;
  // New jobs are pushed at the head of `wait`, taken from its tail: the tail is the oldest.
  const first =
    (await redis
      .pipeline()
      .lindex(key('wait'), -1)
      .eval(BAND_HEADS_SOURCE, 1, key('prioritized'), String(BAND), String(MAX_BANDS))
      .zrangebyscore(key('delayed'), 0, now * DELAY_SHIFT, 'WITHSCORES', 'LIMIT', 0, 1)
      .exec()) ?? [];
  const [tail, heads, due] = [0, 1, 2].map((index) => first[index]?.[1]);
  const candidates = [...(typeof tail === 'string' ? [tail] : []), ...((heads as string[] | null) ?? [])];
  let oldest = now;
  // A delayed job now due waits for a worker to move it (none does while no worker runs).
  const [, dueScore] = (due as string[] | null) ?? [];
  if (dueScore !== undefined) oldest = Math.floor(Number(dueScore) / DELAY_SHIFT);
  if (candidates.length > 0) {
    const records = new TaskKeys(prefix);
    const read = redis.pipeline();
    for (const id of candidates) read.hmget(key(id), 'timestamp', 'delay').hgetall(records.record(id));
    const replies = (await read.exec()) ?? [];
    candidates.forEach((_, index) => {
      const [timestamp, delay] = (replies[index * 2]?.[1] ?? []) as (string | null)[];
      const since = Math.max(
        Number(timestamp) + (Number(delay) || 0),
        recordReadyAt(replies[index * 2 + 1]?.[1] as Record<string, string> | null),
      );
      if (Number.isFinite(since) && since > 0) oldest = Math.min(oldest, since);
    });
  }
  return Math.max(0, now - oldest);
}

// The latest moment the record shows the task being let go to run (0: it shows none).
function recordReadyAt(hash: Record<string, string> | null): number {
  const record = hash ? parseRecordHash(hash) : undefined;
  if (record === undefined) return 0;
  const lastEnd = record.attempts.at(-1)?.finished_at;
  return Math.max(
    record.runAt ?? 0,
    record.readyAt ?? 0,
    lastEnd === undefined ? 0 : Date.parse(lastEnd) || 0,
    record.limit?.until ?? 0,
  );
}
