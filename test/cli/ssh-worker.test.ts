import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, eventually, FIXTURES, type Harness } from '../helpers/harness.js';
import { countProcessGroup } from '../helpers/processes.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';

// The CLI and worker processes against an SSH executor on a real sshd: the paths a user takes.
describe('ssh executor through the CLI and worker processes', () => {
  let server: SshdServer;
  let h: Harness;
  let spool: string;

  beforeAll(async () => {
    server = await startSshd();
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    h = createHarness({ extraExecutors: (dir) => sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote-tasks') }) });
    spool = path.join(h.dir, 'remote-tasks');
  });
  afterEach(async () => {
    await h.cleanup();
  });


  it('a worker SIGKILLed mid-task is replaced by one that re-attaches over SSH: no gap, no duplicate, ran once', async () => {
    const first = await h.startWorker('crib');
    const marker = path.join(h.dir, 'ran');
    const id = (await h.cli(['run', '-e', 'crib', '--', path.join(FIXTURES, 'lines.sh'), '40', '0.05', marker, '5'])).stdout.trim();
    await eventually(async () => ((await h.logText(id)).stdout.includes('line5\n') ? true : undefined), 'line5 in the log');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    await h.startWorker('crib');
    const follow = await h.cli(['logs', id, '--follow', '--lines', '1000']);
    expect(follow.exitCode).toBe(5);
    const { stdout, ends } = await h.logText(id);
    expect(stdout).toBe(Array.from({ length: 40 }, (_, i) => `line${i + 1}\n`).join(''));
    expect(ends).toBe(1);
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    const status = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'failed', exit_code: 5, executor: 'crib' });
  });

  it('kill stops a remote tree that traps SIGTERM; cleanup removes its remote directory', async () => {
    await h.startWorker('crib');
    const tree = "trap 'echo term ignored' TERM; (sleep 300 &); sleep 300 & echo tree-up; while :; do sleep 0.1; done";
    const id = (await h.cli(['run', '-e', 'crib', '-c', tree])).stdout.trim();
    await eventually(async () => ((await h.logText(id)).stdout.includes('tree-up') ? true : undefined), 'the tree to start');
    const pid = Number(JSON.parse((await h.cli(['status', id, '--json'])).stdout).pid);
    expect(countProcessGroup(pid)).toBeGreaterThanOrEqual(3);

    const kill = await h.cli(['kill', id, '--grace', '1s']);
    expect(kill.exitCode).toBe(0);
    await eventually(async () => {
      const status = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
      return status.status === 'killed' ? status : undefined;
    }, 'the task to end as killed');
    expect(countProcessGroup(pid)).toBe(0);
    expect((await h.logText(id)).stdout).toContain('term ignored');

    const dir = path.join(spool, id);
    expect(existsSync(dir)).toBe(true);
    expect((await h.cli(['cleanup', id])).exitCode).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect((await h.cli(['status', id])).exitCode).toBe(3);
  });
});
