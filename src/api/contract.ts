// The REST API's contract: bodies and answers as zod schemas, which the server in bull-board/
// validates with and derives its OpenAPI document from.
import { z } from 'zod';
import {
  ClaudeCodePayloadSchema,
  ShellCommandPayloadSchema,
  MAX_DEPENDENCIES,
  TaskRequestSchema,
  type TaskPayload,
} from '../tasks/request.js';
import { TaskGitSchema } from '../git/task-worktree.js';
import { NotifierStateSchema } from '../tasks/record.js';
import { ENDED_STATUSES, TASK_STATUSES, WAITING_REASONS } from '../tasks/status.js';
import { OVERLAP_POLICIES } from '../schedules/schedule-store.js';
import { formatIssuePath, snakeCase } from '../text/zod-issues.js';

const isAbsoluteOrHome = (dir: string) => dir.startsWith('/') || dir === '~' || dir.startsWith('~/');
const WORKDIR_MESSAGE = 'the API has no current directory: give an absolute path or one starting with ~';

const claude = ClaudeCodePayloadSchema.shape;
const shell = ShellCommandPayloadSchema.shape;

/** A command, as the API takes it: argv when `args` is non-empty, otherwise `sh -c command`. */
export const ApiShellPayloadSchema = z.strictObject({
  type: shell.type,
  command: shell.command,
  args: shell.args,
  env: shell.env,
  working_dir: shell.workingDir,
});

/** A Claude Code prompt, as the API takes it: the flags of `openclaw-agent start`, snake_case. */
export const ApiClaudePayloadSchema = z.strictObject({
  type: claude.type,
  prompt: claude.prompt,
  workspace: claude.workspace,
  max_turns: claude.maxTurns,
  allowed_tools: claude.allowedTools,
  disallowed_tools: claude.disallowedTools,
  model: claude.model,
  permission_mode: claude.permissionMode,
  max_budget_usd: claude.maxBudgetUsd,
  append_system_prompt: claude.appendSystemPrompt,
  /** Resume this Claude session (as `start --continue` does). */
  resume_session_id: claude.resumeSessionId,
  /** The task whose session this one continues. */
  continues: claude.continues,
});

export const ApiPayloadSchema = z.discriminatedUnion('type', [ApiClaudePayloadSchema, ApiShellPayloadSchema]);
export type ApiPayload = z.input<typeof ApiPayloadSchema>;

const taskRequest = TaskRequestSchema.shape;

/** What every task body takes (`POST /api/tasks`, and the task a schedule makes): what runs, where and how. */
const TaskBodyFields = {
  /** The executor to run on; chosen by `labels` (or the only executor) when absent. */
  executor: z.string().min(1).optional(),
  payload: ApiPayloadSchema,
  /** Sets the payload's `working_dir` (commands) or `workspace` (prompts) when it has none. */
  workdir: z.string().min(1).optional(),
  labels: z.array(z.string().min(1)).optional(),
  name: taskRequest.name,
  /** Wall-clock limit in milliseconds. @default the executor's or the config's `timeout` */
  timeout_ms: taskRequest.timeoutMs,
  /** Extra runs after a failed one. @default 0 */
  retries: z.number().int().min(0).max(100).optional(),
  /** Claude tasks: `wait` for the account's usage limit to reset and resume, or `fail` at once. @default "wait" */
  on_limit: taskRequest.onLimit,
  /** Claude tasks: how many times to wait for a usage limit before failing. @default 3 */
  limit_waits: taskRequest.limitWaits,
  /** First delay before a retry, doubling with jitter. @default 30000 */
  backoff_ms: taskRequest.backoffMs,
  /** Completion webhook URL (signed, retried). */
  callback_url: taskRequest.callbackUrl,
  /** Notifiers from the config's `notifiers:`; `[]` or `["none"]` for none. @default the config's `defaults.notify` */
  notify: z.array(z.string().min(1).max(64)).max(20).optional(),
  /** The OpenClaw session key to wake (the gateway needs `hooks.allowRequestSessionKey`). */
  notify_session: taskRequest.notifySession,
  /** 1 runs first, up to 1000000; a task without one runs after every task with one. */
  priority: taskRequest.priority,
  /** At most `concurrency_limit` tasks with this key run at once, across all executors. */
  concurrency_key: taskRequest.concurrencyKey,
  /** With `concurrency_key`. @default 1 */
  concurrency_limit: taskRequest.concurrencyLimit,
  /** With `concurrency_key`: `queue` behind the running ones, `cancel-running` (kill them, run next) or `replace-queued` (cancel the waiting ones). @default "queue" */
  on_conflict: taskRequest.onConflict,
};

type TaskBodyChecked = {
  workdir?: string;
  payload: z.output<typeof ApiPayloadSchema>;
  concurrency_key?: string;
  concurrency_limit?: number;
  on_conflict?: string;
};

// The checks zod's shapes cannot say: absolute directories, and options that act on another one.
function checkTaskBody(body: TaskBodyChecked, ctx: z.RefinementCtx): void {
  const dirs: [string, string | undefined][] = [
    ['workdir', body.workdir],
    ['payload.working_dir', body.payload.type === 'shell_command' ? body.payload.working_dir : undefined],
    ['payload.workspace', body.payload.type === 'claude_code' ? body.payload.workspace : undefined],
  ];
  for (const [field, dir] of dirs) {
    if (dir !== undefined && !isAbsoluteOrHome(dir))
      ctx.addIssue({ code: 'custom', path: field.split('.'), message: WORKDIR_MESSAGE });
  }
  if (body.concurrency_key === undefined) {
    for (const field of ['concurrency_limit', 'on_conflict'] as const) {
      if (body[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'acts on a concurrency key: give `concurrency_key` too',
        });
    }
  }
}

/** `POST /api/tasks`: what `run` and `start` take on the command line, as snake_case JSON like every answer. */
export const ApiCreateTaskBodySchema = z
  .strictObject({
    ...TaskBodyFields,
    /** Run in a git worktree of its own: `true`, or `{base, commit}`; `false` even where the executor says `worktree: true`. */
    worktree: z
      .union([
        z.boolean(),
        z.strictObject({ base: z.string().min(1).max(200).optional(), commit: z.boolean().optional() }),
      ])
      .optional(),
    /** A UUID v4 of your choosing, for idempotent dispatch; a second request with it is refused. */
    id: z.uuid({ version: 'v4' }).optional(),
    /**
     * Claude tasks: continue this ended task (an id or a unique prefix), as `start --continue`
     * does: its session resumed, in its workspace and on its executor unless the body names
     * others, and in its worktree unless `worktree: false` (`{ commit: true }` commits there).
     */
    continue: z.string().min(1).max(100).optional(),
    /** Run only after these tasks (ids or unique prefixes) completed: `blocked` until then, `cancelled` when one fails. */
    after: z.array(z.string().min(1).max(100)).min(1).max(MAX_DEPENDENCIES).optional(),
    /** With `after`: run whatever way those tasks ended. @default false */
    after_any: z.boolean().optional(),
    /** Start no sooner than this many milliseconds from now (`scheduled` until then). */
    delay_ms: z.number().int().min(0).optional(),
    /** Start no sooner than this ISO 8601 time, like `2026-12-07T03:00:00Z` (`scheduled` until then). */
    at: z.string().min(1).max(64).optional(),
  })
  .superRefine((body, ctx) => {
    checkTaskBody(body, ctx);
    if (body.after_any === true && body.after === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['after_any'],
        message: 'says how to wait for the tasks of `after`: give `after` too',
      });
    if (body.continue !== undefined) {
      if (body.payload.type !== 'claude_code')
        ctx.addIssue({
          code: 'custom',
          path: ['continue'],
          message: 'resumes a Claude session: give a claude_code payload',
        });
      else
        for (const field of ['resume_session_id', 'continues'] as const)
          if (body.payload[field] !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['payload', field],
              message: 'comes from the task `continue` names: give one or the other',
            });
    }
    if (body.delay_ms !== undefined && body.at !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['at'],
        message: 'give one start time: `delay_ms` (from now) or `at` (a time), not both',
      });
  });
export type ApiCreateTaskBody = z.input<typeof ApiCreateTaskBodySchema>;

// The request fields a task body names otherwise than by their snake_case.
const API_FIELD_OF: Readonly<Record<string, string>> = { runAt: 'at' };

/**
 * How the API names a request field in messages (a FieldNamer): as the body spells it,
 * `timeoutMs` as `timeout_ms` and `payload.workingDir` as `payload.working_dir`.
 */
export function apiFieldName(path: readonly PropertyKey[]): string | undefined {
  const [field, ...rest] = path;
  if (typeof field !== 'string') return undefined;
  const [key, ...deeper] = rest;
  // A payload's fields are the body's too; keys deeper down (an env name) are the caller's own.
  const inPayload = field === 'payload' && typeof key === 'string' ? [snakeCase(key), ...deeper] : rest;
  return formatIssuePath([API_FIELD_OF[field] ?? snakeCase(field), ...inPayload]);
}

/** The payload a task stores for an API payload, with the body's `workdir` where it named none. */
export function taskPayloadOf(payload: z.output<typeof ApiPayloadSchema>, workdir: string | undefined): TaskPayload {
  if (payload.type === 'shell_command') {
    return {
      type: payload.type,
      command: payload.command,
      args: payload.args,
      env: payload.env,
      workingDir: payload.working_dir ?? workdir,
    };
  }
  return {
    type: payload.type,
    prompt: payload.prompt,
    workspace: payload.workspace ?? workdir,
    maxTurns: payload.max_turns,
    allowedTools: payload.allowed_tools,
    disallowedTools: payload.disallowed_tools,
    model: payload.model,
    permissionMode: payload.permission_mode,
    maxBudgetUsd: payload.max_budget_usd,
    appendSystemPrompt: payload.append_system_prompt,
    resumeSessionId: payload.resume_session_id,
    continues: payload.continues,
  };
}

/** The API payload of a task payload (what the TypeScript client sends for `run` and `start`). */
export function apiPayloadOf(payload: TaskPayload): ApiPayload {
  if (payload.type === 'shell_command') {
    return {
      type: payload.type,
      command: payload.command,
      args: payload.args,
      env: payload.env,
      working_dir: payload.workingDir,
    };
  }
  return {
    type: payload.type,
    prompt: payload.prompt,
    workspace: payload.workspace,
    max_turns: payload.maxTurns,
    allowed_tools: payload.allowedTools,
    disallowed_tools: payload.disallowedTools,
    model: payload.model,
    permission_mode: payload.permissionMode,
    max_budget_usd: payload.maxBudgetUsd,
    append_system_prompt: payload.appendSystemPrompt,
    resume_session_id: payload.resumeSessionId,
    continues: payload.continues,
  };
}

const ENDED = ENDED_STATUSES as readonly string[] as [string, ...string[]];
const isoTime = z.string().nullable();

/** A task as every surface shows it (toTaskJson): env values never appear, only `env_keys`. */
export const ApiTaskSchema = z.object({
  task_id: z.string(),
  executor: z.string(),
  executor_type: z.enum(['local', 'ssh', 'container']),
  task_type: z.enum(['claude_code', 'shell_command']),
  status: z.enum(TASK_STATUSES),
  pid: z.number().int().nullable(),
  started_at: isoTime,
  updated_at: isoTime,
  finished_at: isoTime,
  exit_code: z.number().int().nullable(),
  error: z.string().nullable(),
  name: z.string().nullable(),
  /** Shell tasks: the command with its argv. */
  command: z.string().optional(),
  /** Claude tasks: the prompt. */
  prompt: z.string().optional(),
  workdir: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  labels: z.array(z.string()),
  env_keys: z.array(z.string()),
  signal: z.string().nullable(),
  attempt: z.number().int(),
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      outcome: z.enum(ENDED),
      exit_code: z.number().int().nullable(),
      started_at: isoTime,
      finished_at: z.string(),
      error: z.string().nullable(),
    }),
  ),
  webhooks: z.array(
    z.object({
      /** The URL's origin only: paths often hold tokens. */
      target: z.string(),
      state: z.enum(['pending', 'retrying', 'delivered', 'gone', 'failed']),
      attempts: z.number().int(),
      status: z.number().int().optional(),
      error: z.string().optional(),
      at: z.string().optional(),
    }),
  ),
  /** The notifiers that announce the task's end. */
  notify: z.array(z.string()),
  /** Each notifier's delivery, once the task ended. */
  notifiers: z.array(NotifierStateSchema.extend({ name: z.string() })),
  created_at: z.string(),
  queue_position: z.number().int().nullable(),
  /** The task's git worktree (`--worktree`): repo, base, branch, and at the end what it changed. */
  git: TaskGitSchema.nullable(),
  /** The tasks it runs after (`--after`), and whether any end of theirs will do. */
  after: z.array(z.string()).nullable(),
  after_any: z.boolean(),
  /** The earliest start asked for (`--delay`, `--at`). */
  run_at: z.string().nullable(),
  /** 1 runs first; null: after every task with one. */
  priority: z.number().int().nullable(),
  concurrency_key: z.string().nullable(),
  concurrency_limit: z.number().int().nullable(),
  /** The schedule whose tick made it. */
  schedule: z.string().nullable(),
  /** What a task that has not started waits for, in a few words (tasks, its start time, a turn, a paused executor). */
  waiting_for: z.string().nullable(),
  /** Why it waits, as a code: `no_worker`, `paused`, `queue` (tasks ahead), `dependency`, `start_time`, `concurrency`. */
  waiting_reason: z.enum(WAITING_REASONS).nullable(),
  /** Claude tasks: what the worker read from the stream-json output. */
  claude: z
    .object({
      session_id: z.string(),
      model: z.string(),
      turns: z.number(),
      last_tool: z.string(),
      input_tokens: z.number(),
      output_tokens: z.number(),
      subtype: z.string(),
      is_error: z.boolean(),
      num_turns: z.number(),
      total_cost_usd: z.number(),
      duration_ms: z.number(),
      result: z.string(),
      last_event: z.string(),
      api_retries: z.number(),
      api_error_status: z.number(),
      api_error: z.string(),
    })
    .partial()
    .nullable()
    .optional(),
  /** Claude tasks: the task whose session this one continues. */
  continues: z.string().nullable().optional(),
  /** Claude tasks: its waits for the account's usage limit so far, and until when the current one lasts. */
  limit: z.object({ waits: z.number().int(), until: isoTime }).nullable().optional(),
});
export type ApiTask = z.infer<typeof ApiTaskSchema>;

export const ApiTaskListSchema = z.object({
  tasks: z.array(ApiTaskSchema),
  /** Pass as `cursor` for the next, older page; null at the end. */
  next_cursor: z.string().nullable(),
});

export const ApiCreatedTaskSchema = z.object({
  task_id: z.string(),
  executor: z.string(),
  /** Only when its `on_conflict` acted: the tasks of its concurrency key it stopped (`cancel-running`) or cancelled (`replace-queued`). */
  conflicts: z.object({ stopped: z.array(z.string()), cancelled: z.array(z.string()) }).optional(),
  /** Only when no live worker serves its executor: the task is queued all the same, and waits for one. */
  warning: z.string().optional(),
});
export type ApiCreatedTask = z.infer<typeof ApiCreatedTaskSchema>;

export const ApiKillResultSchema = z.object({
  task_id: z.string(),
  /** `cancelled`: it had not started; `stop-requested`: its worker stops it; `already-ended`: nothing to do. */
  result: z.enum(['cancelled', 'stop-requested', 'already-ended']),
  status: z.enum(TASK_STATUSES),
});
export type ApiKillResult = z.infer<typeof ApiKillResultSchema>;

export const ApiWaitResultSchema = z.object({ done: z.boolean(), task: ApiTaskSchema });

/** An executor as configured; env shows keys only. */
export const ApiExecutorSchema = z.object({
  name: z.string(),
  type: z.enum(['local', 'ssh', 'container']),
  host: z.string().nullable(),
  labels: z.array(z.string()),
  port: z.number().int().nullable(),
  user: z.string().nullable(),
  image: z.string().nullable(),
  runtime: z.string().nullable(),
  concurrency: z.number().int(),
  env_keys: z.array(z.string()),
  /** Its workers take no new task (`pause`); running ones go on. */
  paused: z.boolean(),
  /** Its live worker processes, as their last beat (every third of `worker.presence_ttl`) told. */
  workers: z.array(
    z.object({
      id: z.string(),
      host: z.string(),
      pid: z.number().int(),
      version: z.string(),
      started_at: z.string(),
      concurrency: z.number().int(),
      running: z.number().int(),
      last_seen_at: z.string(),
    }),
  ),
  /** Some worker serves it now; false: its tasks wait until one starts. */
  served: z.boolean(),
  /** When a worker last served it (ISO 8601); null when none ever did. */
  last_served_at: z.string().nullable(),
});
export type ApiExecutor = z.infer<typeof ApiExecutorSchema>;

/** The task a schedule makes at each tick: a `POST /api/tasks` body without `after`, `after_any`, `delay_ms`, `at`, `worktree` or `id`. */
export const ApiScheduleTaskBodySchema = z.strictObject(TaskBodyFields).superRefine(checkTaskBody);
export type ApiScheduleTaskBody = z.output<typeof ApiScheduleTaskBodySchema>;

/** `POST /api/schedules`: a named cron pattern and the task each of its ticks makes. */
export const ApiCreateScheduleBodySchema = z.strictObject({
  /** Letters, digits, `-`, `_` and `.`, at most 100. */
  name: z.string().min(1).max(100),
  /** 5 fields (minute hour day month weekday), or 6 with seconds first. */
  cron: z.string().min(1).max(200),
  /** The IANA time zone the pattern is read in. @default "UTC" */
  tz: z.string().min(1).max(100).optional(),
  /** While the last tick's task has not ended: `queue` another task, or `skip` the tick. @default "queue" */
  overlap: z.enum(OVERLAP_POLICIES).optional(),
  task: ApiScheduleTaskBodySchema,
});
export type ApiCreateScheduleBody = z.input<typeof ApiCreateScheduleBodySchema>;

/** A schedule as every surface shows it (scheduleJson). */
export const ApiScheduleSchema = z.object({
  name: z.string(),
  cron: z.string(),
  tz: z.string(),
  overlap: z.enum(OVERLAP_POLICIES),
  paused: z.boolean(),
  /** The next tick; null while paused. */
  next_run_at: isoTime,
  executor: z.string(),
  task_type: z.enum(['claude_code', 'shell_command']),
  /** What each tick runs, in one line: the command or the prompt. */
  summary: z.string(),
  created_at: isoTime,
  /** How many tasks its ticks made. */
  fired: z.number().int(),
  last_task_id: z.string().nullable(),
  last_fired_at: isoTime,
  /** `started`, `skipped: …` or `failed: …`. */
  last_result: z.string().nullable(),
});
export type ApiSchedule = z.infer<typeof ApiScheduleSchema>;

export const ApiErrorBodySchema = z.object({ error: z.string() });
