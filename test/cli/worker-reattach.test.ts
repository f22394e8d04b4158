import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, eventually, FIXTURES, stopProcess, type Harness } from '../helpers/harness.js';

describe('worker processes: detached tasks outlive them', () => {
  let h: Harness;
  beforeEach(() => {
    h = createHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });


  it('a worker SIGKILLed mid-task is replaced by one that re-attaches: no gap, no duplicate, right exit code, ended once', async () => {
    const first = await h.startWorker();
    const marker = path.join(h.dir, 'ran');
    const r = await h.cli(['run', '-e', 'local', '--', path.join(FIXTURES, 'lines.sh'), '40', '0.05', marker, '5']);
    const id = r.stdout.trim();
    await eventually(async () => ((await h.logText(id)).stdout.includes('line5\n') ? true : undefined), 'line5 in the log');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    await h.startWorker();
    const follow = await h.cli(['logs', id, '--follow', '--lines', '1000']);
    expect(follow.exitCode).toBe(5);
    const { stdout, ends } = await h.logText(id);
    expect(stdout).toBe(Array.from({ length: 40 }, (_, i) => `line${i + 1}\n`).join(''));
    expect(ends).toBe(1);
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    const status = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'failed', exit_code: 5 });
  });

  it('SIGTERM stops a worker promptly and leaves its task running for the next worker', async () => {
    const first = await h.startWorker();
    const marker = path.join(h.dir, 'ran');
    const r = await h.cli(['run', '-e', 'local', '--', path.join(FIXTURES, 'lines.sh'), '20', '0.1', marker, '0']);
    const id = r.stdout.trim();
    await eventually(async () => ((await h.logText(id)).stdout.includes('line2\n') ? true : undefined), 'line2 in the log');
    const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
    await stopProcess(first, 'SIGTERM');
    expect(await exited).toBe(0);
    const pid = Number(JSON.parse((await h.cli(['status', id, '--json'])).stdout).pid);
    expect(() => process.kill(pid, 0)).not.toThrow();

    await h.startWorker();
    const follow = await h.cli(['logs', id, '--follow', '--lines', '1000']);
    expect(follow.exitCode).toBe(0);
    expect((await h.logText(id)).stdout).toBe(Array.from({ length: 20 }, (_, i) => `line${i + 1}\n`).join(''));
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
  });

  it('a task whose process vanished while no worker watched ends as lost', async () => {
    const first = await h.startWorker();
    const r = await h.cli(['run', '-e', 'local', '-c', 'echo up; sleep 60']);
    const id = r.stdout.trim();
    await eventually(async () => ((await h.logText(id)).stdout.includes('up\n') ? true : undefined), 'the task to start');
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
});
