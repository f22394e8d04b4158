// One BullMQ Queue object per executor and connection, for every step that moves jobs between states.
import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';

const opened = new WeakMap<RedisClient, Map<string, Queue>>();

/**
 * The Queue of executor `name` on `redis` (made once per connection). It shares the connection,
 * checks no Redis version and keeps no queue meta: the workers do both.
 */
export function queueOf(redis: RedisClient, prefix: string, name: string): Queue {
  let queues = opened.get(redis);
  if (!queues) {
    queues = new Map();
    opened.set(redis, queues);
  }
  const key = `${prefix}\n${name}`;
  let queue = queues.get(key);
  if (!queue) {
    queue = new Queue(name, { connection: redis, prefix, skipVersionCheck: true, skipMetasUpdate: true });
    // It re-emits its connection's errors: those are the connection owner's to say (a command's
    // failed call, a process's outage reporter). Unheard, BullMQ would print each with its stack.
    queue.on('error', () => {});
    queues.set(key, queue);
  }
  return queue;
}

/** Closes the Queue objects made on `redis` (the connection itself stays open). */
export async function closeQueuesOf(redis: RedisClient): Promise<void> {
  const queues = opened.get(redis);
  opened.delete(redis);
  await Promise.all([...(queues?.values() ?? [])].map((queue) => queue.close()));
}
