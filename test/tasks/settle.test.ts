import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { finishTask, parseConfigText, sweepWaitingTasks, TaskClient } from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';

// The sweep that settles what a dead process left unsettled, against real Redis (no workers).

describe('pipeline sweep', () => {
  const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
  const config = {
    ...parseConfigText(`executors:\n  - name: local\n    type: local\nredis:\n  prefix: ${prefix}\n`, 'test'),
    sourcePath: undefined,
  };
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('a blocked task whose release fails is told in one line, and the tasks after it are still released', async () => {
    const client = await TaskClient.connect(config);
    try {
      const command = { type: 'shell_command' as const, command: 'true', args: [], env: {} };
      const { id: first } = await client.enqueue({ executor: 'local', payload: command });
      const blocked = [];
      for (let i = 0; i < 2; i++) {
        blocked.push((await client.enqueue({ executor: 'local', payload: command, after: [first] })).id);
      }
      // The first one the sweep reads has a job BullMQ can no longer read: its release throws.
      const order = await client.redis.zrange(client.keys.blocked(), 0, -1);
      expect([...order].sort()).toEqual([...blocked].sort());
      const [broken, healthy] = order as [string, string];
      await client.redis.hset(`${prefix}:local:${broken}`, 'data', '{not json');
      // The dependency's end is written as a worker that died before settling would leave it.
      const end = { outcome: 'completed' as const, exitCode: 0, signal: null, finishedAt: Date.now() };
      expect(
        (await finishTask(client.redis, client.keys, first, end, { retentionMs: 60_000, maxLogEntries: 100 })).ended,
      ).toBe(true);

      const lines: string[] = [];
      await sweepWaitingTasks(client, (line) => lines.push(line));

      expect(await client.redis.hget(client.keys.record(healthy), 'blocked')).toBeNull();
      expect(await client.queue('local').getJobState(healthy)).not.toBe('delayed');
      expect(await client.redis.zrange(client.keys.blocked(), 0, -1)).toEqual([broken]);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^pipeline sweep: blocked task ${broken}: .+`));
      expect(lines[0]).not.toContain('\n');
    } finally {
      await client.close();
    }
  });
});
