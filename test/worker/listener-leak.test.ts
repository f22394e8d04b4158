import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTasks, type TaskClient } from '../../src/index.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// Every task a worker follows waits on the worker's shutdown signal: past ten at once Node warned
// of a listener leak on it (MaxListenersExceededWarning), which is none.
describe('a worker running more than ten tasks at once', () => {
  let h: Harness;
  let client: TaskClient;

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('warns of no listener leak', async () => {
    const worker = await h.startWorker('local', {}, ['--concurrency', '16']);
    let stderr = '';
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ids = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const { id } = await client.enqueue({
          executor: 'local',
          payload: { type: 'shell_command', command: 'sleep', args: ['2'], env: {} },
        });
        return id;
      }),
    );
    const ended = await waitForTasks(client, ids, { timeoutMs: 60_000 });
    expect(ended.map((view) => view.status)).toEqual(ids.map(() => 'completed'));
    expect(stderr).not.toMatch(/MaxListenersExceededWarning|listener/i);
  });
});
