// The end of a task as a notifier may tell it: only fields this program controls, never task output.
import { z } from 'zod';
import { formatDuration } from '../config/duration.js';
import type { TaskRecord } from '../tasks/record.js';
import { ENDED_STATUSES, type EndedStatus } from '../tasks/status.js';
import { escapeControls } from '../text/escape.js';
import type { TemplateField } from './argv-template.js';

/**
 * What a notifier may tell of a task's end. Only fields this program controls: what the caller
 * asked for (name, command or prompt), where, and how it ended. Never the task's output, never
 * an error text (a Claude result is output), never env values: what notifiers send can land in
 * an agent's prompt as trusted text.
 */
export const TaskEndEventSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  /** The command or prompt as enqueued, at most 200 characters. */
  summary: z.string(),
  task_type: z.enum(['claude_code', 'shell_command']),
  executor: z.string(),
  status: z.enum(ENDED_STATUSES as [EndedStatus, ...EndedStatus[]]),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  duration_ms: z.number().nullable(),
  /** A Claude task's cost in USD, when its result said. */
  cost_usd: z.number().nullable(),
  finished_at: z.string().nullable(),
});
export type TaskEndEvent = z.infer<typeof TaskEndEventSchema>;

const SUMMARY_MAX = 200;
/** Characters of the name or command in a wake-up line. */
const WAKE_NAME_MAX = 80;

/** What a task refused as unsigned is called: its name and command are a stranger's words. */
const REFUSED_SUMMARY = 'an unsigned task (refused)';

/**
 * The event of an ended task's record. `refused`: the task was refused as unsigned, so its name
 * and command, written by whoever wrote into Redis, are left out.
 */
export function buildTaskEndEvent(
  record: TaskRecord & { outcome: EndedStatus },
  options: { refused?: boolean } = {},
): TaskEndEvent {
  const cost = record.claude?.total_cost_usd;
  const summary = options.refused ? REFUSED_SUMMARY : record.summary;
  return {
    id: record.id,
    name: options.refused ? null : (record.name ?? null),
    summary: summary.length > SUMMARY_MAX ? `${summary.slice(0, SUMMARY_MAX - 1)}…` : summary,
    task_type: record.taskType,
    executor: record.executor,
    status: record.outcome,
    exit_code: record.exitCode ?? null,
    signal: record.signal ?? null,
    duration_ms:
      record.startedAt !== undefined && record.finishedAt !== undefined
        ? Math.max(0, record.finishedAt - record.startedAt)
        : null,
    cost_usd: typeof cost === 'number' && Number.isFinite(cost) ? cost : null,
    finished_at: record.finishedAt === undefined ? null : new Date(record.finishedAt).toISOString(),
  };
}

const STATUS_WORDS: Record<EndedStatus, string> = {
  completed: 'completed',
  failed: 'failed',
  killed: 'was killed',
  timed_out: 'timed out',
  lost: 'was lost',
  cancelled: 'was cancelled',
};

/**
 * The one line that wakes an agent, e.g. `openclaw-agent: task 7f3c1a2b "cargo test" failed
 * (exit 101) after 4m12s on crib — openclaw-agent logs 7f3c1a2b`. The name is quoted with its
 * control characters escaped and cut to 80 characters, so it can neither break the line nor pass
 * for our own words.
 */
export function formatWakeText(event: TaskEndEvent): string {
  const short = event.id.slice(0, 8);
  const how =
    event.exit_code !== null ? ` (exit ${event.exit_code})` : event.signal !== null ? ` (${event.signal})` : '';
  const took =
    event.duration_ms !== null
      ? ` after ${formatDuration(event.duration_ms)}`
      : event.status === 'cancelled'
        ? ' before it started'
        : '';
  return `openclaw-agent: task ${short} ${quoteName(event.name ?? event.summary)} ${STATUS_WORDS[event.status]}${how}${took} on ${escapeControls(event.executor)} — openclaw-agent logs ${short}`;
}

// The name in quotes on one line: backslashes and quotes escaped first, then control characters.
function quoteName(text: string): string {
  const line = escapeControls(text.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
  return `"${line.length > WAKE_NAME_MAX ? `${line.slice(0, WAKE_NAME_MAX - 1)}…` : line}"`;
}

/** The event as template values: empty where a field has no value (no exit code, no cost). */
export function templateValues(event: TaskEndEvent): Record<TemplateField, string> {
  return {
    id: event.id,
    short_id: event.id.slice(0, 8),
    name: event.name ?? event.summary,
    status: event.status,
    exit_code: event.exit_code === null ? '' : String(event.exit_code),
    signal: event.signal ?? '',
    duration: event.duration_ms === null ? '' : formatDuration(event.duration_ms),
    executor: event.executor,
    task_type: event.task_type,
    cost: event.cost_usd === null ? '' : event.cost_usd.toFixed(4),
  };
}
