// Removes the spool directories of local tasks that ended longer ago than the retention.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidFileExitCode } from '../shell/task-wrapper.js';

/**
 * Removes the spool directories of local tasks that ended more than `retentionMs` ago (their
 * `exit` file is that old, or the pid file that holds their exit code where no exit file could be
 * made), as records and logs expire in Redis. A directory without either belongs to a task still
 * running, or one that never started; it is left alone. Returns how many were removed.
 */
export async function sweepEndedSpools(root: string, retentionMs: number, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const dir = path.join(root, name);
    const ended = (await stat(path.join(dir, 'exit')).catch(() => undefined)) ?? (await endedOnPidFile(dir));
    if (!ended || now - ended.mtimeMs < retentionMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

// The pid file of a wrapper that put the exit code there (see WAITING_WRAPPER), when it did.
async function endedOnPidFile(dir: string): Promise<{ mtimeMs: number } | undefined> {
  const file = path.join(dir, 'pid');
  const text = await readFile(file, 'utf8').catch(() => '');
  if (pidFileExitCode(text) === undefined) return undefined;
  return stat(file).catch(() => undefined);
}
