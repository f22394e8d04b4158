// Reading the tasks of a time window, newest first, with a cap on how many records one call reads.
import type { TaskView } from '../tasks/record.js';
import { splitScores, type SearchableTasks } from '../tasks/search.js';

/** Records read per round trip. */
const BATCH = 200;

export interface RecentTasks {
  /** The tasks created in the window that still have a record, newest first. */
  views: TaskView[];
  /** How many ids were read (records that expired count too). */
  scanned: number;
  /** Whether the cap stopped the read before the window's oldest task. */
  capped: boolean;
}

/**
 * The tasks created from `since` to `until` (ms), newest first, reading at most `max` ids: the
 * charts' endpoints stay bounded however many tasks a deployment keeps. `keep` filters while
 * reading, so that it does not hold every record of a busy window.
 */
export async function readRecentTasks(
  client: SearchableTasks,
  options: { since: number; until?: number; max: number; keep?: (view: TaskView) => boolean },
): Promise<RecentTasks> {
  const views: TaskView[] = [];
  let scanned = 0;
  // Pages go by score (creation time), not offset: views() drops expired ids from the index as it reads.
  let max = options.until === undefined ? '+inf' : String(options.until);
  let atMax = new Set<string>();
  while (scanned < options.max) {
    const count = Math.min(BATCH, options.max - scanned);
    const page = await client.redis.zrevrangebyscore(
      client.keys.byCreated(),
      max,
      String(options.since),
      'WITHSCORES',
      'LIMIT',
      atMax.size,
      count,
    );
    const { ids, scores } = splitScores(page);
    if (ids.length === 0) return { views, scanned, capped: false };
    scanned += ids.length;
    for (const view of await client.views(ids)) if (!options.keep || options.keep(view)) views.push(view);
    if (ids.length < count) return { views, scanned, capped: false };
    const last = scores.at(-1)!;
    const next = String(last);
    atMax = new Set([...(next === max ? atMax : []), ...ids.filter((_, i) => scores[i] === last)]);
    max = next;
  }
  const rest = await client.redis.zrevrangebyscore(
    client.keys.byCreated(),
    max,
    String(options.since),
    'LIMIT',
    atMax.size,
    1,
  );
  return { views, scanned, capped: rest.length > 0 };
}
