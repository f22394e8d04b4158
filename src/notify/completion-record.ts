// The original tool's completion file per task, and the JSON body every webhook carries.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { TaskRecord } from '../tasks/record.js';
import { TASK_ID_PATTERN } from '../tasks/request.js';

/** The original tool's completion record directory, on the host of the worker that ran the task. */
export function completionsDir(home: string = homedir()): string {
  return path.join(home, '.openclaw-agent', 'completions');
}

/**
 * Writes `~/.openclaw-agent/completions/<id>.json` in the original tool's shape (status
 * "success" or "failure", exit code -1 when there is none), for tools that watch that directory.
 * The id names the file, so it must be a task id (a UUID): never a path read from a record hash.
 */
export function writeCompletionRecord(record: TaskRecord, home?: string): string {
  if (!TASK_ID_PATTERN.test(record.id)) throw new Error(`not a task id: ${JSON.stringify(record.id.slice(0, 80))}`);
  const dir = completionsDir(home);
  const file = path.join(dir, `${record.id}.json`);
  const body = {
    task_id: record.id,
    status: record.outcome === 'completed' ? 'success' : 'failure',
    exit_code: record.exitCode ?? -1,
    completed_at: record.finishedAt === undefined ? '' : new Date(record.finishedAt).toISOString(),
    executor: record.executor,
  };
  const text = `${JSON.stringify(body, null, 2)}\n`;
  // Synchronous: a few hundred bytes on a local disk cost less than five trips through the
  // thread pool, and this runs once per task on the worker's path to the next one.
  try {
    writeFileSync(`${file}.tmp`, text);
  } catch (error) {
    // The directory is made when it is missing (the first record, or removed since).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.tmp`, text);
  }
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Removes a task's completion file from this host, if there is one (for `cleanup`). */
export function removeCompletionRecord(taskId: string, home?: string): void {
  if (!TASK_ID_PATTERN.test(taskId)) throw new Error(`not a task id: ${JSON.stringify(taskId.slice(0, 80))}`);
  rmSync(path.join(completionsDir(home), `${taskId}.json`), { force: true });
}

// The files of ours in the completions directory: a task's record, or one left half-written.
const COMPLETION_FILE = /^([0-9a-f-]+)\.json(\.tmp)?$/;

/**
 * Removes completion files written more than `retentionMs` ago, as their tasks' records expire in
 * Redis: one file per task would otherwise pile up on every worker's host for good. Only files
 * named after a task id are touched. Returns how many were removed.
 */
export async function sweepCompletionRecords(retentionMs: number, home?: string, now = Date.now()): Promise<number> {
  const dir = completionsDir(home);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const match = COMPLETION_FILE.exec(name);
    if (!match || !TASK_ID_PATTERN.test(match[1]!)) continue;
    const file = path.join(dir, name);
    const written = await stat(file).catch(() => undefined);
    if (!written?.isFile() || now - written.mtimeMs < retentionMs) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

/**
 * The JSON a completion webhook carries: the original tool's fields first (`status` is one of
 * our statuses), then the new ones.
 */
export function buildCompletionPayload(record: TaskRecord): Record<string, unknown> {
  return {
    task_id: record.id,
    status: record.outcome ?? 'failed',
    exit_code: record.exitCode ?? null,
    completed_at: record.finishedAt === undefined ? null : new Date(record.finishedAt).toISOString(),
    executor: record.executor,
    task_type: record.taskType,
    duration_ms:
      record.startedAt !== undefined && record.finishedAt !== undefined ? record.finishedAt - record.startedAt : null,
    name: record.name ?? null,
    error: record.error ?? null,
    signal: record.signal ?? null,
    attempt: record.attempt,
    ...(record.taskType === 'claude_code'
      ? {
          claude: {
            session_id: record.claude?.session_id ?? null,
            subtype: record.claude?.subtype ?? null,
            num_turns: record.claude?.num_turns ?? record.claude?.turns ?? null,
            total_cost_usd: record.claude?.total_cost_usd ?? null,
            result: record.claude?.result ?? null,
          },
        }
      : {}),
    // A task in a worktree: its branch and what it changed against its base.
    ...(record.git ? { git: record.git } : {}),
  };
}
