import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutorConfig, LoadedConfig } from './config.js';
import { describeError } from './errors.js';
import { formatDuration } from './duration.js';
import { DetachedError, type ExecutionResult, type Executor } from './executors/executor.js';
import { LogWriter } from './log-stream.js';
import { finishTask, type TaskEnd } from './task-finish.js';
import type { TaskKeys } from './task-keys.js';
import { TaskRequestSchema } from './task-payload.js';
import { parseRecordHash, type TaskRecord } from './task-record.js';
import { loadTaskRecord, markTaskStarted } from './task-store.js';
import { describeIssue } from './zod-issues.js';

export interface ProcessorDeps {
  config: LoadedConfig;
  executorConfig: ExecutorConfig;
  executor: Executor;
  redis: Redis;
  keys: TaskKeys;
  /** Aborted when the worker shuts down; running tasks are left to be re-attached. */
  shutdown: AbortSignal;
}

/** What a completed job returns, and what a failed job's record holds: the same fields. */
export interface TaskResult {
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  status: TaskEnd['outcome'];
}

/**
 * The BullMQ processor for one executor's queue: validates the job data again, runs the task (or
 * re-attaches to it), ends it exactly once, and maps the outcome to a completed or failed job.
 */
export function createTaskProcessor(deps: ProcessorDeps): (job: Job) => Promise<TaskResult> {
  return async (job) => {
    const taskId = job.id!;
    const parsed = TaskRequestSchema.safeParse(job.data);
    if (!parsed.success) {
      const error = `invalid task data in Redis: ${describeIssue(parsed.error.issues[0]!, job.data)}`;
      await endTask(deps, taskId, undefined, { outcome: 'failed', exitCode: null, signal: null, error });
      throw new UnrecoverableError(error);
    }
    const request = parsed.data;
    const record = await loadTaskRecord(deps.redis, deps.keys, taskId, request, deps.executorConfig.type);
    if (record.outcome) return settle(record.outcome, record, { exitCode: record.exitCode ?? null, signal: record.signal ?? null, error: record.error });

    let result: ExecutionResult;
    try {
      result = await deps.executor.execute({
        taskId,
        request,
        executor: deps.executorConfig,
        defaults: deps.config.defaults,
        record,
        log: new LogWriter(deps.redis, deps.keys, taskId, deps.config.logs.max_entries),
        markStarted: (handle, pid) => markTaskStarted(deps.redis, deps.keys, taskId, handle, pid),
        signal: deps.shutdown,
      });
    } catch (error) {
      // Left running for the next worker: never settle this job from here.
      if (error instanceof DetachedError || deps.shutdown.aborted) return new Promise<TaskResult>(() => {});
      result = { outcome: 'failed', exitCode: null, signal: null, error: `executor error: ${describeError(error)}` };
    }
    const latest = await endTask(deps, taskId, record, result);
    return settle(result.outcome, latest, result);
  };
}

async function endTask(
  deps: ProcessorDeps,
  taskId: string,
  record: TaskRecord | undefined,
  result: ExecutionResult,
): Promise<TaskRecord | undefined> {
  await finishTask(
    deps.redis,
    deps.keys,
    taskId,
    { outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error, finishedAt: Date.now() },
    { retentionMs: deps.config.retention, maxLogEntries: deps.config.logs.max_entries },
  );
  return parseRecordHash(await deps.redis.hgetall(deps.keys.record(taskId))) ?? record;
}

// Completed jobs return the result; every other outcome fails the job (never retried from here).
function settle(
  outcome: TaskEnd['outcome'],
  record: TaskRecord | undefined,
  result: { exitCode: number | null; signal: string | null; error?: string },
): TaskResult {
  const duration = record?.startedAt !== undefined && record.finishedAt !== undefined ? record.finishedAt - record.startedAt : null;
  const value: TaskResult = { exit_code: result.exitCode, signal: result.signal, duration_ms: duration, status: outcome };
  if (outcome === 'completed') return value;
  const parts = [outcome === 'failed' && result.exitCode !== null ? `exited with code ${result.exitCode}` : outcome];
  if (result.error) parts.push(result.error);
  if (duration !== null) parts.push(`after ${formatDuration(duration)}`);
  throw new UnrecoverableError(parts.join(' — '));
}
