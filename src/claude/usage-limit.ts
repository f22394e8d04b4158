// Claude's account usage limit: a task waits for the reset and resumes its session, and the
// executor's other Claude tasks are held meanwhile.
import { DelayedError, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { TaskKeys } from '../tasks/keys.js';
import type { TaskRequest } from '../tasks/request.js';
import type { TaskRecord } from '../tasks/record.js';

// When Claude says the account's usage limit is reached, a task is not a failure: it waits for
// the reset and resumes the same session, up to `--limit-waits` times; while the limit holds, the
// executor's other Claude tasks wait too instead of running into it. Shell tasks are not held.

/** How many times a task waits for a usage limit unless it says `--limit-waits`. */
export const DEFAULT_LIMIT_WAITS = 3;
/** How long a wait lasts when the stream did not say when the limit resets (a plain 429). */
const UNKNOWN_RESET_WAIT_MS = 600_000;
/** A wait ends this much after the reset, at random, so that the tasks held do not all start at once. */
const JITTER_MIN_MS = 500;
const JITTER_MAX_MS = 5000;

/** What a resumed run is asked (its session holds the task's own prompt already). */
export const RESUME_PROMPT =
  "Continue where you left off: your previous run stopped at the account's usage limit, which has reset now.";

/** The record fields of a task's usage-limit waits. */
export const LIMIT_FIELDS = {
  waits: 'limit_waits',
  until: 'limit_until',
  session: 'limit_session',
  resumeRun: 'limit_run',
  allowed: 'limit_of',
} as const;

/** Whether a task waits when it meets a usage limit, and how often. */
export function limitWaitsOf(request: TaskRequest): number {
  if (request.payload.type !== 'claude_code' || request.onLimit === 'fail') return 0;
  return request.limitWaits ?? DEFAULT_LIMIT_WAITS;
}

/** When a wait for a limit that resets at `resetsAt` (unknown: undefined) ends. */
export function waitEnd(resetsAt: number | undefined, now = Date.now(), random = Math.random): number {
  const reset =
    resetsAt !== undefined && resetsAt > now ? resetsAt : now + (resetsAt === undefined ? UNKNOWN_RESET_WAIT_MS : 0);
  return reset + JITTER_MIN_MS + Math.round(random() * (JITTER_MAX_MS - JITTER_MIN_MS));
}

/** Until when the executor's Claude tasks are held, if they are. */
export async function executorHoldUntil(
  redis: RedisClient,
  keys: TaskKeys,
  executor: string,
): Promise<number | undefined> {
  const until = Number(await redis.get(keys.limitHold(executor)));
  return until > Date.now() ? until : undefined;
}

/** Holds the executor's Claude tasks until `until` (a later hold stands). */
export async function holdExecutor(redis: RedisClient, keys: TaskKeys, executor: string, until: number): Promise<void> {
  const current = await executorHoldUntil(redis, keys, executor);
  if (current !== undefined && current >= until) return;
  await redis.set(keys.limitHold(executor), String(until), 'PX', Math.max(1, until - Date.now()));
}

/**
 * Puts the job back until `until` without spending one of its attempts (BullMQ's delayed set),
 * and says on the record what it waits for. Throws BullMQ's DelayedError: the processor must end.
 */
export async function waitForLimit(
  redis: RedisClient,
  keys: TaskKeys,
  job: Job,
  taskId: string,
  until: number,
  fields: Record<string, string> = {},
): Promise<never> {
  await redis.hset(keys.record(taskId), {
    [LIMIT_FIELDS.until]: String(until),
    updated_at: String(Date.now()),
    ...fields,
  });
  await job.moveToDelayed(until, job.token);
  throw new DelayedError();
}

/** The request the run resumed after a usage limit runs: the same session, told to go on. */
export function resumedRequest(request: TaskRequest, record: TaskRecord): TaskRequest {
  if (request.payload.type !== 'claude_code' || record.limit?.session === undefined) return request;
  return { ...request, payload: { ...request.payload, prompt: RESUME_PROMPT, resumeSessionId: record.limit.session } };
}

/** `07:17 UTC` (or the date too when it is not today), for what a task waits for. */
export function formatResetTime(until: number, now = Date.now()): string {
  const at = new Date(until);
  const time = at.toISOString().slice(11, 16);
  return at.toISOString().slice(0, 10) === new Date(now).toISOString().slice(0, 10)
    ? `${time} UTC`
    : `${at.toISOString().slice(0, 10)} ${time} UTC`;
}

/** `waiting for usage limit (resets 20:00 UTC)` while a task waits for one, for every surface. */
export function limitWaitNote(record: Pick<TaskRecord, 'limit' | 'outcome'>, now = Date.now()): string | undefined {
  const until = record.limit?.until;
  if (until === undefined || until <= now || record.outcome !== undefined) return undefined;
  return `waiting for usage limit (resets ${formatResetTime(until, now)})`;
}
