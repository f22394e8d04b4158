import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.js';
import type { TaskEnd } from './task-finish.js';
import type { TaskKeys } from './task-keys.js';
import type { TaskRequest } from './task-payload.js';
import {
  handleFields,
  initialRecordFields,
  parseRecordHash,
  type AttemptSummary,
  type ExecutorType,
  type TaskRecord,
} from './task-record.js';

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

/**
 * Both start times are set once (marking again, after the spawn or on re-attach, keeps the
 * clock); then the handle fields. Returns this run's start time. One script instead of a
 * transaction of four commands: the worker runs it twice per task.
 */
const MARK_STARTED_SCRIPT = new LuaScript(`
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[1])
redis.call('HSETNX', KEYS[1], 'attempt_started_at', ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HGET', KEYS[1], 'attempt_started_at')
`);

/**
 * Records that a run has started: the task's first start time (kept across retries), this run's
 * start time, its pid and the executor's handle. Returns this run's start time.
 */
export async function markTaskStarted(
  redis: Redis,
  keys: TaskKeys,
  taskId: string,
  handle: Record<string, string>,
  pid?: number,
): Promise<number> {
  const now = String(Date.now());
  const fields: Record<string, string> = { ...handleFields(handle), updated_at: now };
  if (pid !== undefined) fields.pid = String(pid);
  const args = [now];
  for (const [field, value] of Object.entries(fields)) args.push(field, value);
  return Number(await MARK_STARTED_SCRIPT.run(redis, [keys.record(taskId)], args));
}

/** Starts a retry: forgets the last run's handle and output offsets, and says so in the log. */
export async function beginAttempt(redis: Redis, keys: TaskKeys, taskId: string, attempt: number, maxAttempts: number): Promise<void> {
  const key = keys.record(taskId);
  // The last run's handle, offsets, pid and Claude progress (a retry is a new Claude run).
  const stale = Object.keys(await redis.hgetall(key)).filter((f) => f.startsWith('h:') || f.startsWith('c:') || f.startsWith('cc:') || f === 'pid');
  const multi = redis.multi();
  if (stale.length > 0) multi.hdel(key, ...stale);
  multi
    .hset(key, { attempt: String(attempt), updated_at: String(Date.now()) })
    .xadd(keys.log(taskId), '*', 't', 's', 'd', `attempt ${attempt} of ${maxAttempts} starting\n`);
  await multi.exec();
}

/** Appends a run's end to the attempt history; the task itself may go on with a retry. */
export async function recordAttemptEnd(
  redis: Redis,
  keys: TaskKeys,
  taskId: string,
  attempt: number,
  end: Omit<TaskEnd, 'finishedAt'>,
): Promise<void> {
  const key = keys.record(taskId);
  const record = parseRecordHash(await redis.hgetall(key));
  const history = (record?.attempts ?? []).filter((a) => a.attempt !== attempt);
  const startedAt = record?.attemptStartedAt;
  const summary: AttemptSummary = {
    attempt,
    outcome: end.outcome,
    exit_code: end.exitCode,
    started_at: startedAt === undefined ? null : new Date(startedAt).toISOString(),
    finished_at: new Date().toISOString(),
    error: end.error ?? null,
  };
  await redis
    .multi()
    .hset(key, { attempts_log: JSON.stringify([...history, summary]), updated_at: String(Date.now()) })
    .hdel(key, 'attempt_started_at')
    .exec();
}
