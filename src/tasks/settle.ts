// What a task's end sets off for the tasks waiting on it: the tasks that run after it are released
// or cancelled, and its concurrency turn passes on. Run by whoever ends a task; a sweep in every
// worker makes up for one that died in between.
import { describeError } from '../errors.js';
import { type TaskContext, cancelWaitingTask } from './cancel.js';
import { giveBackTurn } from './concurrency.js';
import { decideBlocked, endedJobOutcome, readDependencyEnds, releaseBlocked } from './dependencies.js';
import { queueOf } from './queues.js';
import { parseRecordHash, type TaskRecord } from './record.js';

/** How many blocked tasks one sweep reads at a time. */
const SWEEP_BATCH = 1000;
/** How long one worker's sweep keeps the others from sweeping too (shorter than the interval). */
const SWEEP_LOCK_MS = 8000;

/**
 * Settles what waits on an ended task (and, for each task this cancels, what waits on that one):
 * its dependents run or end `cancelled`, and its concurrency turn goes to the next in line.
 * Idempotent: two workers settling the same end do the same thing once.
 */
export async function settleTaskEnd(ctx: TaskContext, taskId: string, known?: TaskRecord): Promise<void> {
  const ended = [taskId];
  for (let id = ended.shift(); id !== undefined; id = ended.shift()) {
    // One round trip for a task nothing waits on (most): its dependents, none.
    const dependents = await ctx.redis.smembers(ctx.keys.dependents(id));
    for (const dependent of dependents) {
      if ((await settleBlockedTask(ctx, dependent)) === 'cancelled') ended.push(dependent);
    }
    const record = id === taskId && known?.outcome !== undefined ? known : await readRecord(ctx, id);
    if (record?.outcome === undefined) continue;
    if (dependents.length > 0) {
      await ctx.redis.expire(ctx.keys.dependents(id), Math.max(1, Math.ceil(ctx.config.retention / 1000)));
    }
    if (record.concurrency) await passTurnOn(ctx, record.id, record.concurrency);
  }
}

/**
 * Looks at one blocked task: released when its dependencies are met, ended `cancelled` (naming the
 * dependency) when one can no longer be, left blocked while they run.
 */
export async function settleBlockedTask(
  ctx: TaskContext,
  id: string,
): Promise<'blocked' | 'released' | 'cancelled' | 'settled'> {
  const record = await readRecord(ctx, id);
  if (!record || record.outcome !== undefined) {
    await ctx.redis.zrem(ctx.keys.blocked(), id);
    return 'settled';
  }
  // Still indexed but no longer blocked: a release that stopped half-way. Finish it.
  if (!record.blocked) {
    await releaseBlocked(ctx.redis, ctx.keys, record);
    return 'released';
  }
  const decision = decideBlocked(record, await readDependencyEnds(ctx.redis, ctx.keys, record.after ?? []));
  if (decision.kind === 'wait') return 'blocked';
  if (decision.kind === 'release') {
    await releaseBlocked(ctx.redis, ctx.keys, record);
    return 'released';
  }
  const result = await cancelWaitingTask(ctx, record, decision.reason);
  await ctx.redis.zrem(ctx.keys.blocked(), id);
  return result === 'ended' ? 'cancelled' : 'settled';
}

/** Ends a task that has not started, and settles what waited on it; `taken` when a worker has it. */
export async function endWaitingTask(
  ctx: TaskContext,
  record: TaskRecord,
  reason?: string,
): Promise<'ended' | 'taken'> {
  const result = await cancelWaitingTask(ctx, record, reason);
  if (result === 'ended') await settleTaskEnd(ctx, record.id);
  return result;
}

/**
 * Makes up for settlements missed by a process that died after ending a task: blocked tasks whose
 * dependencies ended, and concurrency turns held or queued for by tasks that ended. A task whose
 * settlement fails is told to `log` in one line and left for the next sweep; the others go on.
 */
export async function sweepWaitingTasks(ctx: TaskContext, log: (line: string) => void = () => {}): Promise<void> {
  // One worker of the deployment sweeps at a time.
  if ((await ctx.redis.set(ctx.keys.sweepLock(), '1', 'PX', SWEEP_LOCK_MS, 'NX')) !== 'OK') return;
  const attempt = async <T>(what: string, step: () => Promise<T>): Promise<T | 'failed'> => {
    try {
      return await step();
    } catch (error) {
      log(`pipeline sweep: ${what}: ${describeError(error)}`);
      return 'failed';
    }
  };
  // Those settled leave the index: the next page starts after the ones still blocked (or failed).
  for (let start = 0; ;) {
    const ids = await ctx.redis.zrange(ctx.keys.blocked(), start, start + SWEEP_BATCH - 1);
    let left = 0;
    for (const id of ids) {
      const result = await attempt(`blocked task ${id}`, async () => {
        const settled = await settleBlockedTask(ctx, id);
        if (settled === 'cancelled') await settleTaskEnd(ctx, id);
        return settled;
      });
      if (result === 'blocked' || result === 'failed') left++;
    }
    if (ids.length < SWEEP_BATCH) break;
    start += left;
  }
  for (const key of await ctx.redis.smembers(ctx.keys.concurrencyKeys())) {
    const ids = await attempt(`concurrency key "${key}"`, async () => {
      const [holders, waiters, tasks] = await Promise.all([
        ctx.redis.smembers(ctx.keys.concurrencyHolders(key)),
        ctx.redis.zrange(ctx.keys.concurrencyWaiters(key), 0, -1),
        ctx.redis.zrange(ctx.keys.concurrencyTasks(key), 0, -1),
      ]);
      return new Set([...holders, ...waiters, ...tasks]);
    });
    if (ids === 'failed') continue;
    for (const id of ids) {
      await attempt(`turn of task ${id} (concurrency key "${key}")`, async () => {
        const record = await readRecord(ctx, id);
        // A task whose job ended without a recorded end (or is gone) gives its turn back too.
        const ended =
          record === undefined ||
          record.outcome !== undefined ||
          (await endedJobOutcome(ctx.redis, ctx.keys, record.executor, id)) !== undefined;
        if (ended) await passTurnOn(ctx, id, record?.concurrency ?? { key, limit: 1 });
      });
    }
  }
}

// Gives back an ended task's turn and promotes the waiters first in line for it.
async function passTurnOn(ctx: TaskContext, id: string, concurrency: { key: string; limit: number }): Promise<void> {
  for (const next of await giveBackTurn(ctx.redis, ctx.keys, id, concurrency)) {
    const executor = await ctx.redis.hget(ctx.keys.record(next), 'executor');
    if (executor === null) continue;
    await ctx.redis.hset(ctx.keys.record(next), 'ready_at', String(Date.now()));
    const job = await queueOf(ctx.redis, ctx.keys.prefix, executor).getJob(next);
    // Not delayed (a worker has it, or it is on its way to one): it takes its turn itself.
    await job?.promote().catch(() => undefined);
  }
}

async function readRecord(ctx: TaskContext, id: string): Promise<TaskRecord | undefined> {
  return parseRecordHash(await ctx.redis.hgetall(ctx.keys.record(id)));
}
