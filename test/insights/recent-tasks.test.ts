import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskClient } from '../../src/index.js';
import { readRecentTasks } from '../../src/insights/recent-tasks.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// No worker: the tasks stay queued, which is all that reading them needs.
describe('readRecentTasks: a time window of tasks, newest first, under a cap', () => {
  let h: Harness;
  let client: TaskClient;
  const ids: string[] = [];
  /** The ids as the index orders them newest first: by creation time, ties by id, both descending. */
  let newest: string[] = [];

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
    for (let i = 0; i < 7; i++)
      ids.push(
        (
          await client.enqueue({
            executor: 'local',
            payload: { type: 'shell_command', command: `echo ${i}`, args: [], env: {}, workingDir: '/tmp' },
          })
        ).id,
      );
    const created = new Map((await client.views(ids)).map((v) => [v.record.id, v.record.createdAt]));
    newest = [...ids].sort((a, b) => created.get(b)! - created.get(a)! || (a < b ? 1 : -1));
  });
  afterAll(() => h.cleanup());

  const idsOf = (read: Awaited<ReturnType<typeof readRecentTasks>>) => read.views.map((v) => v.record.id);

  it('reads every task of the window, newest first, and says it was not capped', async () => {
    const read = await readRecentTasks(client, { since: 0, max: 100 });
    expect(idsOf(read)).toEqual(newest);
    expect([read.scanned, read.capped]).toEqual([7, false]);
    const exact = await readRecentTasks(client, { since: 0, max: 7 });
    expect([idsOf(exact).length, exact.capped]).toEqual([7, false]);
  });

  it('stops at the cap with the newest tasks and says it was capped', async () => {
    const read = await readRecentTasks(client, { since: 0, max: 5 });
    expect(idsOf(read)).toEqual(newest.slice(0, 5));
    expect([read.scanned, read.capped]).toEqual([5, true]);
  });

  it('leaves out tasks created before `since` and those `keep` refuses', async () => {
    const fourth = (await client.get(newest[3]!)).record.createdAt;
    const read = await readRecentTasks(client, { since: fourth, max: 100 });
    const since = await client.views(newest);
    expect(idsOf(read)).toEqual(since.filter((v) => v.record.createdAt >= fourth).map((v) => v.record.id));
    expect(idsOf(read).length).toBeGreaterThanOrEqual(4);
    const kept = await readRecentTasks(client, { since: 0, max: 100, keep: (v) => v.record.summary !== 'echo 2' });
    expect(idsOf(kept)).toEqual(newest.filter((id) => id !== ids[2]));
  });

  it('skips a task whose record expired and counts it as read', async () => {
    await client.redis.del(client.keys.record(newest[0]!));
    const read = await readRecentTasks(client, { since: 0, max: 100 });
    expect(idsOf(read)).toEqual(newest.slice(1));
    expect(read.capped).toBe(false);
  });
});
