// Removes the spool directories of local tasks that ended longer ago than the retention.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes the spool directories of local tasks that ended more than `retentionMs` ago (their
 * `exit` file is that old), as records and logs expire in Redis. A directory without an exit file
 * belongs to a task still running, or one that never started; it is left alone. Returns how many
 * were removed.
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
    const ended = await stat(path.join(dir, 'exit')).catch(() => undefined);
    if (!ended || now - ended.mtimeMs < retentionMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
