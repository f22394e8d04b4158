// Where many jobs of one BullMQ queue stand (state, place in line), in one script call.
import type { JobState } from 'bullmq';
import type { RedisClient } from './connection.js';
import { LuaScript } from './lua-script.js';

/** Where a job is in its BullMQ queue, and for a waiting one its place in line (1 = next). */
export interface QueueState {
  state: JobState | 'unknown';
  position?: number;
}

/**
 * The states of many jobs of one queue in one call. BullMQ's getJobState is one script call per
 * job, and without its Redis version check it falls back to reading whole lists (LRANGE): with
 * 100,000 tasks waiting a page of `list` took seconds. Here LPOS finds a job in a list, and new
 * jobs sit at the head of `wait` (BullMQ pushes left and takes right), where listings look first;
 * every task has a priority since priorities came (the lowest when none is asked for), so most
 * wait in `prioritized`, found by ZRANK.
 * KEYS: completed, failed, delayed, prioritized, active, wait, paused, waiting-children.
 * ARGV: job ids. Returns (state, position) per id; position 0 when not waiting.
 */
const STATES_SCRIPT = new LuaScript(`
local out, waitLength = {}, nil
for _, id in ipairs(ARGV) do
  local state, position = 'unknown', 0
  if redis.call('ZSCORE', KEYS[1], id) then state = 'completed'
  elseif redis.call('ZSCORE', KEYS[2], id) then state = 'failed'
  elseif redis.call('ZSCORE', KEYS[3], id) then state = 'delayed'
  elseif redis.call('ZSCORE', KEYS[4], id) then
    -- BullMQ takes from wait before prioritized, and prioritized by (priority, arrival).
    waitLength = waitLength or redis.call('LLEN', KEYS[6])
    state, position = 'prioritized', waitLength + redis.call('ZRANK', KEYS[4], id) + 1
  elseif redis.call('LPOS', KEYS[5], id) then state = 'active'
  else
    local index = redis.call('LPOS', KEYS[6], id)
    if index then
      waitLength = waitLength or redis.call('LLEN', KEYS[6])
      state, position = 'waiting', waitLength - index
    elseif redis.call('LPOS', KEYS[7], id) then state = 'waiting'
    elseif redis.call('ZSCORE', KEYS[8], id) then state = 'waiting-children'
    end
  end
  out[#out + 1] = state
  out[#out + 1] = position
end
return out
`);

const QUEUE_KEYS = ['completed', 'failed', 'delayed', 'prioritized', 'active', 'wait', 'paused', 'waiting-children'];

/** The queue states of `ids`, all jobs of queue `queue` under `prefix`. */
export async function readQueueStates(
  redis: RedisClient,
  prefix: string,
  queue: string,
  ids: readonly string[],
): Promise<Map<string, QueueState>> {
  const states = new Map<string, QueueState>();
  if (ids.length === 0) return states;
  const keys = QUEUE_KEYS.map((type) => `${prefix}:${queue}:${type}`);
  const reply = (await STATES_SCRIPT.run(redis, keys, ids)) as (string | number)[];
  ids.forEach((id, i) => {
    const position = Number(reply[2 * i + 1]);
    states.set(id, { state: reply[2 * i] as QueueState['state'], position: position > 0 ? position : undefined });
  });
  return states;
}
