// Where the program keeps its files on this machine: the data directory and the local spool.
import { homedir } from 'node:os';
import path from 'node:path';

/** The program's data directory: `OPENCLAW_AGENT_HOME`, else `$XDG_DATA_HOME/openclaw-agent`. */
export function dataDir(): string {
  if (process.env.OPENCLAW_AGENT_HOME) return path.resolve(process.env.OPENCLAW_AGENT_HOME);
  const base = process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share');
  return path.join(base, 'openclaw-agent');
}

/** Where a local executor keeps its per-task spool directories. */
export function spoolRoot(configured?: string): string {
  return configured ? path.resolve(configured) : path.join(dataDir(), 'tasks');
}
