// Whether a process still runs, told by its pid and its start time, so a recycled pid is not it.
import { existsSync, readFileSync } from 'node:fs';

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined
 * when the process does not exist or is a zombie. A pid plus its start time names one process:
 * a recycled pid has a different start time. Read synchronously: procfs never waits on a disk,
 * and a synchronous read costs less than a trip through the thread pool.
 */
export function readProcessStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return startTimeOfStatLine(stat);
}

/** The start time in a /proc/<pid>/stat line; undefined for a zombie or a line that is not one. */
export function startTimeOfStatLine(stat: string): string | undefined {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  const startTime = fields[19];
  return startTime && /^\d+$/.test(startTime) ? startTime : undefined;
}

/** True when `pid` is alive and is the same process that started at `startTime`. */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  const current = readProcessStartTime(pid);
  if (current === undefined) return false;
  return startTime === undefined || current === startTime;
}

/** True while `pid` runs (zombies count as gone); uses /proc where it exists, else signal 0. */
export function isProcessAlive(pid: number): boolean {
  if (existsSync('/proc/self/stat')) return readProcessStartTime(pid) !== undefined;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
