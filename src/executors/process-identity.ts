import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined
 * when the process does not exist or is a zombie. A pid plus its start time names one process:
 * a recycled pid has a different start time.
 */
export async function readProcessStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  return fields[19];
}

/** True when `pid` is alive and is the same process that started at `startTime`. */
export async function isSameProcessAlive(pid: number, startTime: string | undefined): Promise<boolean> {
  const current = await readProcessStartTime(pid);
  if (current === undefined) return false;
  return startTime === undefined || current === startTime;
}

/** True while `pid` runs (zombies count as gone); uses /proc where it exists, else signal 0. */
export function isProcessAlive(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
