// Which workers serve each executor, read from the presence keys their beats keep alive
// (src/worker/worker-presence.ts): for `executors`, the API, /metrics, `status`, and the warning
// of a dispatch to an executor nobody serves.
import { z } from 'zod';
import { formatDuration } from '../config/duration.js';
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from './keys.js';

/** One live worker process, as its last beat described it. */
export interface WorkerPresence {
  id: string;
  executor: string;
  /** Its host id (OPENCLAW_AGENT_HOST_ID, worker.host_id, the hostname). */
  host: string;
  pid: number;
  version: string;
  startedAt: number;
  /** Tasks it runs at once. */
  concurrency: number;
  /** Tasks it was running at its last beat. */
  running: number;
  lastSeenAt: number;
}

/** An executor's live workers and when one last beat for it (undefined: never). */
export interface ExecutorService {
  workers: WorkerPresence[];
  lastServedAt: number | undefined;
}

/** Whether some worker of an executor is alive, from the one short-lived key all of them refresh. */
export interface ServedState {
  alive: boolean;
  lastServedAt: number | undefined;
}

const WorkerPresenceSchema = z.object({
  id: z.string(),
  executor: z.string(),
  host: z.string(),
  pid: z.number().int(),
  version: z.string(),
  startedAt: z.number(),
  concurrency: z.number().int(),
  running: z.number().int(),
  lastSeenAt: z.number(),
});

/** A presence key's JSON, or undefined when it is gone or unreadable. */
export function parseWorkerPresence(text: string | null | undefined): WorkerPresence | undefined {
  if (!text) return undefined;
  try {
    const parsed = WorkerPresenceSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseMs(text: unknown): number | undefined {
  const ms = typeof text === 'string' ? Number(text) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

// Drops a member whose presence key is gone, unless it came back since it was read (a late beat).
const PRUNE_SOURCE = `if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end return 0`;

/**
 * The live workers of each executor in `names`, in two round trips: the members and last-served
 * times, then the members' presence keys. Members whose key lapsed (a killed worker) are pruned.
 */
export async function readExecutorWorkers(
  redis: RedisClient,
  keys: TaskKeys,
  names: readonly string[],
): Promise<Map<string, ExecutorService>> {
  const out = new Map<string, ExecutorService>();
  if (names.length === 0) return out;
  const first = redis.pipeline();
  for (const name of names) first.smembers(keys.executorWorkers(name)).get(keys.executorServed(name));
  const replies = (await first.exec()) ?? [];
  const members = names.map((_, index) => (replies[index * 2]?.[1] as string[] | undefined) ?? []);
  const second = redis.pipeline();
  for (const id of members.flat()) second.get(keys.workerPresence(id));
  const presences = members.flat().length > 0 ? ((await second.exec()) ?? []) : [];
  const gone = redis.pipeline();
  let at = 0;
  names.forEach((name, index) => {
    const workers: WorkerPresence[] = [];
    for (const id of members[index]!) {
      const presence = parseWorkerPresence(presences[at++]?.[1] as string | null);
      if (presence) workers.push(presence);
      else gone.eval(PRUNE_SOURCE, 2, keys.executorWorkers(name), keys.workerPresence(id), id);
    }
    workers.sort((a, b) => a.host.localeCompare(b.host) || a.startedAt - b.startedAt);
    out.set(name, { workers, lastServedAt: parseMs(replies[index * 2 + 1]?.[1]) });
  });
  if (gone.length > 0) await gone.exec().catch(() => undefined);
  return out;
}

/** Whether each executor in `names` has a live worker, and when one last served it: one round trip. */
export async function readServedExecutors(
  redis: RedisClient,
  keys: TaskKeys,
  names: readonly string[],
): Promise<Map<string, ServedState>> {
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.mget(keys.executorServing(name), keys.executorServed(name));
  const replies = names.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  // A read that failed says nothing either way: such an executor is left out, not taken as unserved.
  return new Map(
    names.flatMap((name, index) => {
      const [error, reply] = replies[index] ?? [new Error('no reply')];
      return error ? [] : [[name, servedStateOf(reply)] as const];
    }),
  );
}

/** An MGET of an executor's serving and served keys, as a ServedState. */
export function servedStateOf(reply: unknown): ServedState {
  const [serving, served] = Array.isArray(reply) ? (reply as unknown[]) : [];
  return { alive: serving !== null && serving !== undefined, lastServedAt: parseMs(served) };
}

/** "no worker has served executor "crib" for 12m00s", or "… has ever served …". */
export function describeUnserved(executor: string, lastServedAt: number | undefined, now = Date.now()): string {
  return lastServedAt === undefined
    ? `no worker has ever served executor "${executor}"`
    : `no worker has served executor "${executor}" for ${formatDuration(Math.max(0, now - lastServedAt))}`;
}

/**
 * The command that starts a worker for `executor`, quoted for the text around it. `namedRedisUrl`
 * is the Redis the user named (REDIS_URL or redis.url; see namedRedisUrl): a plain `up` would
 * start a Redis of its own beside it, so `up` is offered with that URL, or not at all when the
 * URL may hold a password or needs quoting.
 */
export function startWorkerHint(executor: string, namedRedisUrl?: string): string {
  const worker = `start one with \`openclaw-agent worker --executor ${executor}\``;
  if (namedRedisUrl === undefined) return `${worker} (or \`openclaw-agent up\`)`;
  return isShowableUrl(namedRedisUrl) ? `${worker} (or \`openclaw-agent up --redis-url ${namedRedisUrl}\`)` : worker;
}

// A URL shown as it is: no `@` or `?` (a user part or query, where a password goes), and no
// character a shell (zsh globs `[…]`) or the text around it would read.
function isShowableUrl(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[A-Za-z0-9_%.,:/-]+$/.test(url);
}

/**
 * The warning of a dispatch to an executor without a live worker (undefined when one is alive):
 * built from the executor's name (checked against the config), a time and the Redis URL the user
 * named when it shows no password (startWorkerHint), nothing else.
 */
export function unservedWarning(
  executor: string,
  state: ServedState | undefined,
  namedRedisUrl?: string,
  now = Date.now(),
): string | undefined {
  if (state === undefined || state.alive) return undefined;
  return `${describeUnserved(executor, state.lastServedAt, now)}: the task waits until one does — ${startWorkerHint(executor, namedRedisUrl)}`;
}
