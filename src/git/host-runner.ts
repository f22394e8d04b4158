// Scripts run on an executor's host from outside a worker, and where its worktrees live.
import path from 'node:path';
import type { ExecutorConfig } from '../config/config.js';
import { runLocalScript } from '../executors/local/host-script.js';
import { DEFAULT_REMOTE_SPOOL, SshExecutor } from '../executors/ssh/ssh-executor.js';
import { spoolRoot } from '../config/paths.js';
import type { ScriptRunner } from './task-worktree.js';

/**
 * A way to run scripts on an executor's host from outside a worker (the CLI's enqueue check,
 * `diff`, `cleanup`): this host for a local executor, a connection of its own for SSH. Close it
 * when done. Undefined for container executors, which have no host of their own.
 */
export function hostRunner(executor: ExecutorConfig): (ScriptRunner & { close(): void }) | undefined {
  switch (executor.type) {
    case 'local':
      return { runScript: runLocalScript, close: () => {} };
    case 'ssh': {
      const remote = new SshExecutor(executor);
      return { runScript: (script, args, input) => remote.runScript(script, args, input), close: () => remote.close() };
    }
    case 'container':
      return undefined;
  }
}

/** Where an executor's task worktrees live: beside its spool directories (`…/worktrees`). */
export function worktreeRoot(executor: ExecutorConfig): string {
  if (executor.type === 'local') return path.join(path.dirname(spoolRoot(executor.spool_dir)), 'worktrees');
  return path.posix.join(
    path.posix.dirname((executor.spool_dir ?? DEFAULT_REMOTE_SPOOL).replace(/\/+$/, '')),
    'worktrees',
  );
}

/** Where an executor's host is, for messages. */
export function hostOf(executor: ExecutorConfig): string {
  return executor.type === 'ssh' ? `executor "${executor.name}" (${executor.host})` : `executor "${executor.name}"`;
}
