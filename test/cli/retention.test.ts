import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredIndexEntries, TaskKeys } from '../../src/index.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sweepEndedSpools } from '../../src/executors/local/spool-retention.js';
import { searchTasks } from '../../src/tasks/search.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';

describe('retention: ended tasks leave Redis — records, logs, jobs and index entries', () => {
  const h: Harness = createHarness({ extraConfig: 'retention: 5s\n' });
  const keys = new TaskKeys(h.prefix);

  beforeAll(async () => {
    await h.startWorker();
  });
  afterAll(() => h.cleanup());

  const run = async (...args: string[]) => {
    const r = await h.cli(['run', ...args]);
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  };

  it('trims records, logs and jobs after `retention`, and the sweep trims list and search indexes, keeping live tasks', async () => {
    const redis = h.redis();
    // Still running when the others have expired: created as long ago, but its record lives. It
    // runs until killed at the end, however long the steps between take on a loaded machine.
    const survivor = await run('--name', 'survivor', '--', 'sleep', '600');
    const old = [
      await run('--name', 'ephemeral', '--', 'echo', 'one'),
      await run('--name', 'ephemeral', '--', 'echo', 'two'),
    ];
    expect(await h.cli(['wait', ...old])).toMatchObject({ exitCode: 0 });
    expect(await redis.exists(keys.record(old[0]!), keys.log(old[0]!))).toBe(2);

    await eventually(
      async () =>
        (await redis.exists(...old.flatMap((id) => [keys.record(id), keys.log(id)]))) === 0 ? true : undefined,
      'records and logs to expire',
      20_000,
    );
    // BullMQ removes ended jobs past their age when later jobs end.
    const fresh = await run('--name', 'fresh', '--', 'true');
    expect(await h.cli(['wait', fresh])).toMatchObject({ exitCode: 0 });
    await eventually(
      async () => ((await redis.exists(...old.map((id) => `${h.prefix}:local:${id}`))) === 0 ? true : undefined),
      'old jobs to be removed',
      20_000,
    );
    // Until swept, the indexes still name the expired tasks.
    expect(await redis.zscore(keys.byCreated(), old[0]!)).not.toBeNull();
    expect(await redis.zcard(`${h.prefix}:_search:w:ephemeral`)).toBe(2);

    await redis.del(`${h.prefix}:_index:sweep-lock`);
    expect(await sweepExpiredIndexEntries(redis, keys, 2000)).toBe(2);
    for (const id of old) {
      expect(await redis.zscore(keys.byCreated(), id)).toBeNull();
      expect(await redis.zscore(keys.ids(), id)).toBeNull();
    }
    expect(await redis.exists(`${h.prefix}:_search:w:ephemeral`)).toBe(0);
    expect(await redis.zscore(`${h.prefix}:_search:words`, 'ephemeral')).toBeNull();
    // The running task and the fresh one are still listed and found.
    const client = await h.client();
    expect((await client.list()).map((view) => view.record.id).sort()).toEqual([survivor, fresh].sort());
    expect((await searchTasks(client, { q: 'survivor' })).views.map((view) => view.record.id)).toEqual([survivor]);
    expect((await searchTasks(client, { q: 'fresh' })).views.map((view) => view.record.id)).toEqual([fresh]);
    // The spool directories on the worker's host go the same way; the running task's stays.
    const spool = path.join(h.home, 'tasks');
    expect(old.every((id) => existsSync(path.join(spool, id)))).toBe(true);
    expect(await sweepEndedSpools(spool, 2000)).toBeGreaterThanOrEqual(2);
    expect(old.some((id) => existsSync(path.join(spool, id)))).toBe(false);
    expect(existsSync(path.join(spool, survivor))).toBe(true);
    expect((await h.cli(['kill', survivor, '--grace', '1s'])).exitCode).toBe(0);
  });

  it('keeps a task’s request on its record, so that `retry` works after BullMQ dropped the job', async () => {
    const id = await run('--name', 'again', '--', 'echo', 'again');
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const redis = h.redis();
    await redis.del(`${h.prefix}:local:${id}`);
    const retried = await h.cli(['retry', id]);
    expect(retried.exitCode).toBe(0);
    const newId = retried.stdout
      .trim()
      .split(/\s+/)
      .find((word) => /^[0-9a-f-]{36}$/.test(word));
    expect(newId).toBeDefined();
    expect(await h.cli(['wait', newId!])).toMatchObject({ exitCode: 0 });
    expect((await h.logText(newId!)).stdout).toBe('again\n');
  });
});
