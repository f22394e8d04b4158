// Ending a task that has not started (blocked, scheduled, queued, or between runs): its job leaves
// the queue, and the task ends cancelled (or killed, when it has run before); a worktree it ran in
// is left as a run's end leaves it.
import type { RedisClient } from '../redis/connection.js';
import type { LoadedConfig } from '../config/config.js';
import { leaveWorktreeBetweenRuns } from '../git/worktree-steps.js';
import { appendSystemLine } from '../logs/log-stream.js';
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
  // A worktree task that ran before (killed between runs) gets the end step its last run's end
  // would have given it: changes counted (committed with --commit), the worktree marked ended for
  // `cleanup` and the retention sweep. Before the end: the webhook carries the changes.
  const executorConfig = ctx.config.executors.find((e) => e.name === record.executor);
  if (record.git && executorConfig) {
    // Bounded (by the step): the job is gone already, and until the end below the task is neither
    // queued nor ended (a `kill` interrupted meanwhile would leave it so).
    await leaveWorktreeBetweenRuns(
      { executorConfig, redis: ctx.redis, keys: ctx.keys, configuredHostId: ctx.config.worker.host_id },
      id,
      request,
      record.git,
      {
        recordedHost: record.handle.host,
        retentionMs: ctx.config.retention,
        note: (line) => noteInLog(ctx, id, line),
      },
    );
  }
  // A job this deployment did not sign is announced as a refused one would be (finishTask checks).
  await finishTask(ctx.redis, ctx.keys, id, end, {
    retentionMs: ctx.config.retention,
    maxLogEntries: ctx.config.logs.max_entries,
    announce: request ? { config: ctx.config, record, request } : undefined,
  });
  return 'ended';
}

// A line of ours in the task's log, before its end (nothing is written after it).
async function noteInLog(ctx: TaskContext, taskId: string, line: string): Promise<void> {
  await appendSystemLine(ctx.redis, ctx.keys, taskId, line, ctx.config.logs.max_entries).catch(() => undefined);
}
