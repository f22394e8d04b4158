// Removes the spool directories of local tasks that ended longer ago than the retention.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidFileExitCode } from '../shell/task-wrapper.js';

/**
 * Removes the spool directories of local tasks that ended more than `retentionMs` ago (their
 * `exit` file is that old, or the pid file that holds their exit code where no exit file could be
 * made), as records and logs expire in Redis. A directory with a pid file and no exit code
 * belongs to a task still running: it is left alone. One with no pid file was claimed for a run
 * that never started (a kill came first): it goes once the directory itself is that old.
 * Returns how many were removed.
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
    const ended =
      (await stat(path.join(dir, 'exit')).catch(() => undefined)) ??
      (await endedOnPidFile(dir)) ??
      (await neverStarted(dir));
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

// A directory claimed for a run that launched nothing: no pid file was ever written there.
async function neverStarted(dir: string): Promise<{ mtimeMs: number } | undefined> {
  if (await stat(path.join(dir, 'pid')).catch(() => undefined)) return undefined;
  return stat(dir).catch(() => undefined);
}
