// Task statuses, and the one mapping from a BullMQ job state plus our record to a status.
import type { JobState } from 'bullmq';

export const TASK_STATUSES = [
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
export type EndedStatus = Exclude<TaskStatus, 'queued' | 'running'>;

export function isEndedStatus(status: TaskStatus): status is EndedStatus {
  return status !== 'queued' && status !== 'running';
}

export function isTaskStatus(text: string): text is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(text);
}

/** The fields of a task record that decide its status. */
export interface StatusFields {
  /** When the current run started; unset while a retry waits for its turn. */
  attemptStartedAt?: number | undefined;
  outcome?: EndedStatus | undefined;
}

/**
 * The one mapping from BullMQ job state plus our record to a task status; every surface uses it.
 * The record's outcome wins once written (it is written before the job is finished in BullMQ).
 * A job back in `waiting` after a stall whose process already started is still running: the next
 * worker re-attaches to it.
 */
export function deriveTaskStatus(state: JobState | 'unknown' | undefined, fields: StatusFields): TaskStatus {
  if (fields.outcome) return fields.outcome;
  switch (state) {
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'active':
      return 'running';
    case 'waiting':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return fields.attemptStartedAt !== undefined ? 'running' : 'queued';
    default:
      return 'lost';
  }
}
