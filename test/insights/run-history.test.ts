import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskClient } from '../../src/index.js';
import { median, readRunHistory } from '../../src/insights/run-history.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// No worker: the runs stay queued (no duration), which is enough to find them.
describe('readRunHistory: the earlier runs of a task', () => {
  let h: Harness;
  let client: TaskClient;

  // Each a millisecond after the last: the index orders tasks created in the same one by id.
  let last = 0;
  const shell = async (command: string, name?: string) => {
    while (Date.now() <= last) await new Promise((resolve) => setTimeout(resolve, 1));
    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command, args: [], env: {}, workingDir: '/tmp' },
      name,
    });
    last = (await client.get(id)).record.createdAt;
    return id;
  };

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
  });
  afterAll(() => h.cleanup());

  it('takes the medians of odd and even counts, and none of nothing', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(4);
    expect(median([])).toBeNull();
  });

  it('finds unnamed runs by their exact command, and named runs by their exact name, oldest first', async () => {
    const a1 = await shell('make deploy target');
    await shell('make deploy target --dry-run');
    const named = await shell('make deploy target', 'deploy');
    const a2 = await shell('make deploy target');
    const a3 = await shell('make deploy target');
    const later = await shell('make deploy target');
    const history = await readRunHistory(client, await client.get(a3));
    expect(history.runs.map((r) => r.task_id)).toEqual([a1, a2, a3]);
    expect(history.runs.every((r) => r.duration_ms === null && r.status === 'queued')).toBe(true);
    expect([history.median_ms, history.median_of, history.capped]).toEqual([null, 0, false]);
    expect(history.match).toEqual({ summary: 'make deploy target' });
    expect((await readRunHistory(client, await client.get(later), { runs: 2 })).runs.map((r) => r.task_id)).toEqual([
      a3,
      later,
    ]);
    const deploy = await shell('another command', 'deploy');
    expect((await readRunHistory(client, await client.get(deploy))).runs.map((r) => r.task_id)).toEqual([
      named,
      deploy,
    ]);
  });

  it('says when it stopped at its cap before finding the runs', async () => {
    const first = await shell('cargo bench suite');
    for (let i = 0; i < 3; i++) await shell(`cargo bench suite ${i}`);
    const last = await shell('cargo bench suite');
    const capped = await readRunHistory(client, await client.get(last), { maxScanned: 2 });
    expect([capped.runs.map((r) => r.task_id), capped.capped]).toEqual([[last], true]);
    const whole = await readRunHistory(client, await client.get(last), { maxScanned: 10 });
    expect([whole.runs.map((r) => r.task_id), whole.capped]).toEqual([[first, last], false]);
  });
});
