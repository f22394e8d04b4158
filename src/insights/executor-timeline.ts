// What an executor did in the last hours: a bar per task, and how many tasks waited, over time.
import type { TaskView } from '../tasks/record.js';
import type { SearchableTasks } from '../tasks/search.js';
import { readRecentTasks } from './recent-tasks.js';

/** One task on the timeline; times are ISO 8601, `finished_at` null while it runs or waits. */
export interface TimelineTask {
  task_id: string;
  task_type: string;
  name: string | null;
  summary: string;
  status: string;
  created_at: string;
  /** When it could start: its creation, or its `run_at` when later. */
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The number of tasks waiting to start from `at` until the next point. */
export interface DepthPoint {
  at: string;
  depth: number;
}

export interface ExecutorTimeline {
  executor: string;
  from: string;
  to: string;
  tasks: TimelineTask[];
  queue_depth: DepthPoint[];
  /** Whether the read stopped at its cap (older tasks of the window are missing). */
  capped: boolean;
  scanned: number;
}

export interface TimelineOptions {
  /** How far back the timeline goes. @default 6 */
  hours?: number;
  /** Most task ids read (of every executor). @default 2000 */
  maxScanned?: number;
  /**
   * How long before the window a task may have been created and still show: one created earlier
   * that ran into the window is missed. @default 24 hours
   */
  lookbackMs?: number;
}

const HOUR = 3_600_000;

/**
 * The tasks of `executor` that waited or ran in the last `hours`, oldest first, and the queue
 * depth derived from their records: a task counts as waiting from `queued_at` until it starts
 * (or ends without starting, or now). Blocked and scheduled tasks that have not started do not count.
 */
export async function readExecutorTimeline(
  client: SearchableTasks,
  executor: string,
  options: TimelineOptions = {},
  now = Date.now(),
): Promise<ExecutorTimeline> {
  return (await readExecutorTimelines(client, [executor], options, now))[0]!;
}

/**
 * The timelines of several executors from one read of the window (its cap counts the tasks of
 * every executor): what the panel draws, one per executor, without reading the window again each.
 */
export async function readExecutorTimelines(
  client: SearchableTasks,
  executors: readonly string[],
  options: TimelineOptions = {},
  now = Date.now(),
): Promise<ExecutorTimeline[]> {
  const from = now - (options.hours ?? 6) * HOUR;
  const wanted = new Set(executors);
  const read = await readRecentTasks(client, {
    since: from - (options.lookbackMs ?? 24 * HOUR),
    max: options.maxScanned ?? 2000,
    keep: (view) => wanted.has(view.record.executor) && (view.record.finishedAt ?? now) >= from,
  });
  return executors.map((executor) => {
    const views = read.views.filter((view) => view.record.executor === executor);
    return {
      executor,
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      tasks: [...views].reverse().map(timelineTaskOf),
      queue_depth: queueDepth(views, from, now),
      capped: read.capped,
      scanned: read.scanned,
    };
  });
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

// When it could first run: made, its start time come, or let go from --after or for a turn.
function queuedAt(view: TaskView): number {
  return Math.max(view.record.createdAt, view.record.runAt ?? 0, view.record.readyAt ?? 0);
}

function timelineTaskOf(view: TaskView): TimelineTask {
  const r = view.record;
  return {
    task_id: r.id,
    task_type: r.taskType,
    name: r.name ?? null,
    summary: r.summary,
    status: view.status,
    created_at: new Date(r.createdAt).toISOString(),
    queued_at: new Date(queuedAt(view)).toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
  };
}

// The step function of waiting tasks over [from, now]: a point at `from` and at every change.
function queueDepth(views: readonly TaskView[], from: number, now: number): DepthPoint[] {
  const changes = new Map<number, number>();
  const add = (at: number, delta: number) => changes.set(at, (changes.get(at) ?? 0) + delta);
  for (const view of views) {
    if (view.record.startedAt === undefined && (view.status === 'blocked' || view.status === 'scheduled')) continue;
    const start = queuedAt(view);
    const end = Math.min(view.record.startedAt ?? view.record.finishedAt ?? now, now);
    if (end <= start || end < from) continue;
    add(Math.max(start, from), 1);
    if (end < now) add(end, -1);
  }
  const points: DepthPoint[] = [];
  let depth = 0;
  for (const at of [...changes.keys()].sort((a, b) => a - b)) {
    depth += changes.get(at)!;
    if (points.length === 0 && at > from) points.push({ at: new Date(from).toISOString(), depth: 0 });
    const last = points.at(-1);
    if (last && last.at === new Date(at).toISOString()) last.depth = depth;
    else points.push({ at: new Date(at).toISOString(), depth });
  }
  if (points.length === 0) points.push({ at: new Date(from).toISOString(), depth: 0 });
  return points;
}
