// Ending a task that has not started (blocked, scheduled, queued, or between runs): its job leaves
// the queue, and the task ends cancelled (or killed, when it has run before).
import type { RedisClient } from '../redis/connection.js';
import type { LoadedConfig } from '../config/config.js';
import { finishTask } from './finish.js';
import type { TaskKeys } from './keys.js';
import { queueOf } from './queues.js';
import type { TaskRecord } from './record.js';
import { TaskRequestSchema } from './request.js';
import { readKeptRequest } from './store.js';

/** What the steps that end or release waiting tasks need: a TaskClient has all of it. */
export interface TaskContext {
  redis: RedisClient;
  keys: TaskKeys;
  config: LoadedConfig;
}

/**
 * Removes a waiting task's job and ends the task, announced like any end. `taken` when a worker
 * took the job meanwhile (it is running: stop it instead). `reason` is the error recorded; the
 * default says it never started, or which run it was waiting for.
 */
export async function cancelWaitingTask(
  ctx: TaskContext,
  record: TaskRecord,
  reason?: string,
): Promise<'ended' | 'taken'> {
  const id = record.id;
  const job = await queueOf(ctx.redis, ctx.keys.prefix, record.executor).getJob(id);
  if (job) {
    const removed = await job.remove().then(
      () => true,
      () => false,
    );
    if (!removed) return 'taken';
  }
  // A task waiting for a retry (or for a usage limit) has run before: it is killed, not cancelled.
  const retrying = record.attempts.length > 0;
  const waitingFor = record.limit?.until !== undefined ? 'the usage limit' : `attempt ${record.attempts.length + 1}`;
  const end = {
    outcome: retrying ? ('killed' as const) : ('cancelled' as const),
    exitCode: null,
    signal: null,
    error: reason ?? (retrying ? `killed while waiting for ${waitingFor}` : 'cancelled before it started'),
    finishedAt: Date.now(),
  };
  const parsed = TaskRequestSchema.safeParse(job?.data);
  const request = parsed.success ? parsed.data : await readKeptRequest(ctx.redis, ctx.keys, id);
  // A job this deployment did not sign is announced as a refused one would be (finishTask checks).
  await finishTask(ctx.redis, ctx.keys, id, end, {
    retentionMs: ctx.config.retention,
    maxLogEntries: ctx.config.logs.max_entries,
    announce: request ? { config: ctx.config, record, request } : undefined,
  });
  return 'ended';
}
