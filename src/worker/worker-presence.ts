// A worker process announces itself: a presence key with a short TTL (executor, host, pid,
// version, slots, running count), refreshed on an interval, never on the way of a task being taken.
// A killed worker's key lapses within the TTL; a closed one deletes it at once.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from '../tasks/keys.js';
import { packageVersion } from '../config/package-version.js';
import type { WorkerPresence } from '../tasks/worker-roster.js';
import { LuaScript } from '../redis/lua-script.js';

// How long a closing worker waits to remove its presence before it leaves the key to lapse.
const WITHDRAW_WAIT_MS = 2000;

/** What a worker tells about itself. */
export interface WorkerPresenceOptions {
  executor: string;
  hostId: string;
  concurrency: number;
  /** The tasks it runs now, read at each beat. */
  running: () => number;
  /** How long a beat keeps the worker listed; it beats every third of it. */
  ttlMs: number;
}

/** The running announcement: its id, and the stop that removes it. */
export interface WorkerPresenceBeat {
  readonly id: string;
  /** Settles once the first beat is written (or failed: the next one comes anyway). */
  readonly announced: Promise<void>;
  /** Stops beating and removes the worker from its executor's list at once. */
  stop(): Promise<void>;
}

/**
 * Announces this worker now, every third of `ttlMs`, and the moment the connection is back
 * after an outage. Each beat also refreshes the executor's short-lived "serving" key and its kept
 * "last served" time, in the same round trip.
 */
export function startWorkerPresence(
  redis: RedisClient,
  keys: TaskKeys,
  options: WorkerPresenceOptions,
): WorkerPresenceBeat {
  const id = randomBytes(6).toString('hex');
  const startedAt = Date.now();
  const { executor, ttlMs } = options;
  const presence = (now: number): WorkerPresence => ({
    id,
    executor,
    host: options.hostId,
    pid: process.pid,
    version: packageVersion(),
    startedAt,
    concurrency: options.concurrency,
    running: options.running(),
    lastSeenAt: now,
  });
  const beat = () => {
    const now = Date.now();
    return redis
      .pipeline()
      .set(keys.workerPresence(id), JSON.stringify(presence(now)), 'PX', ttlMs)
      .sadd(keys.executorWorkers(executor), id)
      .set(keys.executorServing(executor), String(now), 'PX', ttlMs)
      .set(keys.executorServed(executor), String(now))
      .exec()
      .then(
        () => undefined,
        () => undefined,
      );
  };
  const announced = beat();
  const again = () => void beat();
  const timer = setInterval(again, Math.max(50, Math.floor(ttlMs / 3)));
  timer.unref();
  redis.on('ready', again);
  return {
    id,
    announced,
    stop: async () => {
      clearInterval(timer);
      redis.off('ready', again);
      // Redis may be out of reach: the key then lapses by itself, and closing does not wait on it.
      let wait: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (wait = setTimeout(resolve, WITHDRAW_WAIT_MS)));
      await Promise.race([withdraw(redis, keys, executor, id).catch(() => undefined), late]);
      clearTimeout(wait);
    },
  };
}

/**
 * Removes a worker in one step, so that no other worker's beat lands between the look at who is
 * left and the removal of the executor's "serving" key: KEYS the worker's presence key, the
 * executor's worker set, its served and serving keys; ARGV the worker id, now, and the prefix of
 * presence keys (the members' keys share the deployment's slot). Members whose key lapsed (killed
 * workers) go on the way, so the set does not grow with workers that never said goodbye.
 */
const WITHDRAW = new LuaScript(`
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
local alive = 0
for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[3] .. other) == 1 then alive = 1 else redis.call('SREM', KEYS[2], other) end
end
if alive == 0 then redis.call('DEL', KEYS[4]) end
return alive
`);

// Removes the worker; the executor's "serving" key goes too when no other worker of it is alive.
async function withdraw(redis: RedisClient, keys: TaskKeys, executor: string, id: string): Promise<void> {
  await WITHDRAW.run(
    redis,
    [
      keys.workerPresence(id),
      keys.executorWorkers(executor),
      keys.executorServed(executor),
      keys.executorServing(executor),
    ],
    [id, String(Date.now()), keys.workerPresence('')],
  );
}
