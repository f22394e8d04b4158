import { readdirSync, readFileSync } from 'node:fs';

/** A process, told apart from a later one with the same pid by its start time. */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

export interface ProcessInfo extends ProcessRef {
  ppid: number;
  /** Process group. */
  pgid: number;
  session: number;
  state: string;
  comm: string;
}

/** Every process on this host, read from /proc. */
export function readProcessTable(): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Fields after the command: state ppid pgrp session … with starttime the 20th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), {
        pid: Number(name),
        ppid: Number(fields[1]),
        pgid: Number(fields[2]),
        session: Number(fields[3]),
        state: fields[0]!,
        comm,
        startTime: fields[19]!,
      });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

export const isLive = (info: ProcessInfo): boolean => info.state !== 'Z' && info.state !== 'X';

/** Live (non-zombie) processes on this host whose process group is `pgid`. */
export function countProcessGroup(pgid: number): number {
  let count = 0;
  for (const info of readProcessTable().values()) if (isLive(info) && info.pgid === pgid) count++;
  return count;
}

/** Live processes (other than this one) whose environment holds `assignment`, such as `MARK=1`. */
export function processesWithEnv(assignment: string): ProcessInfo[] {
  const needle = Buffer.from(`${assignment}\0`);
  const found: ProcessInfo[] = [];
  for (const info of readProcessTable().values()) {
    if (info.pid === process.pid || !isLive(info)) continue;
    try {
      if (readFileSync(`/proc/${info.pid}/environ`).includes(needle)) found.push(info);
    } catch {
      // exited, or not ours to read
    }
  }
  return found;
}

/** Live processes in the group of the wrapper whose pid file is in spool directory `dir` (0 without one). */
export function processesOfSpoolDir(dir: string | undefined): number {
  if (dir === undefined) return 0;
  let pid = 0;
  try {
    pid = Number(readFileSync(`${dir}/pid`, 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
  return pid > 0 ? countProcessGroup(pid) : 0;
}
