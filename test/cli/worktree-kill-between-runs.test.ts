import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { git, makeRepo } from '../helpers/git-repo.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';

// A worktree task killed between runs (here: during a retry's backoff; a usage-limit wait is the
// same path) gets the end step a run's end gives it: its changes counted and committed with
// --commit, and its worktree marked ended, so that `cleanup` removes it (and the retention sweep
// would) instead of leaving it behind for good as one a task still runs in.

interface TaskJson {
  status: string;
  error: string | null;
  attempts: unknown[];
  git: { worktree: string; branch: string; head_sha?: string; files_changed?: number } | null;
}

describe('a worktree task killed between runs', () => {
  let server: SshdServer;
  let h: Harness;
  let repo: string;

  beforeAll(async () => {
    server = await startSshd();
    h = createHarness({
      extraExecutors: (dir) => sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote', 'tasks') }),
    });
    repo = makeRepo(path.join(h.dir, 'app'));
    await h.startWorker('local');
    await h.startWorker('crib');
  });
  afterAll(async () => {
    await h?.cleanup();
    await server?.stop();
  });

  const status = async (id: string) => JSON.parse((await h.cli(['status', id, '--json'])).stdout) as TaskJson;

  for (const executor of ['local', 'crib']) {
    it(`${executor}: is marked ended with its changes (committed with --commit), and cleanup removes its worktree`, async () => {
      const r = await h.cli([
        'run',
        '-e',
        executor,
        '-w',
        repo,
        '--worktree',
        '--commit',
        '--name',
        `left by ${executor}`,
        '--retries',
        '1',
        '--backoff',
        '60s',
        '-c',
        'echo work > WORK; exit 3',
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      const id = r.stdout.trim();
      const waiting = await eventually(async () => {
        const task = await status(id);
        return task.attempts.length === 1 && task.status === 'queued' ? task : undefined;
      }, 'the first run to end and the retry to wait');
      const worktree = waiting.git!.worktree;
      expect(existsSync(`${worktree}.ended`)).toBe(false);

      const kill = await h.cli(['kill', id]);
      expect(kill.stdout).toBe(`Task ${id} killed (it was waiting for a retry).\n`);
      const killed = await status(id);
      expect(killed).toMatchObject({ status: 'killed', error: 'killed while waiting for attempt 2' });
      expect(existsSync(`${worktree}.ended`)).toBe(true);
      expect(killed.git).toMatchObject({ files_changed: 1, head_sha: git(worktree, 'rev-parse', 'HEAD').trim() });
      expect(git(worktree, 'log', '-1', '--format=%s').trim()).toBe(`left by ${executor}`);
      expect((await h.cli(['diff', id, '--stat'])).stdout).toContain('WORK | 1 +');

      const cleanup = await h.cli(['cleanup', id]);
      expect(cleanup.exitCode, cleanup.stderr).toBe(0);
      expect(existsSync(worktree)).toBe(false);
      expect(git(repo, 'branch', '--list', waiting.git!.branch).trim()).toBe(waiting.git!.branch);
    });
  }
});
