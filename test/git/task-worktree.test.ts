import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { git as runGit, makeRepo } from '../helpers/git-repo.js';
import { InvalidInputError } from '../../src/errors.js';
import { runLocalScript } from '../../src/executors/local/host-script.js';
import {
  createTaskWorktree,
  inspectWorkspace,
  readWorktreeChanges,
  removeTaskWorktree,
  sweepEndedWorktrees,
  worktreeBranch,
  worktreeWorkdir,
  WorktreeError,
} from '../../src/git/task-worktree.js';

// The worktree scripts on real git repositories, run by /bin/sh as the local executor runs them.

const root = mkdtempSync(path.join(tmpdir(), 'oca-git-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const runner = { runScript: runLocalScript };
const git = (cwd: string, ...args: string[]) => runGit(cwd, ...args).trim();
const ID = 'a1b2c3d4-0000-4000-8000-000000000001';

let repo: string;
let trees: string;
beforeEach(() => {
  const dir = mkdtempSync(path.join(root, 'case-'));
  repo = makeRepo(path.join(dir, 'repo'));
  trees = path.join(dir, 'worktrees');
});

describe('inspectWorkspace', () => {
  it('finds the repository and the base commit of a workspace, also from a subdirectory', async () => {
    expect(await inspectWorkspace(runner, path.join(repo, 'src'), undefined, 'here')).toEqual({
      repo,
      baseSha: git(repo, 'rev-parse', 'HEAD'),
    });
  });

  it('says in one line what is wrong: no directory, no repository, no such base', async () => {
    const outside = mkdtempSync(path.join(root, 'plain-'));
    await expect(inspectWorkspace(runner, path.join(root, 'nope'), undefined, 'here')).rejects.toThrow(
      new InvalidInputError(`working directory ${path.join(root, 'nope')} does not exist on here`),
    );
    await expect(inspectWorkspace(runner, outside, undefined, 'here')).rejects.toThrow(
      `${outside} on here is not in a git repository: --worktree needs one (git init, or drop --worktree)`,
    );
    await expect(inspectWorkspace(runner, repo, 'v9.9', 'here')).rejects.toThrow(
      `no commit "v9.9" in the repository of ${repo} on here — give --base a branch, tag or commit it has`,
    );
  });
});

describe('createTaskWorktree', () => {
  it('makes a worktree on a new branch from the base, and runs the task where the workspace is in it', async () => {
    const made = await createTaskWorktree(
      runner,
      { workdir: path.join(repo, 'src'), path: path.join(trees, ID), branch: worktreeBranch(ID) },
      'here',
    );
    expect(made).toEqual({
      repo,
      base: 'HEAD',
      base_sha: git(repo, 'rev-parse', 'HEAD'),
      branch: 'oca/a1b2c3d4',
      worktree: path.join(trees, ID),
      prefix: 'src/',
    });
    expect(worktreeWorkdir(made)).toBe(path.join(trees, ID, 'src'));
    expect(git(made.worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('oca/a1b2c3d4');
    expect(readFileSync(path.join(made.worktree, 'README'), 'utf8')).toBe('one\ntwo\n');
  });

  it('starts from another base, and finds the worktree made before instead of failing', async () => {
    const first = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(path.join(repo, 'README'), 'changed on main\n');
    git(repo, 'commit', '-qam', 'second');
    const input = { workdir: repo, base: first, path: path.join(trees, ID), branch: worktreeBranch(ID) };
    const made = await createTaskWorktree(runner, input, 'here');
    expect(made.base_sha).toBe(first);
    expect(readFileSync(path.join(made.worktree, 'README'), 'utf8')).toBe('one\ntwo\n');
    expect(await createTaskWorktree(runner, input, 'here')).toEqual(made);
  });

  it('fails with the reason where git refuses', async () => {
    git(repo, 'branch', worktreeBranch(ID));
    await expect(
      createTaskWorktree(runner, { workdir: repo, path: path.join(trees, ID), branch: worktreeBranch(ID) }, 'here'),
    ).rejects.toThrow(
      new WorktreeError("git worktree add failed on here: fatal: a branch named 'oca/a1b2c3d4' already exists"),
    );
  });
});

describe('readWorktreeChanges', () => {
  it('counts committed, uncommitted and new files against the base, and leaves the index alone', async () => {
    const made = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, ID), branch: worktreeBranch(ID) },
      'here',
    );
    writeFileSync(path.join(made.worktree, 'README'), 'one\n2\nthree\n');
    git(made.worktree, 'commit', '-qam', 'by the task');
    writeFileSync(path.join(made.worktree, 'src', 'lib.rs'), 'fn main() { run() }\n');
    writeFileSync(path.join(made.worktree, 'NEW'), 'new file\n');
    const changes = (await readWorktreeChanges(runner, made, {}))!;
    expect(changes.git).toMatchObject({
      files_changed: 3,
      insertions: 4,
      deletions: 2,
      head_sha: git(made.worktree, 'rev-parse', 'HEAD'),
    });
    expect(changes.diff).toContain('diff --git a/NEW b/NEW\nnew file mode 100644');
    expect(changes.diff).toContain('-two\n+2\n+three\n');
    expect(changes.truncated).toBe(false);
    // Nothing was staged in the worktree itself.
    expect(runGit(made.worktree, 'status', '--porcelain')).toBe(' M src/lib.rs\n?? NEW\n');
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('commits what is left with `commit`, and marks the worktree ended for the sweep', async () => {
    const made = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, ID), branch: worktreeBranch(ID) },
      'here',
    );
    writeFileSync(path.join(made.worktree, 'NEW'), 'new file\n');
    const changes = (await readWorktreeChanges(runner, made, {
      commit: true,
      message: 'Fix the flaky test',
      ended: true,
    }))!;
    expect(changes.commitFailed).toBe(false);
    expect(git(made.worktree, 'log', '-1', '--format=%s')).toBe('Fix the flaky test');
    expect(git(made.worktree, 'status', '--porcelain')).toBe('');
    expect(changes.git).toMatchObject({
      files_changed: 1,
      insertions: 1,
      deletions: 0,
      head_sha: git(made.worktree, 'rev-parse', 'HEAD'),
    });
    expect(existsSync(`${made.worktree}.ended`)).toBe(true);
  });

  it('is undefined for a worktree that is gone', async () => {
    const made = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, ID), branch: worktreeBranch(ID) },
      'here',
    );
    rmSync(made.worktree, { recursive: true, force: true });
    expect(await readWorktreeChanges(runner, made, {})).toBeUndefined();
  });
});

describe('removing worktrees', () => {
  it("removes an ended task's worktree and keeps its branch unless asked; leaves one a task runs in", async () => {
    const made = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, ID), branch: worktreeBranch(ID) },
      'here',
    );
    expect(await removeTaskWorktree(runner, made, false)).toBe('in-use');
    await readWorktreeChanges(runner, made, { ended: true });
    expect(await removeTaskWorktree(runner, made, false)).toBe('removed');
    expect(existsSync(made.worktree)).toBe(false);
    expect(git(repo, 'branch', '--list', 'oca/*')).toBe('oca/a1b2c3d4');
    expect(await removeTaskWorktree(runner, made, true)).toBe('gone');
    const again = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, 'other'), branch: 'oca/other' },
      'here',
    );
    await readWorktreeChanges(runner, again, { ended: true });
    expect(await removeTaskWorktree(runner, again, true)).toBe('removed');
    expect(git(repo, 'branch', '--list', 'oca/other')).toBe('');
  });

  it('sweeps the worktrees of tasks that ended longer ago than the retention, keeping their branches', async () => {
    const old = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, 'old'), branch: 'oca/old' },
      'here',
    );
    const recent = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, 'recent'), branch: 'oca/recent' },
      'here',
    );
    const running = await createTaskWorktree(
      runner,
      { workdir: repo, path: path.join(trees, 'running'), branch: 'oca/running' },
      'here',
    );
    await readWorktreeChanges(runner, old, { ended: true });
    await readWorktreeChanges(runner, recent, { ended: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(`${old.worktree}.ended`, twoHoursAgo, twoHoursAgo);
    expect(await sweepEndedWorktrees(runner, trees, 3_600_000)).toEqual([old.worktree]);
    expect([existsSync(old.worktree), existsSync(recent.worktree), existsSync(running.worktree)]).toEqual([
      false,
      true,
      true,
    ]);
    expect(git(repo, 'branch', '--list', 'oca/old')).toBe('oca/old');
    expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain(old.worktree);
  });
});
