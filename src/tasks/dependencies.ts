// Tasks that run after others (`--after`): registered when enqueued, released or cancelled when
// the tasks they wait for end. A blocked task's job waits in its queue's delayed set until then.
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from './keys.js';
import { queueOf } from './queues.js';
import { readQueueStates } from '../redis/queue-states.js';
import type { TaskRecord } from './record.js';

/**
 * When a blocked task's job is due on its own: far enough to be never, within BullMQ's delayed
 * scores (timestamp × 4096 must stay below 2^53, that is before 2039).
 */
export const BLOCKED_UNTIL = Date.UTC(2037, 0, 1);

/** What one dependency's end means for the task waiting for it. */
interface DependencyEnd {
  id: string;
  name?: string;
  /** Undefined while it runs; `gone` when its record no longer exists. */
  outcome?: string;
}

/** What a blocked task is to do now. */
export type BlockedDecision =
  { kind: 'wait'; pending: DependencyEnd[] } | { kind: 'release' } | { kind: 'cancel'; reason: string };

/** The tasks waiting for each task of `after` learn of the new one: written before its job is added. */
export function registerDependent(redis: RedisClient, keys: TaskKeys, id: string, createdAt: number, after: string[]) {
  const multi = redis.multi();
  for (const dependency of after) multi.sadd(keys.dependents(dependency), id);
  multi.zadd(keys.blocked(), createdAt, id);
  return multi.exec();
}

/** How the tasks of `after` stand: one round trip, and one more per dependency still pending. */
export async function readDependencyEnds(
  redis: RedisClient,
  keys: TaskKeys,
  after: string[],
): Promise<DependencyEnd[]> {
  const pipeline = redis.pipeline();
  for (const id of after) pipeline.hmget(keys.record(id), 'id', 'outcome', 'name', 'executor');
  const replies = (await pipeline.exec()) ?? [];
  return Promise.all(
    after.map(async (id, index) => {
      const [error, value] = replies[index] ?? [];
      if (error) throw error;
      const [found, outcome, name, executor] = (value ?? []) as (string | null)[];
      if (found === null) return { id, name: undefined, outcome: 'gone' };
      // No outcome yet: its job says whether it ended anyway (a worker that failed it without
      // recording why, a job removed by hand), so that its dependents never wait for nothing.
      const ended = outcome ?? (executor ? await endedJobOutcome(redis, keys, executor, id) : undefined);
      return { id, name: name ?? undefined, outcome: ended };
    }),
  );
}

/**
 * The end a task's BullMQ job shows when its record shows none: `completed` or `failed` for a
 * finished job, `lost` for one gone from its queue; undefined while it waits or runs.
 */
export async function endedJobOutcome(
  redis: RedisClient,
  keys: TaskKeys,
  executor: string,
  id: string,
): Promise<'completed' | 'failed' | 'lost' | undefined> {
  const state = (await readQueueStates(redis, keys.prefix, executor, [id])).get(id)?.state;
  if (state === 'completed' || state === 'failed') return state;
  return state === 'unknown' ? 'lost' : undefined;
}

/** Whether a blocked task waits on, runs now, or never runs, given how its dependencies stand. */
export function decideBlocked(record: Pick<TaskRecord, 'afterAny'>, ends: DependencyEnd[]): BlockedDecision {
  const pending = ends.filter((end) => end.outcome === undefined);
  const unmet = record.afterAny
    ? undefined
    : ends.find((end) => end.outcome !== undefined && end.outcome !== 'completed');
  // A dependency that failed decides at once, even while others still run: it can never be met.
  if (unmet) return { kind: 'cancel', reason: `not run: ${describeUnmet(unmet)}` };
  if (pending.length > 0) return { kind: 'wait', pending };
  return { kind: 'release' };
}

// Why a blocked task will never run, naming the dependency.
function describeUnmet(end: DependencyEnd): string {
  const task = `task ${end.id}${end.name !== undefined ? ` (${end.name})` : ''}`;
  return end.outcome === 'gone'
    ? `it runs after ${task}, which is no longer kept (cleaned up, or past its retention)`
    : `it runs after ${task}, which ended ${end.outcome} (--after-any runs it whatever the end)`;
}

/**
 * Lets a blocked task's job go: the record stops saying blocked (so that a worker taking the job
 * runs it), the job is promoted to run now or to wait for its `--delay`/`--at`, and the task
 * leaves the blocked index. A job no longer delayed was released before (or removed): fine. A
 * failure while the job is still delayed is thrown; the task stays in the index for the sweep.
 */
export async function releaseBlocked(redis: RedisClient, keys: TaskKeys, record: TaskRecord, now = Date.now()) {
  await redis
    .multi()
    .hdel(keys.record(record.id), 'blocked')
    .hset(keys.record(record.id), 'updated_at', String(now), 'ready_at', String(Math.max(now, record.runAt ?? 0)))
    .exec();
  const job = await queueOf(redis, keys.prefix, record.executor).getJob(record.id);
  if (job) {
    try {
      if (record.runAt !== undefined && record.runAt > now) await job.changeDelay(record.runAt - now);
      else await job.promote();
    } catch (error) {
      if ((await job.getState()) === 'delayed') throw error;
    }
  }
  await redis.zrem(keys.blocked(), record.id);
}

/**
 * The cycle an `after` list would close for task `id`: the chain back to `id`, or undefined.
 * Only a caller-chosen id can close one (every other task exists before it); checked anyway,
 * through the `after` of every task on the way, at most `limit` records.
 */
export async function findDependencyCycle(
  redis: RedisClient,
  keys: TaskKeys,
  id: string,
  after: string[],
  limit = 1000,
): Promise<string[] | undefined> {
  const seen = new Set<string>();
  const stack = after.map((dependency) => [dependency]);
  while (stack.length > 0 && seen.size < limit) {
    const chain = stack.pop()!;
    const current = chain[chain.length - 1]!;
    if (current === id) return chain;
    if (seen.has(current)) continue;
    seen.add(current);
    const text = await redis.hget(keys.record(current), 'after');
    if (text === null) continue;
    try {
      for (const next of JSON.parse(text) as string[]) stack.push([...chain, next]);
    } catch {
      // an unreadable list adds nothing
    }
  }
  return undefined;
}
