import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTaskJson, type TaskClient } from '../../src/index.js';
import { createHarness, eventually, FAKE_CLAUDE, type Harness } from '../helpers/harness.js';
import { git, makeRepo } from '../helpers/git-repo.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// A task per git worktree, through the real CLI and worker processes, on real repositories: on
// this host (local executor) and on an SSH host (a real sshd on loopback).

interface GitJson {
  repo: string;
  base: string;
  base_sha: string;
  branch: string;
  worktree: string;
  prefix: string;
  head_sha?: string;
  files_changed?: number;
  insertions?: number;
  deletions?: number;
}

describe('worktrees on a local executor', () => {
  let h: Harness;
  let repo: string;
  let client: TaskClient;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    h = createHarness({
      extraExecutors: `  - name: agents\n    type: local\n    worktree: true\n    claude_path: ${FAKE_CLAUDE}\n  - name: boxes\n    type: container\n    image: busybox\n`,
      extraConfig: `defaults:\n  webhook_url: ${receiver.url}/done\n  webhook_retry_schedule: [200ms]\n`,
    });
    repo = makeRepo(path.join(h.dir, 'app'));
    await h.startWorker('local');
    await h.startWorker('agents');
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
    await receiver.stop();
  });

  const ended = (id: string) =>
    eventually(async () => {
      const task = toTaskJson(await client.get(id));
      return task.finished_at !== null && (task.git as GitJson | null)?.head_sha !== undefined ? task : undefined;
    }, `task ${id} to end with its changes counted`);
  const run = async (...args: string[]) => {
    const r = await h.cli(['run', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('runs three tasks in worktrees of one repository at once: each sees only its own files; the checkout is untouched', async () => {
    const ids = await Promise.all(
      ['red', 'green', 'blue'].map((colour) =>
        run(
          '-e',
          'local',
          '-w',
          repo,
          '--worktree',
          '-c',
          `echo ${colour} > shared.txt; sleep 1; cat shared.txt; echo ${colour} >> README`,
        ),
      ),
    );
    const tasks = await Promise.all(ids.map(ended));
    tasks.forEach((task, i) => {
      const colour = ['red', 'green', 'blue'][i]!;
      const g = task.git as GitJson;
      expect(g).toMatchObject({
        repo,
        base: 'HEAD',
        branch: `oca/${ids[i]!.slice(0, 8)}`,
        files_changed: 2,
        insertions: 2,
        deletions: 0,
      });
      expect(readFileSync(path.join(g.worktree, 'shared.txt'), 'utf8')).toBe(`${colour}\n`);
      expect(readFileSync(path.join(g.worktree, 'README'), 'utf8')).toBe(`one\ntwo\n${colour}\n`);
      expect(task.status).toBe('completed');
    });
    for (const [i, id] of ids.entries()) expect((await h.logText(id)).stdout).toBe(`${['red', 'green', 'blue'][i]}\n`);
    expect(new Set(tasks.map((t) => (t.git as GitJson).worktree)).size).toBe(3);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(existsSync(path.join(repo, 'shared.txt'))).toBe(false);
  }, 60_000);

  it('records the branch and what it changed, commits with --commit, and shows the diff; the webhook carries it', async () => {
    const id = await run(
      '-e',
      'local',
      '-w',
      path.join(repo, 'src'),
      '--worktree',
      '--commit',
      '--name',
      'Fix the flaky test',
      '-c',
      'pwd; echo "fn run() {}" >> lib.rs; echo new > ../NEW',
    );
    const task = await ended(id);
    const g = task.git as GitJson;
    expect(g).toMatchObject({ prefix: 'src/', files_changed: 2, insertions: 2, deletions: 0 });
    expect((await h.logText(id)).stdout).toBe(`${path.join(g.worktree, 'src')}\n`);
    expect(git(g.worktree, 'log', '-1', '--format=%s %H').trim()).toBe(`Fix the flaky test ${g.head_sha}`);
    expect(git(g.worktree, 'status', '--porcelain')).toBe('');

    const diff = await h.cli(['diff', id]);
    expect(diff.exitCode).toBe(0);
    expect(diff.stdout).toContain('diff --git a/src/lib.rs b/src/lib.rs');
    expect(diff.stdout).toContain('+fn run() {}\n');
    expect(diff.stdout).toContain('diff --git a/NEW b/NEW\nnew file mode 100644');
    expect((await h.cli(['diff', id, '--stat'])).stdout).toBe(
      ' NEW        | 1 +\n src/lib.rs | 1 +\n 2 files changed, 2 insertions(+), 0 deletions(-)\n',
    );
    expect((await h.cli(['status', id])).stdout).toMatch(
      new RegExp(
        `Worktree: ${g.worktree.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on oca/${id.slice(0, 8)} from HEAD \\(${g.base_sha.slice(0, 7)}\\) · 2 files changed, \\+2 -0`,
      ),
    );

    const hook = await eventually(async () => receiver.requests.find((r) => r.body.includes(id)), 'the webhook');
    expect(JSON.parse(hook.body)).toMatchObject({
      task_id: id,
      git: { branch: `oca/${id.slice(0, 8)}`, files_changed: 2, head_sha: g.head_sha },
    });
  });

  it('starts Claude tasks of a `worktree: true` executor in a worktree, and continues one in the same worktree', async () => {
    const first = (await h.cli(['start', '-e', 'agents', '-w', repo, '--prompt', 'turns:1 fix it'])).stdout.trim();
    const one = await ended(first);
    const g = one.git as GitJson;
    expect(g.branch).toBe(`oca/${first.slice(0, 8)}`);
    const init = (id: string) =>
      h.logText(id).then(({ stdout }) => JSON.parse(stdout.split('\n')[0]!) as { cwd: string });
    expect((await init(first)).cwd).toBe(g.worktree);

    const next = (
      await h.cli(['start', '--continue', first.slice(0, 8), '--prompt', 'turns:1 and the docs'])
    ).stdout.trim();
    const two = await ended(next);
    expect(two.git).toMatchObject({ worktree: g.worktree, branch: g.branch, base_sha: g.base_sha });
    expect((await init(next)).cwd).toBe(g.worktree);

    const plain = (
      await h.cli(['start', '-e', 'agents', '-w', repo, '--no-worktree', '--prompt', 'turns:1 read only'])
    ).stdout.trim();
    await eventually(
      async () => (toTaskJson(await client.get(plain)).finished_at ? true : undefined),
      'the plain task',
    );
    expect(toTaskJson(await client.get(plain)).git).toBeNull();
    expect((await init(plain)).cwd).toBe(repo);
  });

  it('refuses in one line, enqueuing nothing: a workspace outside a repository, a base it lacks, a container executor, --base with --no-worktree', async () => {
    const before = await h.redis().keys(`${h.prefix}:_task:*`);
    const plain = path.join(h.dir, 'plain');
    mkdirSync(plain, { recursive: true });
    const cases: [string[], string][] = [
      [
        ['-e', 'local', '-w', plain, '--worktree', '--', 'true'],
        `openclaw-agent: ${plain} on executor "local" is not in a git repository: --worktree needs one (git init, or drop --worktree)\n`,
      ],
      [
        ['-e', 'local', '-w', repo, '--base', 'v2.0', '--', 'true'],
        `openclaw-agent: no commit "v2.0" in the repository of ${repo} on executor "local" — give --base a branch, tag or commit it has\n`,
      ],
      [
        ['-e', 'boxes', '-w', '/src', '--worktree', '--', 'true'],
        'openclaw-agent: --worktree needs a local or ssh executor: "boxes" runs containers, which see the repository through a volume — make the worktree there yourself\n',
      ],
      [
        ['-e', 'local', '-w', repo, '--no-worktree', '--commit', '--', 'true'],
        'openclaw-agent: --base and --commit are for a task in a worktree: drop them, or --no-worktree\n',
      ],
    ];
    for (const [args, stderr] of cases)
      expect(await h.cli(['run', ...args])).toEqual({ exitCode: 2, stdout: '', stderr });
    expect(await h.redis().keys(`${h.prefix}:_task:*`)).toEqual(before);
    const none = await h.cli(['diff', (await h.cli(['run', '-e', 'local', '-w', repo, '--', 'true'])).stdout.trim()]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(
      /^openclaw-agent: task [0-9a-f-]{36} did not run in a git worktree: only tasks started with --worktree have a diff\n$/,
    );
  });

  it('cleanup removes the worktree and keeps the branch with its commits, or deletes it with --delete-branch', async () => {
    const keep = await run('-e', 'local', '-w', repo, '--worktree', '--commit', '-c', 'echo kept > KEPT');
    const drop = await run('-e', 'local', '-w', repo, '--worktree', '-c', 'echo gone > GONE');
    const [k, d] = (await Promise.all([ended(keep), ended(drop)])).map((t) => t.git as GitJson);
    expect((await h.cli(['cleanup', keep])).exitCode).toBe(0);
    expect((await h.cli(['cleanup', drop, '--delete-branch'])).exitCode).toBe(0);
    expect([existsSync(k!.worktree), existsSync(d!.worktree)]).toEqual([false, false]);
    expect(git(repo, 'branch', '--list', k!.branch, d!.branch).trim()).toBe(k!.branch);
    // The work committed on the branch outlives the worktree.
    expect(git(repo, 'show', `${k!.branch}:KEPT`)).toBe('kept\n');
  });
});

describe('worktrees on an SSH executor', () => {
  let server: SshdServer;
  let h: Harness;
  let repo: string;

  beforeAll(async () => {
    server = await startSshd();
    h = createHarness({
      extraExecutors: (dir) => sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote', 'tasks') }),
    });
    repo = makeRepo(path.join(h.dir, 'app'));
    await h.startWorker('crib');
  });
  afterAll(async () => {
    await h?.cleanup();
    await server?.stop();
  });

  it('makes the worktree on the remote, reads its diff over SSH while it runs and after, and removes it', async () => {
    const r = await h.cli([
      'run',
      '-e',
      'crib',
      '-w',
      repo,
      '--worktree',
      '-c',
      'echo remote > REMOTE; touch started; while [ ! -e go ]; do sleep 0.1; done',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const worktree = path.join(h.dir, 'remote', 'worktrees', id);
    await eventually(
      async () => (existsSync(path.join(worktree, 'started')) ? true : undefined),
      'the task to run in its worktree',
    );
    const live = await h.cli(['diff', id, '--stat']);
    expect(live.stdout).toBe(' REMOTE  | 1 +\n started | 0 \n 2 files changed, 1 insertion(+), 0 deletions(-)\n');
    writeFileSync(path.join(worktree, 'go'), '');
    const task = await eventually(async () => {
      const json = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as { status: string; git: GitJson };
      return json.git?.head_sha ? json : undefined;
    }, 'the task to end');
    expect(task).toMatchObject({
      status: 'completed',
      git: { worktree, branch: `oca/${id.slice(0, 8)}`, files_changed: 3 },
    });
    expect((await h.cli(['diff', id])).stdout).toContain('+remote\n');
    expect((await h.cli(['cleanup', id, '--delete-branch'])).exitCode).toBe(0);
    expect(existsSync(worktree)).toBe(false);
    expect(git(repo, 'branch', '--list', 'oca/*').trim()).toBe('');
  }, 60_000);
});
