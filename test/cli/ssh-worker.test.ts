import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
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
    h = createHarness({
      extraExecutors: (dir) => sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote-tasks') }),
    });
    spool = path.join(h.dir, 'remote-tasks');
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('kill stops a remote tree that traps SIGTERM; cleanup removes its remote directory', async () => {
    await h.startWorker('crib');
    const tree = "trap 'echo term ignored' TERM; (sleep 300 &); sleep 300 & echo tree-up; while :; do sleep 0.1; done";
    const id = (await h.cli(['run', '-e', 'crib', '-c', tree])).stdout.trim();
    await eventually(
      async () => ((await h.logText(id)).stdout.includes('tree-up') ? true : undefined),
      'the tree to start',
    );
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
    // ~20-35 s on this 2-core VM (SSH sessions, a 1 s grace, cleanup over SSH); more under load.
  }, 120_000);
});
