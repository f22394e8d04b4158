// Task statuses, and the one mapping from a BullMQ job state plus our record to a status.
import type { JobState } from 'bullmq';

export const TASK_STATUSES = [
  'blocked',
  'scheduled',
  'queued',
  'running',
  'completed',
  'failed',
  'killed',
  'timed_out',
  'lost',
  'cancelled',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
/** The statuses of a task that has not ended: waiting for other tasks, for its time, its turn, or running. */
export const ACTIVE_STATUSES = ['blocked', 'scheduled', 'queued', 'running'] as const;
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type EndedStatus = Exclude<TaskStatus, ActiveStatus>;
export const ENDED_STATUSES = TASK_STATUSES.filter((status): status is EndedStatus => !isActive(status));

function isActive(status: TaskStatus): status is ActiveStatus {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** Why a task that has not started waits, as a stable code beside `waiting_for`'s words. */
export const WAITING_REASONS = ['dependency', 'start_time', 'paused', 'concurrency', 'no_worker', 'queue'] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];

export function isEndedStatus(status: TaskStatus): status is EndedStatus {
  return !isActive(status);
}

/** Not started yet, and not running: a kill cancels it (blocked, scheduled, queued). */
export function isWaitingStatus(status: TaskStatus): boolean {
  return status === 'blocked' || status === 'scheduled' || status === 'queued';
}

export function isTaskStatus(text: string): text is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(text);
}

/**
 * Whether the current run has begun: started, or claimed and being launched (a worker that died
 * meanwhile may have launched it). A kill then stops it rather than cancelling a queued task.
 */
export function isRunUnderWay(fields: Pick<StatusFields, 'attemptStartedAt' | 'launchingAt'>): boolean {
  return fields.attemptStartedAt !== undefined || fields.launchingAt !== undefined;
}

/** The fields of a task record that decide its status. */
export interface StatusFields {
  /** When the current run started; unset while a retry waits for its turn. */
  attemptStartedAt?: number | undefined;
  /** When the current run was claimed, before its launch (it may be running without a start mark). */
  launchingAt?: number | undefined;
  outcome?: EndedStatus | undefined;
  /** Set while the task waits for the tasks of its `after`. */
  blocked?: boolean | undefined;
  /** The earliest start asked for (`--delay`, `--at`). */
  runAt?: number | undefined;
}

/**
 * The one mapping from BullMQ job state plus our record to a task status; every surface uses it.
 * The record's outcome wins once written (it is written before the job is finished in BullMQ).
 * A job back in `waiting` after a stall whose run started (or was being launched) is still running:
 * the next worker re-attaches to it. A task waiting for the tasks it runs after is `blocked` (its job sits
 * in the delayed set until they end); one waiting for its `--delay`/`--at` is `scheduled`.
 */
export function deriveTaskStatus(
  state: JobState | 'unknown' | undefined,
  fields: StatusFields,
  now: number = Date.now(),
): TaskStatus {
  if (fields.outcome) return fields.outcome;
  if (fields.blocked) return 'blocked';
  switch (state) {
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'active':
      return 'running';
    case 'delayed':
      if (isRunUnderWay(fields)) return 'running';
      return fields.runAt !== undefined && fields.runAt > now ? 'scheduled' : 'queued';
    case 'waiting':
    case 'prioritized':
    case 'waiting-children':
      return isRunUnderWay(fields) ? 'running' : 'queued';
    default:
      return 'lost';
  }
}
