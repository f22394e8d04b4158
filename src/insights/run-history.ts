// A task's earlier runs: the tasks of the same name (or, unnamed, the same command or prompt).
import type { TaskView } from '../tasks/record.js';
import { cursorAfterTask, searchTasks, searchWords, type SearchableTasks } from '../tasks/search.js';

/** One run of the series, as the history chart draws it. */
export interface HistoryRun {
  task_id: string;
  status: string;
  executor: string;
  duration_ms: number | null;
  started_at: string | null;
}

export interface RunHistory {
  task_id: string;
  /** What the runs share: the name, else the command or prompt. */
  match: { name: string } | { summary: string };
  /** Oldest first; the task itself last. */
  runs: HistoryRun[];
  /** The median duration of the earlier runs that completed; null when there are none. */
  median_ms: number | null;
  /** How many runs the median is of. */
  median_of: number;
  /** Whether the read stopped at its cap before finding `runs` runs or the oldest task. */
  capped: boolean;
}

export interface RunHistoryOptions {
  /** Runs in the answer, the task itself included. @default 20 */
  runs?: number;
  /** Most task ids read looking for them. @default 1000 */
  maxScanned?: number;
}

const PAGE = 200;
/** Query words used to narrow the read through the word index; the exact match is checked after. */
const QUERY_WORDS = 20;

/**
 * The task and up to `runs - 1` earlier tasks like it, found through the word index of their
 * name (or command or prompt) and compared exactly; at most `maxScanned` ids are read.
 */
export async function readRunHistory(
  client: SearchableTasks,
  view: TaskView,
  options: RunHistoryOptions = {},
  now = Date.now(),
): Promise<RunHistory> {
  const wanted = options.runs ?? 20;
  const maxScanned = options.maxScanned ?? 1000;
  const r = view.record;
  const same = (other: TaskView) =>
    other.record.taskType === r.taskType &&
    (r.name !== undefined
      ? other.record.name === r.name
      : other.record.name === undefined && other.record.summary === r.summary);
  const q = searchWords(r.name ?? r.summary)
    .slice(0, QUERY_WORDS)
    .join(' ');
  const earlier: TaskView[] = [];
  let cursor: string | undefined = cursorAfterTask(r.createdAt, r.id);
  let scanned = 0;
  while (cursor !== undefined && earlier.length < wanted - 1 && scanned < maxScanned) {
    const size = Math.min(PAGE, maxScanned - scanned);
    const page = await searchTasks(client, { q, limit: size, scanLimit: size, cursor });
    scanned += size;
    for (const other of page.views) if (same(other) && earlier.length < wanted - 1) earlier.push(other);
    cursor = page.nextCursor;
  }
  const runs = [...earlier.reverse(), view].map((v) => runOf(v, now));
  const completed = runs
    .slice(0, -1)
    .filter((run) => run.status === 'completed' && run.duration_ms !== null)
    .map((run) => run.duration_ms!);
  return {
    task_id: r.id,
    match: r.name !== undefined ? { name: r.name } : { summary: r.summary },
    runs,
    median_ms: median(completed),
    median_of: completed.length,
    capped: cursor !== undefined && earlier.length < wanted - 1,
  };
}

function runOf(view: TaskView, now: number): HistoryRun {
  const r = view.record;
  const end = r.finishedAt ?? (view.status === 'running' ? now : undefined);
  return {
    task_id: r.id,
    status: view.status,
    executor: r.executor,
    duration_ms: r.startedAt !== undefined && end !== undefined ? end - r.startedAt : null,
    started_at: r.startedAt === undefined ? null : new Date(r.startedAt).toISOString(),
  };
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
