// What Claude tasks cost per day, from the `total_cost_usd` of their result lines.
import type { SearchableTasks } from '../tasks/search.js';
import { readRecentTasks } from './recent-tasks.js';

export interface CostDay {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  cost_usd: number;
  /** Claude tasks created that day that reported a cost. */
  tasks: number;
}

export interface ClaudeCost {
  days: CostDay[];
  total_usd: number;
  capped: boolean;
  scanned: number;
}

const DAY = 86_400_000;

/**
 * The cost of the Claude tasks created on each of the last `days` UTC days (today included),
 * oldest first, reading at most `maxScanned` task ids. A task counts once it has reported its
 * cost (its result line); a running one has not yet.
 */
export async function readClaudeCost(
  client: SearchableTasks,
  options: { days?: number; maxScanned?: number } = {},
  now = Date.now(),
): Promise<ClaudeCost> {
  const count = options.days ?? 14;
  const first = Math.floor(now / DAY) * DAY - (count - 1) * DAY;
  const days: CostDay[] = Array.from({ length: count }, (_, i) => ({
    date: new Date(first + i * DAY).toISOString().slice(0, 10),
    cost_usd: 0,
    tasks: 0,
  }));
  const read = await readRecentTasks(client, {
    since: first,
    max: options.maxScanned ?? 5000,
    keep: (view) => view.record.taskType === 'claude_code' && view.record.claude?.total_cost_usd !== undefined,
  });
  for (const view of read.views) {
    const day = days[Math.floor((view.record.createdAt - first) / DAY)];
    if (!day) continue;
    day.cost_usd += view.record.claude!.total_cost_usd!;
    day.tasks++;
  }
  for (const day of days) day.cost_usd = roundMillionths(day.cost_usd);
  return {
    days,
    total_usd: roundMillionths(days.reduce((sum, day) => sum + day.cost_usd, 0)),
    capped: read.capped,
    scanned: read.scanned,
  };
}

// Sums of floats kept to a millionth of a dollar, without float noise.
function roundMillionths(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
