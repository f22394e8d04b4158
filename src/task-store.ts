import type { Redis } from 'ioredis';
import type { TaskKeys } from './task-keys.js';
import type { TaskRequest } from './task-payload.js';
import { handleFields, initialRecordFields, parseRecordHash, type ExecutorType, type TaskRecord } from './task-record.js';

/** The record as a worker finds it; rebuilt from the job's request when Redis lost it in a crash. */
export async function loadTaskRecord(
  redis: Redis,
  keys: TaskKeys,
  taskId: string,
  request: TaskRequest,
  executorType: ExecutorType,
): Promise<TaskRecord> {
  const key = keys.record(taskId);
  const existing = parseRecordHash(await redis.hgetall(key));
  if (existing) return existing;
  await redis.hset(key, initialRecordFields(taskId, request, executorType));
  return parseRecordHash(await redis.hgetall(key))!;
}

/** Records that the task has started: its first start time, its pid and the executor's handle. */
export async function markTaskStarted(
  redis: Redis,
  keys: TaskKeys,
  taskId: string,
  handle: Record<string, string>,
  pid?: number,
): Promise<void> {
  const key = keys.record(taskId);
  const now = String(Date.now());
  const fields: Record<string, string> = { ...handleFields(handle), updated_at: now };
  if (pid !== undefined) fields.pid = String(pid);
  await redis.multi().hsetnx(key, 'started_at', now).hset(key, fields).exec();
}
