import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';

describe('worker processes: detached tasks outlive them', () => {
  let h: Harness;
  beforeEach(() => {
    h = createHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('a task whose process vanished while no worker watched ends as lost', async () => {
    const first = await h.startWorker();
    const r = await h.cli(['run', '-e', 'local', '-c', 'echo up; sleep 60']);
    const id = r.stdout.trim();
    await eventually(
      async () => ((await h.logText(id)).stdout.includes('up\n') ? true : undefined),
      'the task to start',
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const pid = Number(JSON.parse((await h.cli(['status', id, '--json'])).stdout).pid);
    process.kill(-pid, 'SIGKILL');

    await h.startWorker();
    const follow = await h.cli(['logs', id, '--follow']);
    expect(follow.exitCode).toBe(1);
    const status = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'lost', exit_code: null });
    expect(status.error).toMatch(/vanished without recording an exit code/);
  });

  it('a worker sent SIGTERM the moment it says ready stops cleanly: exit 0, having said so', async () => {
    // The signal races the handler: one installed after "ready" lost it now and then (Node's
    // default then ended the worker half-way), so it is tried several times.
    for (let round = 0; round < 10; round++) {
      const worker = await h.startWorker();
      let said = '';
      worker.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
      await stopProcess(worker);
      expect({ round, code: worker.exitCode, signal: worker.signalCode }).toEqual({ round, code: 0, signal: null });
      expect(said).toContain('SIGTERM: stopping; running tasks keep running');
    }
  });
});
