import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, TaskClient } from '../../src/index.js';
import { releaseBlocked } from '../../src/tasks/dependencies.js';
import { TaskKeys } from '../../src/tasks/keys.js';
import { readOldestQueuedAge } from '../../src/tasks/oldest-queued.js';
import { deleteKeys } from '../helpers/harness.js';

// The age /metrics reports for a stuck queue, read from real BullMQ queues that no worker serves
// (so nothing moves): computed at a given `now`, against the jobs' own add times and delays.

describe('readOldestQueuedAge', () => {
  const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
  const config = {
    ...parseConfigText(
      `executors:\n  - {name: mixed, type: local}\n  - {name: later, type: local}\n  - {name: empty, type: local}\n  - {name: first, type: local}\n  - {name: then, type: local}\nredis:\n  prefix: ${prefix}\n`,
      'test',
    ),
    sourcePath: undefined,
  };
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let client: TaskClient;
  const payload = { type: 'shell_command' as const, command: 'true', args: [], env: {} };
  // When a job could first run: its add time plus its delay, as BullMQ kept them.
  const readyAt = async (queue: string, id: string) => {
    const [timestamp, delay] = await redis.hmget(`${prefix}:${queue}:${id}`, 'timestamp', 'delay');
    return Number(timestamp) + (Number(delay) || 0);
  };

  beforeAll(async () => {
    client = await TaskClient.connect(config);
  });
  afterAll(async () => {
    await client.close();
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('is 0 for a queue with nothing waiting', async () => {
    expect(await readOldestQueuedAge(redis, prefix, 'empty')).toBe(0);
  });

  it('finds the oldest across priority bands, not the first in line', async () => {
    const old = await client.enqueue({ executor: 'mixed', payload });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const urgent = await client.enqueue({ executor: 'mixed', payload, priority: 1 });
    const oldAt = await readyAt('mixed', old.id);
    expect(oldAt).toBeLessThan(await readyAt('mixed', urgent.id));
    const now = oldAt + 60_000;
    expect(await readOldestQueuedAge(redis, prefix, 'mixed', now)).toBe(60_000);
  });

  it('counts a delayed task from when it became due, and not before', async () => {
    const { id } = await client.enqueue({ executor: 'later', payload, delayMs: 5_000 });
    const due = await readyAt('later', id);
    expect(await readOldestQueuedAge(redis, prefix, 'later', due - 1)).toBe(0);
    expect(await readOldestQueuedAge(redis, prefix, 'later', due + 2_500)).toBe(2_500);
  });

  it('counts a task released from --after from its release, not from its creation', async () => {
    const first = await client.enqueue({ executor: 'first', payload });
    const then = await client.enqueue({ executor: 'then', payload, after: [first.id] });
    const blocked = await client.get(then.id);
    expect(blocked.status).toBe('blocked');
    // BullMQ keeps the add time and, once promoted, a delay of 0: the job alone would say "since creation".
    const releasedAt = blocked.record.createdAt + 3_600_000;
    await releaseBlocked(redis, new TaskKeys(prefix), blocked.record, releasedAt);
    expect((await client.get(then.id)).status).toBe('queued');
    expect(await readyAt('then', then.id)).toBeLessThan(releasedAt - 3_500_000);
    expect(await readOldestQueuedAge(redis, prefix, 'then', releasedAt + 5_000)).toBe(5_000);
  });
});
