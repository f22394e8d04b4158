// A worktree task's diff for `diff` and the API: the kept one or a live one, and its stat.
import { InvalidInputError } from '../errors.js';
import type { TaskClient } from '../tasks/client.js';
import type { TaskView } from '../tasks/record.js';
import { isEndedStatus } from '../tasks/status.js';
import { hostRunner } from './host-runner.js';
import { readWorktreeChanges } from './task-worktree.js';

/**
 * What a task changed in its worktree against its base, as a unified diff: kept in Redis once it
 * ended; read live on the executor's host while it runs (or when the kept one expired).
 */
export async function readTaskDiff(client: TaskClient, view: TaskView): Promise<string> {
  const git = view.record.git;
  if (git === undefined) {
    throw new InvalidInputError(
      `task ${view.record.id} did not run in a git worktree: only tasks started with --worktree have a diff`,
    );
  }
  if (isEndedStatus(view.status)) {
    const kept = await client.redis.get(client.keys.diff(view.record.id));
    if (kept !== null) return kept;
  }
  const runner = hostRunner(client.executorConfig(view.record.executor));
  if (runner === undefined) return '';
  try {
    const changes = await readWorktreeChanges(runner, git, {});
    if (changes === undefined)
      throw new InvalidInputError(
        `the worktree of task ${view.record.id} (${git.worktree}) is gone: see its branch ${git.branch}`,
      );
    return changes.diff;
  } finally {
    runner.close();
  }
}

/** One file of a diff: its path and the lines it adds and removes. */
export interface DiffFileStat {
  path: string;
  insertions: number;
  deletions: number;
  binary: boolean;
}

/** Per file, what a unified diff adds and removes (for `diff --stat` and the dashboard's file list). */
export function diffStat(diff: string): DiffFileStat[] {
  const files: DiffFileStat[] = [];
  let current: DiffFileStat | undefined;
  for (const line of diff.split('\n')) {
    const header = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
    if (header) {
      current = { path: header[2]!, insertions: 0, deletions: 0, binary: false };
      files.push(current);
    } else if (current === undefined || line.startsWith('+++ ') || line.startsWith('--- ')) continue;
    else if (line.startsWith('Binary files ')) current.binary = true;
    else if (line.startsWith('+')) current.insertions++;
    else if (line.startsWith('-')) current.deletions++;
  }
  return files;
}

/** `git diff --stat`'s layout: a line per file, then the totals. */
export function formatDiffStat(files: readonly DiffFileStat[]): string {
  if (files.length === 0) return 'no changes\n';
  const width = Math.max(...files.map((f) => f.path.length));
  const lines = files.map(
    (f) =>
      ` ${f.path.padEnd(width)} | ${f.binary ? 'Bin' : `${f.insertions + f.deletions} ${'+'.repeat(Math.min(f.insertions, 40))}${'-'.repeat(Math.min(f.deletions, 40))}`}`,
  );
  const insertions = files.reduce((n, f) => n + f.insertions, 0);
  const deletions = files.reduce((n, f) => n + f.deletions, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    ` ${plural(files.length, 'file')} changed, ${plural(insertions, 'insertion')}(+), ${plural(deletions, 'deletion')}(-)`,
  );
  return `${lines.join('\n')}\n`;
}
