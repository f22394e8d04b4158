// The check before a `--worktree` task is enqueued: its workspace is in a git repository with the base.
import type { ExecutorConfig } from '../config/config.js';
import { hostOf, hostRunner } from './host-runner.js';
import { inspectWorkspace } from './task-worktree.js';

/**
 * Checks on the executor's host, before a `--worktree` task is enqueued, that its workspace is
 * in a git repository that has the base. Throws one line (InvalidInputError) when it is not.
 */
export async function checkWorktreeWorkspace(
  executor: ExecutorConfig,
  workdir: string | undefined,
  base: string | undefined,
): Promise<void> {
  const runner = hostRunner(executor);
  if (runner === undefined) return;
  try {
    await inspectWorkspace(runner, workdir ?? '~', base, hostOf(executor));
  } finally {
    runner.close();
  }
}
