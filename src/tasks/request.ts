// What a caller asks for: the payloads (command or Claude prompt) and the request stored as job data.
import { z } from 'zod';
import { WorktreeRequestSchema } from '../git/task-worktree.js';
import { NOTIFIER_NAME_PATTERN } from '../notify/notifier-config.js';

/** claude --permission-mode values: those `claude --help` lists (2.1), and `default`, which it takes too. */
export const PERMISSION_MODES = [
  'default',
  'acceptEdits',
  'auto',
  'bypassPermissions',
  'manual',
  'dontAsk',
  'plan',
] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/**
 * The most a command may hold, in UTF-8 bytes: its `sh -c` string or its argv, with its env values
 * (and a Claude task's appended system prompt, which goes on `claude`'s command line). Linux's
 * execve takes at most 2 MiB of arguments and environment together by default, so a larger argv
 * could not start; 1 MiB leaves room for the environment the executor adds. (A `sh -c` string is
 * run by the task's shell, not exec'd, and is held to the same limit.)
 */
export const MAX_COMMAND_BYTES = 1024 * 1024;

/** The most one exec'd word may hold: Linux's MAX_ARG_STRLEN (128 KiB with its NUL). */
export const MAX_WORD_BYTES = 128 * 1024 - 1;

/**
 * The most a prompt may hold, in UTF-8 bytes: about a million tokens of text, as much as the
 * largest context window Claude takes. Every record of a task holds its prompt, and `list` reads them.
 */
export const MAX_PROMPT_BYTES = 4 * 1024 * 1024;

// Text over its limit, said by the REST API and a worker alike (the CLI and MCP say it sooner,
// with what to do instead: input.ts).
const bytes = (text: string) => Buffer.byteLength(text);
const withinBytes = (limit: number) => (text: string) => bytes(text) <= limit;
const MIB = 1024 * 1024;

export const ClaudeCodePayloadSchema = z.object({
  type: z.literal('claude_code'),
  prompt: z
    .string()
    .min(1, 'the prompt is empty')
    .refine(withinBytes(MAX_PROMPT_BYTES), `the prompt is over the limit of ${MAX_PROMPT_BYTES / MIB} MiB`),
  maxTurns: z.number().int().positive().optional(),
  workspace: z.string().min(1).optional(),
  allowedTools: z.array(z.string().min(1)).optional(),
  disallowedTools: z.array(z.string().min(1)).optional(),
  model: z.string().min(1).optional(),
  /** claude --permission-mode; else the executor's `permission_mode`. */
  permissionMode: z.enum(PERMISSION_MODES).optional(),
  maxBudgetUsd: z.number().positive().optional(),
  appendSystemPrompt: z
    .string()
    .min(1)
    // One word on claude's command line: `--append-system-prompt=TEXT`.
    .refine(
      withinBytes(MAX_WORD_BYTES - '--append-system-prompt='.length),
      'the appended system prompt is over 128 KiB, the most one word of a command line may hold: put the long part in the prompt',
    )
    .optional(),
  /** Resume this Claude session (`start --continue`): claude --resume. */
  resumeSessionId: z.uuid({ error: 'a Claude session id is a UUID' }).optional(),
  /** The task whose session this one continues, shown in `status`. */
  continues: z.string().uuid().optional(),
});

/** A command: argv when `args` is non-empty, otherwise `sh -c command`. */
export const ShellCommandPayloadSchema = z.object({
  type: z.literal('shell_command'),
  command: z
    .string()
    .min(1, 'the command is empty')
    .refine(withinBytes(MAX_COMMAND_BYTES), `the command is over ${MAX_COMMAND_BYTES / MIB} MiB`),
  args: z
    .array(z.string())
    .refine(
      (args) => args.reduce((sum, arg) => sum + bytes(arg), 0) <= MAX_COMMAND_BYTES,
      `the arguments are over ${MAX_COMMAND_BYTES / MIB} MiB`,
    )
    .refine(
      (args) => args.every(withinBytes(MAX_WORD_BYTES)),
      'an argument is over 128 KiB, the most one word of a command line may hold: pass long text in a file',
    )
    .default([]),
  env: z.record(z.string(), z.string()).default({}),
  workingDir: z.string().min(1).optional(),
});

export const TaskPayloadSchema = z.discriminatedUnion('type', [ClaudeCodePayloadSchema, ShellCommandPayloadSchema]);

export type ClaudeCodePayload = z.infer<typeof ClaudeCodePayloadSchema>;
export type ShellCommandPayload = z.infer<typeof ShellCommandPayloadSchema>;
export type TaskPayload = z.infer<typeof TaskPayloadSchema>;
export type TaskType = TaskPayload['type'];

/** What a task with a concurrency key does to the others of its key (see TaskRequest.onConflict). */
export const ON_CONFLICT_POLICIES = ['queue', 'cancel-running', 'replace-queued'] as const;
export type OnConflict = (typeof ON_CONFLICT_POLICIES)[number];
export const CONCURRENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
/** The lowest priority a caller may give (1 is the highest); BullMQ's own limit is 2^21 - 1. */
export const MAX_PRIORITY = 1_000_000;
/** How many tasks one task may wait for. */
export const MAX_DEPENDENCIES = 50;

/** A task id: a lowercase UUID v4, as every task gets one. */
export const TASK_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const EXECUTOR_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** What a caller asks for; stored as the BullMQ job's data and validated again by the worker. */
export const TaskRequestSchema = z.object({
  executor: z.string().regex(EXECUTOR_NAME_PATTERN, 'executor names use letters, digits, "-", "_" and "."'),
  payload: TaskPayloadSchema,
  labels: z.array(z.string().min(1)).default([]),
  name: z.string().min(1).max(200).optional(),
  /** Wall-clock limit in milliseconds; enforced by the lifecycle layer. */
  timeoutMs: z.number().int().positive().optional(),
  // A URL with a user or password is refused where requests come in (client.ts), not here: a
  // worker still runs a task of an earlier version that has one (its deliveries fail, masked).
  callbackUrl: z.url({ protocol: /^https?$/, error: 'the callback URL must be an http(s) URL' }).optional(),
  /**
   * Notifiers (the config's `notifiers:`) that announce the task's end, chosen when it was
   * enqueued (`defaults.notify` unless the caller named them). Absent: none (so a task without
   * notifiers costs no bytes for them, and tasks of earlier versions have none).
   */
  notify: z
    .array(z.string().regex(NOTIFIER_NAME_PATTERN, 'notifier names use letters, digits, "-", "_" and "."'))
    .max(20)
    .optional(),
  /** The OpenClaw session to wake (`sessionKey`); the gateway needs `hooks.allowRequestSessionKey`. */
  notifySession: z.string().min(1).max(200).optional(),
  /** Claude tasks: `wait` for the account's usage limit to reset and resume, or `fail` at once. @default "wait" */
  onLimit: z.enum(['wait', 'fail']).optional(),
  /** Claude tasks: how many times to wait for a usage limit before failing. @default 3 */
  limitWaits: z.number().int().min(0).max(20).optional(),
  /** Run in a git worktree of its own, on a branch `oca/<short id>` from the base. */
  worktree: WorktreeRequestSchema.optional(),
  /** Extra runs after a failed one (opt-in; the default never runs a command twice). @default 0 */
  retries: z.number().int().min(0).max(100).default(0),
  /** First delay before a retry; doubles each time, with jitter. @default 30 s */
  backoffMs: z.number().int().positive().optional(),
  /** Run only after these tasks ended (completed, unless `afterAny`); the task is `blocked` until then. */
  after: z.array(z.uuid()).min(1).max(MAX_DEPENDENCIES).optional(),
  /** With `after`: run whatever way the tasks it waits for ended. @default false */
  afterAny: z.boolean().optional(),
  /** Start no earlier than this (ms since the epoch): `--delay`, `--at`; `scheduled` until then. */
  runAt: z.number().int().nonnegative().optional(),
  /** 1 runs first; tasks without one run after every task with one. */
  priority: z.number().int().min(1).max(MAX_PRIORITY).optional(),
  /** At most `concurrencyLimit` tasks with this key run at once, across all executors. */
  concurrencyKey: z
    .string()
    .regex(CONCURRENCY_KEY_PATTERN, 'concurrency keys use letters, digits, "-", "_", ".", ":" and "/"')
    .max(100)
    .optional(),
  /** @default 1 */
  concurrencyLimit: z.number().int().min(1).max(1000).optional(),
  /** What the task does to the other tasks of its key: `queue` behind them, `cancel-running`, `replace-queued`. @default "queue" */
  onConflict: z.enum(ON_CONFLICT_POLICIES).optional(),
  /** The schedule whose firing made this task. */
  schedule: z.string().min(1).max(100).optional(),
  createdAt: z.number().int().nonnegative(),
  /** HMAC-SHA256 of the task id and this request, when the deployment has a `task_signing_key` (task-signing.ts). */
  signature: z.string().max(128).optional(),
});

export type TaskRequest = z.infer<typeof TaskRequestSchema>;

export const TASK_TYPE_ICONS: Record<TaskType, string> = {
  claude_code: '🤖',
  shell_command: '⚙️',
};

/** The working directory a payload asks for, if any. */
export function payloadWorkdir(payload: TaskPayload): string | undefined {
  return payload.type === 'claude_code' ? payload.workspace : payload.workingDir;
}

/**
 * The script of a one-word argv (`run -- WORD`, `argv: [WORD]`): `sh -c 'exec "$0"' WORD`. A payload
 * with no args means `sh -c command`, so a lone word cannot be sent as itself: it would be read by
 * the shell (`["touch /tmp/x; echo"]` would run two commands, `["/opt/My Tools/build"]` the wrong
 * program). This shell reads only its script and execs the word as `$0`, unread, with PATH lookup
 * as argv gets; and workers of any version run the payload the same way.
 */
export const EXEC_LONE_WORD = 'exec "$0"';

/** A one-line summary of what the task runs: the command with its argv, or the prompt. */
export function describePayload(payload: TaskPayload): string {
  if (payload.type === 'claude_code') return payload.prompt;
  if (payload.args.length === 0) return payload.command;
  const { command, args } = payload;
  // A lone argv word (EXEC_LONE_WORD) reads as the word it runs.
  const words =
    command === 'sh' && args.length === 3 && args[0] === '-c' && args[1] === EXEC_LONE_WORD
      ? [args[2]!]
      : [command, ...args];
  return words.map(quoteForDisplay).join(' ');
}

// Quotes a word for display only (never executed): readable, and unambiguous about word breaks.
function quoteForDisplay(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
