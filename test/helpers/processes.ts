import { readdirSync, readFileSync } from 'node:fs';

/** Live (non-zombie) processes on this host whose process group is `pgid`, read from /proc. */
export function countProcessGroup(pgid: number): number {
  let count = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) count++;
    } catch {
      // exited while we looked
    }
  }
  return count;
}
