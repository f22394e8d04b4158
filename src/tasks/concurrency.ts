// Concurrency keys: at most `limit` tasks of a key run at once, across every executor. A worker
// takes a turn before it starts a run; a task without one waits in line (its job delayed) and is
// promoted when a turn frees.
import type { RedisClient } from '../redis/connection.js';
import { LuaScript } from '../redis/lua-script.js';
import type { TaskKeys } from './keys.js';
import type { TaskRecord } from './record.js';

/** How long a task waiting for a turn sleeps before it looks again, should its promotion be missed. */
export const TURN_RECHECK_MS = 30_000;
/** Subtracted from a `cancel-running` task's place in line: it goes before every task waiting. */
const FIRST_IN_LINE = 2 ** 42;

/**
 * A waiter that has not looked for a turn in this long no longer holds the line: its executor was
 * paused, or lost its workers, after it joined. It looks again every TURN_RECHECK_MS while a
 * worker serves it, and takes its place back when it does.
 */
export const WAITER_LEASE_MS = (5 * TURN_RECHECK_MS) / 2;

// Redis's clock in ms, one clock for every host's workers.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Whether waiter w still holds the line: it looked within the lease (one that never said counts).
const LOOKS_ON = `local function looks_on(w)
  local at = tonumber(redis.call('HGET', KEYS[3], w))
  return at == nil or now - at <= tonumber(ARGV[4])
end`;

/**
 * Takes a turn of a key, or joins its line. A holder keeps its turn (a re-attach, a retry). A
 * task gets one when the holders and the tasks ahead of it in line that still look leave a turn
 * free. KEYS: holders, waiters, looks; ARGV: id, limit, place in line, lease. Returns {1} or
 * {0, holders…}.
 */
const TAKE_TURN = new LuaScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1} end
${NOW_MS}
${LOOKS_ON}
local ahead = 0
for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])) do
  if looks_on(w) then ahead = ahead + 1 end
end
if redis.call('SCARD', KEYS[1]) + ahead < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return {1}
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now)
local out = {0}
for _, holder in ipairs(redis.call('SMEMBERS', KEYS[1])) do out[#out + 1] = holder end
return out
`);

/**
 * Gives back a task's turn (or its place in line) when it ends, and forgets the key once no task
 * of it is left. KEYS: holders, waiters, looks, tasks, key index; ARGV: id, limit, key, lease.
 * Returns the waiters to promote: those first in line that still look, one per free turn, and
 * any that stopped looking before them.
 */
const GIVE_BACK_TURN = new LuaScript(`
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('ZCARD', KEYS[4]) == 0 and redis.call('SCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[5], ARGV[3])
  redis.call('DEL', KEYS[3])
end
local free = tonumber(ARGV[2]) - redis.call('SCARD', KEYS[1])
if free <= 0 then return {} end
${NOW_MS}
${LOOKS_ON}
local out = {}
for _, w in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  out[#out + 1] = w
  if looks_on(w) then
    free = free - 1
    if free == 0 then break end
  end
end
return out
`);

/**
 * Puts a task in line without taking a turn: a `cancel-running` one when enqueued, so that no
 * waiter takes the turns it frees before a worker takes it. Not a task that holds a turn or has
 * ended (gone from the key's tasks). KEYS: holders, waiters, looks, tasks; ARGV: id, place in line.
 */
const JOIN_LINE = new LuaScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 or not redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
${NOW_MS}
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now)
return 1
`);

/** A task's place in line: by creation, and a `cancel-running` one before all. */
export function placeInLine(record: Pick<TaskRecord, 'createdAt'>, first: boolean): number {
  return first ? record.createdAt - FIRST_IN_LINE : record.createdAt;
}

/** Takes a turn of `key` for task `id`; when none is free, the tasks holding the turns. */
export async function takeTurn(
  redis: RedisClient,
  keys: TaskKeys,
  id: string,
  concurrency: { key: string; limit: number },
  place: number,
): Promise<{ taken: true } | { taken: false; holders: string[] }> {
  const reply = (await TAKE_TURN.run(
    redis,
    [
      keys.concurrencyHolders(concurrency.key),
      keys.concurrencyWaiters(concurrency.key),
      keys.concurrencyLooks(concurrency.key),
    ],
    [id, String(concurrency.limit), String(place), String(WAITER_LEASE_MS)],
  )) as [number, ...string[]];
  return reply[0] === 1 ? { taken: true } : { taken: false, holders: reply.slice(1) as string[] };
}

/**
 * Puts task `id` in the line of `key` at `place`, looking from now: it holds its place for
 * WAITER_LEASE_MS, and for as long as a worker that took it keeps looking.
 */
export async function joinLine(redis: RedisClient, keys: TaskKeys, id: string, key: string, place: number) {
  await JOIN_LINE.run(
    redis,
    [
      keys.concurrencyHolders(key),
      keys.concurrencyWaiters(key),
      keys.concurrencyLooks(key),
      keys.concurrencyTasks(key),
    ],
    [id, String(place)],
  );
}

/** Gives back the turn of an ended task; returns the ids of the waiters to promote. */
export async function giveBackTurn(
  redis: RedisClient,
  keys: TaskKeys,
  id: string,
  concurrency: { key: string; limit: number },
): Promise<string[]> {
  const { key } = concurrency;
  return (await GIVE_BACK_TURN.run(
    redis,
    [
      keys.concurrencyHolders(key),
      keys.concurrencyWaiters(key),
      keys.concurrencyLooks(key),
      keys.concurrencyTasks(key),
      keys.concurrencyKeys(),
    ],
    [id, String(concurrency.limit), key, String(WAITER_LEASE_MS)],
  )) as string[];
}

/** Every task of a key that has not ended is listed, for `replace-queued` and the sweep. */
export function registerKeyedTask(redis: RedisClient, keys: TaskKeys, id: string, createdAt: number, key: string) {
  return redis.multi().zadd(keys.concurrencyTasks(key), createdAt, id).sadd(keys.concurrencyKeys(), key).exec();
}
