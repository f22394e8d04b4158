import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildClaudePayload, finishTask, parseConfigText, retryTask, TaskClient } from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';

describe('task views', () => {
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

  it('show the exit code of a task that ended between reading its record and its job', async () => {
    const client = await TaskClient.connect(config);
    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
    });
    // The job is done in BullMQ; the record's end lands right after the view has read the record
    // (finishTask writes it before a worker finishes the job, so this is the one order that races).
    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker('local', async () => ({}), { connection, prefix });
    await new Promise((resolve) => worker.once('completed', resolve));
    await worker.close();
    connection.disconnect();
    const pipeline = client.redis.pipeline.bind(client.redis);
    let raced = false;
    client.redis.pipeline = (...args: Parameters<typeof pipeline>) => {
      const batch = pipeline(...args);
      if (raced) return batch;
      raced = true;
      const exec = batch.exec.bind(batch);
      batch.exec = async () => {
        const replies = await exec();
        await finishTask(
          redis,
          client.keys,
          id,
          { outcome: 'completed', exitCode: 0, signal: null, finishedAt: Date.now() },
          { retentionMs: 60_000, maxLogEntries: 100 },
        );
        return replies;
      };
      return batch;
    };
    try {
      const view = await client.get(id);
      expect(raced).toBe(true);
      expect(view.status).toBe('completed');
      expect(view.record.exitCode).toBe(0);
    } finally {
      await client.close();
    }
  });
  it('retry runs a Claude task again with its usage-limit settings', async () => {
    const client = await TaskClient.connect(config);
    try {
      const payload = buildClaudePayload({ prompt: 'fix the build', workspace: '/srv/app' });
      const { id } = await client.enqueue({ executor: 'local', payload, onLimit: 'wait', limitWaits: 5 });
      const retried = await retryTask(client, id);
      const request = await client.request(await client.get(retried.id));
      expect(request).toMatchObject({ payload: { prompt: 'fix the build' }, onLimit: 'wait', limitWaits: 5 });
    } finally {
      await client.close();
    }
  });
});
