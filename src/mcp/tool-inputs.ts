// What each MCP tool takes: its arguments, with their limits and descriptions.
import { z } from 'zod';
import { DurationSchema } from '../config/duration.js';
import { OVERLAP_POLICIES, SCHEDULE_NAME_PATTERN } from '../schedules/schedule-store.js';
import { MAX_DEPENDENCIES, MAX_PRIORITY, ON_CONFLICT_POLICIES, PERMISSION_MODES } from '../tasks/request.js';
import { TASK_STATUSES } from '../tasks/status.js';

// The arguments of each MCP tool, as zod schemas: parsed by the server (one-line messages, as the
// CLI's) and sent to clients as JSON Schema. Names are snake_case, like the CLI's JSON.

const TaskId = z.string().min(1).max(100).describe('A task id, or a unique prefix of 6+ characters');
const Duration = DurationSchema;
const Notify = z
  .array(z.string().min(1).max(64))
  .max(20)
  .describe(
    'Notifiers from the config\'s `notifiers:` that announce the end; ["none"] for none. Default: the config\'s defaults.notify',
  );

// What every task takes (`run`, `start` and a schedule's task): where, how long, in what order,
// and who hears of the end.
const DispatchFields = {
  executor: z
    .string()
    .min(1)
    .optional()
    .describe('Executor to run on (see the config); default: the only one, or one with all `labels`'),
  name: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('A short name shown in lists and in the wake-up line instead of the command'),
  timeout: Duration.optional().describe('Wall-clock limit, like "30m" or "2h" (or seconds); the task ends timed_out'),
  labels: z
    .array(z.string().min(1))
    .max(20)
    .optional()
    .describe('Labels; without `executor`, picks an executor having all of them'),
  retries: z
    .number()
    .int()
    .min(0)
    .max(100)
    .optional()
    .describe('Run again up to N times after a failed run (default 0: never twice)'),
  notify: Notify.optional(),
  notify_session: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("OpenClaw session key to wake instead of the agent's main session"),
  priority: z
    .number()
    .int()
    .min(1)
    .max(MAX_PRIORITY)
    .optional()
    .describe('1 runs first (up to 1000000); a task without one runs after every task with one'),
  concurrency_key: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe(
      'At most `concurrency_limit` tasks with this key run at once, across all executors, like "deploy:prod"; the others wait queued',
    ),
  concurrency_limit: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('With concurrency_key: how many of its tasks may run at once (default 1)'),
  on_conflict: z
    .enum(ON_CONFLICT_POLICIES)
    .optional()
    .describe(
      'With concurrency_key: "queue" behind the running task (default), "cancel-running" (kill it and run this next) or "replace-queued" (cancel the waiting ones)',
    ),
};

// What only a task dispatched now takes: its worktree, and when it may start.
const StartFields = {
  worktree: z
    .boolean()
    .optional()
    .describe("Run in a git worktree of its own, on a branch oca/<short id> (default: the executor's setting)"),
  base: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('With worktree: the branch, tag or commit to start from (default: HEAD)'),
  commit: z.boolean().optional().describe('With worktree: commit what is left uncommitted at the end'),
  after: z
    .array(TaskId)
    .min(1)
    .max(MAX_DEPENDENCIES)
    .optional()
    .describe(
      'Run only after these tasks completed (ids or prefixes): status blocked until then, cancelled if one fails. Chain steps with this instead of waiting yourself',
    ),
  after_any: z.boolean().optional().describe('With `after`: run whatever way those tasks ended'),
  delay: Duration.optional().describe(
    'Start no sooner than this from now, like "30m" or "2h" (status scheduled until then)',
  ),
  at: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Start no sooner than this time, ISO 8601 like "2026-12-07T03:00:00Z" (status scheduled until then)'),
};

// A command, as `run` takes it.
const ShellFields = {
  command: z
    .string()
    .min(1)
    .optional()
    .describe('A command line run by `sh -c`, like "cargo test --workspace" (or give `argv`)'),
  argv: z
    .array(z.string())
    .min(1)
    .optional()
    .describe('The program and its arguments, run without a shell (or give `command`)'),
  workdir: z.string().min(1).optional().describe('Working directory; `~` expands on the executor'),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe('Environment variables for the task (values are never shown back)'),
};

// A Claude Code prompt's options, as `start` takes them.
const ClaudeFields = {
  workspace: z.string().min(1).optional().describe('The directory Claude works in; `~` expands on the executor'),
  max_turns: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Most agent turns (default: the config's defaults.max_turns)"),
  model: z.string().min(1).optional(),
  permission_mode: z.enum(PERMISSION_MODES).optional().describe("claude --permission-mode (default: the executor's)"),
  allowed_tools: z.array(z.string().min(1)).optional(),
  disallowed_tools: z.array(z.string().min(1)).optional(),
  max_budget_usd: z.number().positive().optional(),
  append_system_prompt: z.string().min(1).optional(),
  on_limit: z
    .enum(['wait', 'fail'])
    .optional()
    .describe(
      "When the account's usage limit is reached: wait for the reset and resume the session (default), or fail",
    ),
  limit_waits: z
    .number()
    .int()
    .min(0)
    .max(20)
    .optional()
    .describe('How many times to wait for a usage limit before failing (default 3)'),
};

/** The Claude-only fields: refused beside a command. */
export const CLAUDE_FIELDS = Object.keys(ClaudeFields) as (keyof typeof ClaudeFields)[];

export const RunInput = z.strictObject({ ...ShellFields, ...DispatchFields, ...StartFields });

export const StartInput = z.strictObject({
  prompt: z.string().min(1).describe('The prompt for Claude Code (`claude -p`)'),
  ...ClaudeFields,
  continue: TaskId.optional().describe(
    'Continue the Claude session of this earlier task (same executor and workspace)',
  ),
  ...DispatchFields,
  ...StartFields,
});

export const IdInput = z.strictObject({ id: TaskId });

export const LogsInput = z.strictObject({
  id: TaskId,
  tail: z.number().int().min(1).max(2000).optional().describe('How many of the last lines (default 50)'),
  since: z.string().min(1).max(60).optional().describe('A `cursor` from an earlier logs answer: the output after it'),
});

/** How long `wait` blocks at most; beyond, it answers "still running" and the agent calls again. */
export const WAIT_MAX_MS = 3_600_000;
export const WAIT_DEFAULT_MS = 240_000;

export const WaitInput = z.strictObject({
  ids: z.array(TaskId).min(1).max(100).describe('The tasks to wait for'),
  timeout: Duration.optional().describe(
    'Give up waiting after this long, like "10m" (default 4m, at most 1h); the tasks keep running',
  ),
});

export const KillInput = z.strictObject({
  id: TaskId,
  grace: Duration.optional().describe('Time between SIGTERM and SIGKILL (default 10s)'),
});

export const ListInput = z.strictObject({
  status: z.enum(TASK_STATUSES).optional(),
  executor: z.string().min(1).optional(),
  type: z.enum(['claude_code', 'shell_command']).optional(),
  label: z.string().min(1).optional(),
  q: z.string().min(1).max(500).optional().describe('Words of the name, command or prompt'),
  limit: z.number().int().min(1).max(200).optional().describe('At most this many, newest first (default 20)'),
});

const ExecutorName = z.string().min(1).max(100).describe('An executor name from the config');

export const ExecutorInput = z.strictObject({ executor: ExecutorName });

/** The task each tick of a schedule makes: a command (as `run`) or a prompt (as `start`), without a start of its own. */
export const ScheduleTaskInput = z.strictObject({
  ...ShellFields,
  prompt: z.string().min(1).optional().describe('A prompt for Claude Code, instead of `command` or `argv`'),
  ...ClaudeFields,
  ...DispatchFields,
});

const ScheduleName = z
  .string()
  .regex(SCHEDULE_NAME_PATTERN, 'schedule names use letters, digits, "-", "_" and ".", at most 100')
  .describe('The schedule\'s name, like "nightly-build"');

export const SCHEDULE_ACTIONS = ['add', 'pause', 'resume', 'remove'] as const;

export const ScheduleInput = z.strictObject({
  action: z
    .enum(SCHEDULE_ACTIONS)
    .describe('add a schedule, pause or resume its ticks, or remove it (the tasks it made stay)'),
  name: ScheduleName,
  cron: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('add: the pattern, 5 fields "minute hour day month weekday" like "0 3 * * *", or 6 with seconds first'),
  tz: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('add: the IANA time zone the pattern is read in, like "Europe/Prague" (default UTC)'),
  overlap: z
    .enum(OVERLAP_POLICIES)
    .optional()
    .describe("add: while the last tick's task has not ended, queue another (default) or skip the tick"),
  task: ScheduleTaskInput.optional().describe(
    'add: the task each tick makes: `command` or `argv` (as run), or `prompt` (as start), with their options',
  ),
});

export const SchedulesInput = z.strictObject({
  name: ScheduleName.optional().describe('Only this schedule (default: all)'),
});
