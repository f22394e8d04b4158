// A task's record: its Redis hash, parsed and typed, and the JSON every surface shows of it.
import { z } from 'zod';
import type { TaskRequest, TaskType } from './request.js';
import { describePayload, payloadWorkdir } from './request.js';
import { TaskGitSchema, type TaskGit } from '../git/task-worktree.js';
import { ENDED_STATUSES, type EndedStatus, type TaskStatus, type WaitingReason } from './status.js';

export type ExecutorType = 'local' | 'ssh' | 'container';

/**
 * What we keep about a task beside its BullMQ job, in one Redis hash. `handle` is the executor's
 * way back to a detached run (pid and start time, container id …); `checkpoint` is how far its
 * output has been shipped into the log stream. Both are written atomically with the log entries.
 */
export interface TaskRecord {
  id: string;
  executor: string;
  executorType: ExecutorType;
  taskType: TaskType;
  createdAt: number;
  name?: string;
  summary: string;
  workdir?: string;
  labels: string[];
  envKeys: string[];
  startedAt?: number;
  updatedAt?: number;
  finishedAt?: number;
  pid?: number;
  exitCode?: number;
  signal?: string;
  outcome?: EndedStatus;
  error?: string;
  /** The run the handle and checkpoint belong to; 1 unless retried. */
  attempt: number;
  attemptStartedAt?: number;
  /**
   * Set before the executor launches the run (with the handle it is about to create) and kept
   * until the run ends: the run is claimed, and may have been launched even while
   * `attemptStartedAt` is unset.
   */
  launchingAt?: number;
  /** Every run that ended so far, oldest first. */
  attempts: AttemptSummary[];
  stop?: { kind: 'killed' | 'timed_out'; reason: string; requestedAt?: number; graceMs?: number };
  /** Delivery state of each completion webhook. */
  webhooks: WebhookState[];
  /** The notifiers that announce the task's end (chosen when it was enqueued). */
  notify: string[];
  /** Delivery state of each notifier, once the task has ended. */
  notifiers: NotifierState[];
  handle: Record<string, string>;
  checkpoint: Record<string, string>;
  /** A Claude task's progress and result, as the worker read them from its stream-json output. */
  claude?: ClaudeProgressFields;
  /** The task whose Claude session this one continues (`start --continue`). */
  continues?: string;
  /** The task's git worktree, when it runs in one: made at its start, its changes counted at its end. */
  git?: TaskGit;
  /** A Claude task's waits for the account's usage limit: how many, until when, the session to resume. */
  limit?: { waits: number; until?: number; session?: string; resumeRun?: number; allowed?: number };
  /** The tasks this one runs after, and whether any end of theirs will do (`--after-any`). */
  after?: string[];
  afterAny?: boolean;
  /** While it waits for the tasks of `after`. */
  blocked?: boolean;
  /** The earliest start asked for (`--delay`, `--at`). */
  runAt?: number;
  /** When it was last let go to run by us: released from `--after`, or given a concurrency turn. */
  readyAt?: number;
  /** 1 runs first. */
  priority?: number;
  /** Its concurrency key, how many of the key may run at once, and whether it waits for a turn now. */
  concurrency?: { key: string; limit: number; waiting: boolean };
  /** The schedule whose firing made it. */
  schedule?: string;
}

/** What a Claude task's output told us; each field is a `cc:` field of the record hash. */
export interface ClaudeProgressFields {
  session_id?: string;
  model?: string;
  /** Assistant turns seen so far. */
  turns?: number;
  /** The last tool call in one line, like `Bash: cargo build`. */
  last_tool?: string;
  input_tokens?: number;
  output_tokens?: number;
  /** The CLI's latest event of its own: `⟳ API retry 3/10: 401 authentication_failed`, a background task started or ended. */
  last_event?: string;
  /** API retries so far. */
  api_retries?: number;
  /** From the result line: success, error_max_turns, error_during_execution, error_max_budget_usd. */
  subtype?: string;
  is_error?: boolean;
  num_turns?: number;
  total_cost_usd?: number;
  duration_ms?: number;
  result?: string;
  /** The HTTP status of the API error the run ended on, and what it was (`usage_limit_reached` …). */
  api_error_status?: number;
  api_error?: string;
}

export const CLAUDE_PREFIX = 'cc:';
const CLAUDE_NUMBER_FIELDS = new Set([
  'turns',
  'input_tokens',
  'output_tokens',
  'num_turns',
  'total_cost_usd',
  'duration_ms',
  'api_retries',
  'api_error_status',
]);

/** The record hash fields for (part of) a Claude progress. */
export function claudeFields(progress: ClaudeProgressFields): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(progress))
    if (value !== undefined) out[CLAUDE_PREFIX + key] = String(value);
  return out;
}

function parseClaudeFields(hash: Record<string, string>): ClaudeProgressFields | undefined {
  const out: ClaudeProgressFields & Record<string, string | number | boolean | undefined> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (!key.startsWith(CLAUDE_PREFIX)) continue;
    const name = key.slice(CLAUDE_PREFIX.length);
    if (CLAUDE_NUMBER_FIELDS.has(name)) {
      const number = Number(value);
      if (Number.isFinite(number)) out[name] = number;
    } else if (name === 'is_error') out[name] = value === 'true';
    else out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** One run of a task, as `status` lists it. */
export interface AttemptSummary {
  attempt: number;
  outcome: EndedStatus;
  exit_code: number | null;
  started_at: string | null;
  finished_at: string;
  error: string | null;
}

/** One webhook's delivery; the URL is shown by origin only (paths often hold tokens). */
export interface WebhookState {
  target: string;
  state: 'pending' | 'retrying' | 'delivered' | 'gone' | 'failed';
  attempts: number;
  status?: number;
  error?: string;
  at?: string;
}

/** One notifier's announcement of the task's end, as recorded in the `nt:<name>` field. */
export const NotifierStateSchema = z.object({
  type: z.enum(['openclaw', 'command']),
  /** The gateway's origin, or the command's program. */
  target: z.string(),
  state: z.enum(['pending', 'retrying', 'delivered', 'failed']),
  attempts: z.number().int().nonnegative(),
  /** The gateway's HTTP status. */
  status: z.number().int().optional(),
  /** The command's exit code. */
  exit_code: z.number().int().optional(),
  /** What the gateway made of it: `queued` or `coalesced`. */
  outcome: z.string().optional(),
  error: z.string().optional(),
  at: z.string().optional(),
});
export type NotifierState = z.infer<typeof NotifierStateSchema> & { name: string };

const HANDLE_PREFIX = 'h:';
const WEBHOOK_PREFIX = 'wh:';
/** Record fields `nt:<name>`: a notifier's delivery state, as JSON. */
export const NOTIFIER_PREFIX = 'nt:';
const CHECKPOINT_PREFIX = 'c:';

/** The hash fields written when a task is enqueued. */
export function initialRecordFields(
  id: string,
  request: TaskRequest,
  executorType: ExecutorType,
): Record<string, string> {
  const fields: Record<string, string> = {
    id,
    executor: request.executor,
    executor_type: executorType,
    task_type: request.payload.type,
    created_at: String(request.createdAt),
    summary: describePayload(request.payload),
    labels: JSON.stringify(request.labels),
    env_keys: JSON.stringify(request.payload.type === 'shell_command' ? Object.keys(request.payload.env) : []),
  };
  const workdir = payloadWorkdir(request.payload);
  if (workdir) fields.workdir = workdir;
  if (request.name) fields.name = request.name;
  if (request.notify !== undefined && request.notify.length > 0) fields.notify = JSON.stringify(request.notify);
  if (request.payload.type === 'claude_code' && request.payload.continues) fields.continues = request.payload.continues;
  if (request.after !== undefined) {
    fields.after = JSON.stringify(request.after);
    fields.blocked = '1';
    if (request.afterAny) fields.after_any = '1';
  }
  if (request.runAt !== undefined) fields.run_at = String(request.runAt);
  if (request.priority !== undefined) fields.priority = String(request.priority);
  if (request.concurrencyKey !== undefined) {
    fields.concurrency_key = request.concurrencyKey;
    fields.concurrency_limit = String(request.concurrencyLimit ?? 1);
  }
  if (request.schedule !== undefined) fields.schedule = request.schedule;
  return fields;
}

export function handleFields(handle: Record<string, string>): Record<string, string> {
  return prefixKeys(HANDLE_PREFIX, handle);
}

export function checkpointFields(checkpoint: Record<string, string>): Record<string, string> {
  return prefixKeys(CHECKPOINT_PREFIX, checkpoint);
}

function prefixKeys(prefix: string, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [prefix + key, value]));
}

const RecordHashSchema = z.object({
  id: z.string().min(1),
  executor: z.string().min(1),
  executor_type: z.enum(['local', 'ssh', 'container']),
  task_type: z.enum(['claude_code', 'shell_command']),
  created_at: z.coerce.number().int(),
  summary: z.string().default(''),
  name: z.string().optional(),
  workdir: z.string().optional(),
  labels: z.string().default('[]'),
  env_keys: z.string().default('[]'),
  started_at: z.coerce.number().int().optional(),
  updated_at: z.coerce.number().int().optional(),
  finished_at: z.coerce.number().int().optional(),
  pid: z.coerce.number().int().optional(),
  exit_code: z.coerce.number().int().optional(),
  signal: z.string().optional(),
  outcome: z.enum(ENDED_STATUSES as [EndedStatus, ...EndedStatus[]]).optional(),
  error: z.string().optional(),
  attempt: z.coerce.number().int().positive().default(1),
  attempt_started_at: z.coerce.number().int().optional(),
  launching_at: z.coerce.number().int().optional().catch(undefined),
  attempts_log: z.string().default('[]'),
  stop_kind: z.enum(['killed', 'timed_out']).optional(),
  stop_reason: z.string().optional(),
  stop_requested_at: z.coerce.number().int().optional(),
  stop_grace_ms: z.coerce.number().int().min(0).optional().catch(undefined),
  continues: z.string().optional(),
  notify: z.string().default('[]'),
  git: z.string().optional(),
  limit_waits: z.coerce.number().int().min(0).optional().catch(undefined),
  limit_until: z.coerce.number().int().optional().catch(undefined),
  limit_session: z.string().optional(),
  limit_run: z.coerce.number().int().optional().catch(undefined),
  limit_of: z.coerce.number().int().optional().catch(undefined),
  after: z.string().optional(),
  after_any: z.string().optional(),
  blocked: z.string().optional(),
  run_at: z.coerce.number().int().optional().catch(undefined),
  ready_at: z.coerce.number().int().optional().catch(undefined),
  priority: z.coerce.number().int().optional().catch(undefined),
  concurrency_key: z.string().optional(),
  concurrency_limit: z.coerce.number().int().positive().optional().catch(undefined),
  concurrency_wait: z.string().optional(),
  schedule: z.string().optional(),
});

/** Parses a record hash read back from Redis; undefined when the hash is empty or malformed. */
export function parseRecordHash(hash: Record<string, string>): TaskRecord | undefined {
  const parsed = RecordHashSchema.safeParse(hash);
  if (!parsed.success) return undefined;
  const h = parsed.data;
  const handle: Record<string, string> = {};
  const checkpoint: Record<string, string> = {};
  const webhooks: WebhookState[] = [];
  const notifiers: NotifierState[] = [];
  for (const [key, value] of Object.entries(hash)) {
    if (key.startsWith(NOTIFIER_PREFIX)) {
      const state = parseNotifierState(key.slice(NOTIFIER_PREFIX.length), value);
      if (state) notifiers.push(state);
    }
    if (key.startsWith(WEBHOOK_PREFIX)) {
      const state = parseWebhookState(value);
      if (state) webhooks[Number(key.slice(WEBHOOK_PREFIX.length))] = state;
    }
    if (key.startsWith(HANDLE_PREFIX)) handle[key.slice(HANDLE_PREFIX.length)] = value;
    if (key.startsWith(CHECKPOINT_PREFIX)) checkpoint[key.slice(CHECKPOINT_PREFIX.length)] = value;
  }
  return {
    id: h.id,
    executor: h.executor,
    executorType: h.executor_type,
    taskType: h.task_type,
    createdAt: h.created_at,
    name: h.name,
    summary: h.summary,
    workdir: h.workdir,
    labels: parseStringArray(h.labels),
    envKeys: parseStringArray(h.env_keys),
    startedAt: h.started_at,
    updatedAt: h.updated_at,
    finishedAt: h.finished_at,
    pid: h.pid,
    exitCode: h.exit_code,
    signal: h.signal,
    outcome: h.outcome,
    error: h.error,
    attempt: h.attempt,
    attemptStartedAt: h.attempt_started_at,
    launchingAt: h.launching_at,
    attempts: parseAttempts(h.attempts_log),
    stop: h.stop_kind
      ? {
          kind: h.stop_kind,
          reason: h.stop_reason ?? h.stop_kind,
          requestedAt: h.stop_requested_at,
          graceMs: h.stop_grace_ms,
        }
      : undefined,
    webhooks: webhooks.filter(Boolean),
    notify: parseStringArray(h.notify),
    notifiers: notifiers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    handle,
    checkpoint,
    claude: parseClaudeFields(hash),
    continues: h.continues,
    git: parseTaskGit(h.git),
    limit:
      h.limit_until !== undefined || h.limit_waits !== undefined
        ? {
            waits: h.limit_waits ?? 0,
            until: h.limit_until,
            session: h.limit_session,
            resumeRun: h.limit_run,
            allowed: h.limit_of,
          }
        : undefined,
    after: h.after !== undefined ? parseStringArray(h.after) : undefined,
    afterAny: h.after_any === '1' ? true : undefined,
    blocked: h.blocked === '1' ? true : undefined,
    runAt: h.run_at,
    readyAt: h.ready_at,
    priority: h.priority,
    concurrency:
      h.concurrency_key !== undefined
        ? { key: h.concurrency_key, limit: h.concurrency_limit ?? 1, waiting: h.concurrency_wait === '1' }
        : undefined,
    schedule: h.schedule,
  };
}

function parseWebhookState(text: string): WebhookState | undefined {
  try {
    const v = JSON.parse(text) as {
      url?: string;
      state?: WebhookState['state'];
      attempts?: number;
      status?: number;
      error?: string;
      at?: string;
    };
    if (!v.url || !v.state) return undefined;
    let target = v.url;
    try {
      target = new URL(v.url).origin;
    } catch {
      // keep as is
    }
    return { target, state: v.state, attempts: v.attempts ?? 0, status: v.status, error: v.error, at: v.at };
  } catch {
    return undefined;
  }
}

// A notifier's state as its `nt:` field holds it; undefined for anything else.
function parseNotifierState(name: string, text: string): NotifierState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = NotifierStateSchema.safeParse(value);
  return parsed.success ? { name, ...parsed.data } : undefined;
}

// The `git` field's JSON; undefined for anything else.
function parseTaskGit(text: string | undefined): TaskGit | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = TaskGitSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseAttempts(text: string): AttemptSummary[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as AttemptSummary[]) : [];
  } catch {
    return [];
  }
}

function parseStringArray(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** A task as every surface shows it: the record, its derived status and its place in the queue. */
export interface TaskView {
  record: TaskRecord;
  status: TaskStatus;
  queuePosition?: number;
  /** What a task that has not started waits for, in a few words: `task 3f2a9c81 (build)`, `12:00 UTC`… */
  waitingFor?: string;
  /** Why it waits, as a stable code: `no_worker`, `paused`, `queue` (tasks ahead of it), `dependency`… */
  waitingReason?: WaitingReason;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * The JSON that leaves the program. The original tool's fields come first with their names
 * unchanged, then the new ones. Env values never appear: only `env_keys`.
 */
export function toTaskJson(view: TaskView, now: number = Date.now()): Record<string, unknown> {
  const r = view.record;
  const end = r.finishedAt ?? (view.status === 'running' ? now : undefined);
  return {
    task_id: r.id,
    executor: r.executor,
    executor_type: r.executorType,
    task_type: r.taskType,
    status: view.status,
    pid: r.pid ?? null,
    started_at: iso(r.startedAt),
    updated_at: iso(r.updatedAt ?? r.startedAt ?? r.createdAt),
    finished_at: iso(r.finishedAt),
    exit_code: r.exitCode ?? null,
    error: r.error ?? null,
    name: r.name ?? null,
    [r.taskType === 'claude_code' ? 'prompt' : 'command']: r.summary,
    workdir: r.workdir ?? null,
    duration_ms: r.startedAt !== undefined && end !== undefined ? end - r.startedAt : null,
    labels: r.labels,
    env_keys: r.envKeys,
    signal: r.signal ?? null,
    attempt: r.attempt,
    attempts: r.attempts,
    webhooks: r.webhooks,
    notify: r.notify,
    notifiers: r.notifiers,
    created_at: iso(r.createdAt),
    queue_position: view.queuePosition ?? null,
    git: r.git ?? null,
    after: r.after ?? null,
    after_any: r.afterAny ?? false,
    run_at: iso(r.runAt),
    priority: r.priority ?? null,
    concurrency_key: r.concurrency?.key ?? null,
    concurrency_limit: r.concurrency?.limit ?? null,
    schedule: r.schedule ?? null,
    waiting_for: view.waitingFor ?? null,
    waiting_reason: view.waitingReason ?? null,
    ...(r.taskType === 'claude_code'
      ? {
          claude: r.claude ?? null,
          continues: r.continues ?? null,
          limit: r.limit ? { waits: r.limit.waits, until: iso(r.limit.until) } : null,
        }
      : {}),
  };
}
