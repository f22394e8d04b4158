// A task's input checked and built into the request that is queued, as far as the config alone
// tells: the executor, the request's fields, options that go together, and what the executor can
// take. TaskClient.prepare adds what needs Redis (dependencies, the shortest queue, the worktree's
// repository); the CLI runs these checks before it connects or starts anything.
import path from 'node:path';
import type { ExecutorConfig, LoadedConfig } from '../config/config.js';
import { InvalidInputError, UnknownExecutorError, UsageError } from '../errors.js';
import { environmentProblem } from '../executors/shell/env-names.js';
import type { WorktreeRequest } from '../git/task-worktree.js';
import { fetchPortProblem, hasUrlCredentials } from '../notify/http-url.js';
import { resolveTaskNotifiers } from '../notify/task-notifiers.js';
import { describeIssue } from '../text/zod-issues.js';
import { quoteInput } from '../text/escape.js';
import { BLOCKED_UNTIL } from './dependencies.js';
import { payloadWorkdir, TaskRequestSchema, type OnConflict, type TaskPayload, type TaskRequest } from './request.js';

export interface EnqueueInput {
  /** The executor to run on; chosen by `labels` (or the only executor) when absent. */
  executor?: string;
  payload: TaskPayload;
  labels?: string[];
  name?: string;
  timeoutMs?: number;
  callbackUrl?: string;
  /**
   * Notifier names from the config's `notifiers:`; `["none"]` or `[]` for none.
   * @default the config's `defaults.notify`
   */
  notify?: string[];
  /** The OpenClaw session key to wake instead of the agent's main session. */
  notifySession?: string;
  /**
   * Run in a git worktree of its own (`true`, or with a base and `commit`); `false` even where the
   * executor's `worktree: true` would. @default the executor's `worktree` for Claude tasks, else off
   */
  worktree?: boolean | WorktreeRequest;
  /** Extra runs after a failed one. @default 0 */
  retries?: number;
  /** Claude tasks: `wait` for the account's usage limit to reset and resume the session, or `fail`. @default "wait" */
  onLimit?: 'wait' | 'fail';
  /** Claude tasks: how many times to wait for a usage limit before failing. @default 3 */
  limitWaits?: number;
  /** First retry delay, doubling each time with jitter. @default 30 s */
  backoffMs?: number;
  /** A UUID v4 chosen by the caller (idempotent dispatch); generated when absent. */
  id?: string;
  /** Run only after these tasks (ids or unique prefixes) completed; blocked until then. */
  after?: string[];
  /** With `after`: run whatever way they ended. @default false */
  afterAny?: boolean;
  /** Start no earlier than this long from now (ms). */
  delayMs?: number;
  /** Start no earlier than this time (ms since the epoch). */
  runAt?: number;
  /** 1 runs first; without one a task runs after every task with one. */
  priority?: number;
  /** At most `concurrencyLimit` tasks of this key run at once, across all executors. */
  concurrencyKey?: string;
  /** @default 1 */
  concurrencyLimit?: number;
  /** @default "queue" */
  onConflict?: OnConflict;
  /** The schedule whose firing makes this task (set by the schedules, not by callers). */
  schedule?: string;
  /**
   * A request made and checked before (a schedule's tick, a retry), maybe by an earlier version:
   * the checks added since are not made again, so that it runs as it did. A callback on a port
   * fetch refuses is kept (its delivery fails at once); a count of waits with `onLimit: 'fail'`,
   * which never waits, is dropped. @default false
   */
  replayed?: boolean;
  /**
   * The caller's working directory. On a local executor a relative workdir resolves against it,
   * and it is the workdir when none is given (like running the command right here).
   */
  callerCwd?: string;
}

// The worktree a task asks for: as given, else the executor's default for Claude tasks.
function chooseWorktree(
  given: EnqueueInput['worktree'],
  executor: ExecutorConfig,
  payload: TaskPayload,
): WorktreeRequest | undefined {
  const wanted = given === undefined ? executor.worktree && payload.type === 'claude_code' : given !== false;
  if (!wanted) return undefined;
  if (executor.type === 'container') {
    throw new InvalidInputError(
      `--worktree needs a local or ssh executor: "${executor.name}" runs containers, which see the repository through a volume — make the worktree there yourself`,
    );
  }
  return typeof given === 'object' ? given : {};
}

// Local tasks run on this host: a relative (or absent) workdir means the caller's directory.
function withLocalWorkdir(payload: TaskPayload, callerCwd: string | undefined): TaskPayload {
  if (callerCwd === undefined) return payload;
  const given = payloadWorkdir(payload);
  if (given !== undefined && (path.isAbsolute(given) || given === '~' || given.startsWith('~/'))) return payload;
  const workdir = path.resolve(callerCwd, given ?? '.');
  return payload.type === 'claude_code' ? { ...payload, workspace: workdir } : { ...payload, workingDir: workdir };
}

const CALLBACK_CREDENTIALS =
  'put no user or password in the callback URL (fetch cannot send them, and they would be shown): deliveries are signed with the webhook secret instead';

/** How far in the past `--at` may lie (a clock a little behind), and how far ahead. */
const AT_SLACK_MS = 60_000;
const LATEST_START = BLOCKED_UNTIL - 24 * 3600_000;

/** How a surface names a request field (its path in the request) in messages; undefined: as is. */
export type FieldNamer = (path: readonly PropertyKey[]) => string | undefined;

// The options the checks here name in their messages, as the CLI's flags: the words they use when
// the caller gives no FieldNamer.
const CLI_OPTIONS = {
  executor: '--executor NAME',
  labels: '--label LABEL',
  after: '--after',
  runAt: '--at',
  delayMs: '--delay',
  callbackUrl: '--callback',
  onLimit: '--on-limit',
  limitWaits: '--limit-waits',
} as const;

/** How a message names the option that sets `field`: as the caller's surface does, else as the CLI's flag. */
export function optionName(field: keyof typeof CLI_OPTIONS, nameField?: FieldNamer): string {
  return nameField === undefined ? CLI_OPTIONS[field] : `\`${nameField([field]) ?? field}\``;
}

/**
 * The executors a task may go to when none is named: those with every one of `labels`, or the
 * only executor when no label is given; refused in one line otherwise (the options named by `nameField`).
 */
export function executorCandidates(
  config: LoadedConfig,
  labels: readonly string[],
  nameField?: FieldNamer,
): ExecutorConfig[] {
  const all = config.executors;
  if (labels.length === 0) {
    if (all.length === 1) return [all[0]!];
    const [executor, label] = [optionName('executor', nameField), optionName('labels', nameField)];
    throw new UsageError(
      `choose an executor with ${executor} or ${label} — configured: ${all.map((e) => e.name).join(', ') || '(none)'}`,
    );
  }
  const candidates = all.filter((e) => labels.every((label) => e.labels.includes(label)));
  if (candidates.length === 0) {
    throw new UnknownExecutorError(
      `no executor has all of the labels ${labels.join(', ')} — see \`openclaw-agent executors\``,
    );
  }
  return candidates;
}

/**
 * The pipeline fields of a request but its dependencies (start time, priority, concurrency),
 * checked. A start time out of range is said with its options named by `nameField`; the API and
 * MCP refuse the options that do not go together in their own words before this.
 */
export function pipelineOptions(input: EnqueueInput, now: number, nameField?: FieldNamer): Partial<TaskRequest> {
  if (input.afterAny && (input.after ?? []).length === 0) {
    throw new InvalidInputError('--after-any says how to wait for the tasks of --after: give --after ID too');
  }
  if (input.delayMs !== undefined && input.runAt !== undefined) {
    throw new InvalidInputError('give one start time: --delay (from now) or --at (a time), not both');
  }
  if (input.delayMs !== undefined && !(Number.isInteger(input.delayMs) && input.delayMs >= 0)) {
    throw new InvalidInputError(
      `Expected the delay to be a duration like 30m or 2h, got ${quoteInput(String(input.delayMs))}`,
    );
  }
  const runAt = input.runAt ?? (input.delayMs !== undefined && input.delayMs > 0 ? now + input.delayMs : undefined);
  if (input.runAt !== undefined && input.runAt < now - AT_SLACK_MS) {
    throw new InvalidInputError(
      `the start time ${new Date(input.runAt).toISOString()} is in the past; give a later ${optionName('runAt', nameField)}, or ${optionName('delayMs', nameField)}`,
    );
  }
  if (runAt !== undefined && runAt > LATEST_START) {
    throw new InvalidInputError(
      `the start time ${new Date(runAt).toISOString()} is too far ahead (the latest is ${new Date(LATEST_START).toISOString().slice(0, 10)})`,
    );
  }
  if (input.concurrencyKey === undefined && (input.onConflict !== undefined || input.concurrencyLimit !== undefined)) {
    throw new InvalidInputError(
      '--on-conflict and --concurrency-limit act on a concurrency key: give --concurrency-key KEY too',
    );
  }
  return {
    afterAny: input.afterAny || undefined,
    runAt,
    priority: input.priority,
    concurrencyKey: input.concurrencyKey,
    concurrencyLimit: input.concurrencyLimit,
    onConflict: input.onConflict,
    schedule: input.schedule,
  };
}

/**
 * The request a task's input makes on `executor`, with `pipeline` (pipelineOptions, and the
 * dependencies resolved): the workdir resolved, the worktree chosen, every field checked against
 * the schema (a bad one named by `nameField`), a callback URL fetch can reach, without
 * credentials, usage-limit options only for a Claude task and never a count of waits with
 * `onLimit: fail`, and variable names the executor can set.
 */
export function buildTaskRequest(
  config: LoadedConfig,
  executor: ExecutorConfig,
  input: EnqueueInput,
  pipeline: Partial<TaskRequest>,
  createdAt: number,
  nameField?: FieldNamer,
): { request: TaskRequest; worktree?: WorktreeRequest } {
  const notifierFields = nameField && {
    notify: nameField(['notify']) ?? 'notify',
    session: nameField(['notifySession']) ?? 'notifySession',
  };
  const notifiers = resolveTaskNotifiers(config, input.notify, input.notifySession, notifierFields);
  const payload = executor.type === 'local' ? withLocalWorkdir(input.payload, input.callerCwd) : input.payload;
  const limitWaits = input.replayed && input.onLimit === 'fail' ? undefined : input.limitWaits;
  const worktree = chooseWorktree(input.worktree, executor, payload);
  const raw = {
    executor: executor.name,
    payload,
    labels: input.labels ?? [],
    name: input.name,
    timeoutMs: input.timeoutMs ?? executor.timeout ?? config.defaults.timeout,
    callbackUrl: input.callbackUrl,
    ...notifiers,
    worktree,
    retries: input.retries,
    backoffMs: input.backoffMs,
    onLimit: input.onLimit,
    limitWaits,
    ...pipeline,
    createdAt,
  };
  const parsed = TaskRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(describeIssue(issue, raw, nameField?.(issue.path)));
  }
  const { callbackUrl } = parsed.data;
  if (callbackUrl !== undefined && hasUrlCredentials(callbackUrl)) throw new InvalidInputError(CALLBACK_CREDENTIALS);
  // Checked here, not by the schema: a worker still runs a task of an earlier version with one.
  const portProblem = callbackUrl === undefined || input.replayed ? undefined : fetchPortProblem(callbackUrl);
  if (portProblem !== undefined) throw new InvalidInputError(`${optionName('callbackUrl', nameField)}: ${portProblem}`);
  const [onLimitOption, limitWaitsOption] = [optionName('onLimit', nameField), optionName('limitWaits', nameField)];
  if (payload.type !== 'claude_code' && (input.onLimit !== undefined || input.limitWaits !== undefined)) {
    throw new InvalidInputError(
      `usage-limit waits (${onLimitOption}, ${limitWaitsOption}) are for Claude tasks: a command has no usage limit`,
    );
  }
  // Here rather than in the schema, for the same reason: earlier versions took both.
  if (input.onLimit === 'fail' && limitWaits !== undefined)
    throw new InvalidInputError(
      `${limitWaitsOption} counts waits for a usage limit, and ${onLimitOption} fail never waits: drop one`,
    );
  // Local and SSH tasks get their variables from a shell, which can set only some names; a
  // container from NAME=value strings.
  const envProblem =
    parsed.data.payload.type === 'shell_command'
      ? environmentProblem(executor.type, Object.keys(parsed.data.payload.env))
      : undefined;
  if (envProblem !== undefined) throw new InvalidInputError(envProblem);
  return { request: parsed.data, worktree };
}
