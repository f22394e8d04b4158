import { z } from 'zod';
import { OcaError, type ErrorCode } from './errors.js';
import type { EndMarker, LogEntry } from './log-stream.js';
import { buildClaudePayload, buildShellPayload, type ClaudeInput, type ShellInput } from './task-input.js';
import { TaskPayloadSchema, TaskRequestSchema } from './task-payload.js';
import { TaskGitSchema } from './git/task-worktree.js';
import { NotifierStateSchema } from './task-record.js';
import { TASK_STATUSES, type TaskStatus } from './task-status.js';

// The REST API's contract (bodies and answers as zod schemas, which the server in bull-board/
// validates with and derives its OpenAPI document from) and a typed client for it.

const isAbsoluteOrHome = (dir: string) => dir.startsWith('/') || dir === '~' || dir.startsWith('~/');
const WORKDIR_MESSAGE = 'the API has no current directory: give an absolute path or one starting with ~';

/** `POST /api/tasks`: what `run` and `start` take on the command line, as JSON. */
export const ApiCreateTaskBodySchema = z
  .strictObject({
    /** The executor to run on; chosen by `labels` (or the only executor) when absent. */
    executor: z.string().min(1).optional(),
    payload: TaskPayloadSchema,
    /** Sets the payload's `workingDir` (commands) or `workspace` (prompts) when it has none. */
    workdir: z.string().min(1).optional(),
    labels: z.array(z.string().min(1)).optional(),
    name: TaskRequestSchema.shape.name,
    /** Wall-clock limit in milliseconds. @default the executor's or the config's `timeout` */
    timeoutMs: TaskRequestSchema.shape.timeoutMs,
    /** Extra runs after a failed one. @default 0 */
    retries: z.number().int().min(0).max(100).optional(),
    /** Claude tasks: `wait` for the account's usage limit to reset and resume, or `fail` at once. @default "wait" */
    onLimit: TaskRequestSchema.shape.onLimit,
    /** Claude tasks: how many times to wait for a usage limit before failing. @default 3 */
    limitWaits: TaskRequestSchema.shape.limitWaits,
    /** First delay before a retry, doubling with jitter. @default 30000 */
    backoffMs: TaskRequestSchema.shape.backoffMs,
    /** Completion webhook URL (signed, retried). */
    callbackUrl: TaskRequestSchema.shape.callbackUrl,
    /** Notifiers from the config's `notifiers:`; `[]` or `["none"]` for none. @default the config's `defaults.notify` */
    notify: z.array(z.string().min(1).max(64)).max(20).optional(),
    /** The OpenClaw session key to wake (the gateway needs `hooks.allowRequestSessionKey`). */
    notifySession: TaskRequestSchema.shape.notifySession,
    /** Run in a git worktree of its own: `true`, or `{base, commit}`; `false` even where the executor says `worktree: true`. */
    worktree: z.union([z.boolean(), z.strictObject({ base: z.string().min(1).max(200).optional(), commit: z.boolean().optional() })]).optional(),
    /** A UUID v4 of your choosing, for idempotent dispatch; a second request with it is refused. */
    id: z.uuid({ version: 'v4' }).optional(),
  })
  .superRefine((body, ctx) => {
    const dirs: [string, string | undefined][] = [
      ['workdir', body.workdir],
      ['payload.workingDir', body.payload.type === 'shell_command' ? body.payload.workingDir : undefined],
      ['payload.workspace', body.payload.type === 'claude_code' ? body.payload.workspace : undefined],
    ];
    for (const [field, dir] of dirs) {
      if (dir !== undefined && !isAbsoluteOrHome(dir)) ctx.addIssue({ code: 'custom', path: field.split('.'), message: WORKDIR_MESSAGE });
    }
  });
export type ApiCreateTaskBody = z.input<typeof ApiCreateTaskBodySchema>;

const ENDED = TASK_STATUSES.filter((s) => s !== 'queued' && s !== 'running') as [string, ...string[]];
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

export const ApiCreatedTaskSchema = z.object({ task_id: z.string(), executor: z.string() });
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
});
export type ApiExecutor = z.infer<typeof ApiExecutorSchema>;

export const ApiErrorBodySchema = z.object({ error: z.string() });

/** Filters of `GET /api/tasks`. */
export interface ApiListQuery {
  status?: TaskStatus;
  executor?: string;
  type?: 'claude_code' | 'shell_command';
  label?: string;
  /** Words of the name, command, prompt or labels (each also as a prefix). */
  q?: string;
  /** @default 50 */
  limit?: number;
  cursor?: string;
}

/** What `run` and `start` take besides the payload. */
export interface ApiTaskOptions {
  executor?: string;
  labels?: string[];
  name?: string;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  callbackUrl?: string;
  notify?: string[];
  notifySession?: string;
  worktree?: boolean | { base?: string; commit?: boolean };
  /** Claude tasks: `wait` out the account's usage limit (default) or `fail`. */
  onLimit?: 'wait' | 'fail';
  limitWaits?: number;
  id?: string;
}

/** An answer other than 2xx, with the server's one-line message. */
export class ApiError extends OcaError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(errorCodeOf(status), message);
  }
}

function errorCodeOf(status: number): ErrorCode {
  if (status === 404) return 'TASK_NOT_FOUND';
  if (status === 409) return 'AMBIGUOUS_TASK_ID';
  if (status === 503) return 'REDIS_UNREACHABLE';
  if (status >= 400 && status < 500) return status === 400 ? 'INVALID_INPUT' : 'USAGE';
  return 'INTERNAL';
}

export interface ApiClientOptions {
  /** The dashboard's address, like `http://127.0.0.1:3000`. */
  url: string;
  /** Sent as `Authorization: Bearer`; needed when the dashboard has a token. */
  token?: string;
}

export interface ApiFollowOptions {
  /** Start after this log entry id (as a previous event's `id`). @default from the beginning */
  afterId?: string;
  /** A Claude task's stdout as a transcript instead of its stream-json lines. @default false */
  transcript?: boolean;
  signal?: AbortSignal;
  /** Reconnections in a row (with back-off) before giving up. @default 5 */
  maxReconnects?: number;
}

/** The typed client of the REST API: `createClient({ url, token })`. */
export interface ApiClient {
  /** Enqueues a shell command: `cmd` for `sh -c`, or `argv` run as is. */
  run(input: ShellInput & ApiTaskOptions): Promise<ApiCreatedTask>;
  /** Enqueues a Claude Code prompt. */
  start(input: ClaudeInput & ApiTaskOptions): Promise<ApiCreatedTask>;
  /** Enqueues a request given as the API's JSON body. */
  create(body: ApiCreateTaskBody): Promise<ApiCreatedTask>;
  get(id: string): Promise<ApiTask>;
  list(query?: ApiListQuery): Promise<{ tasks: ApiTask[]; nextCursor: string | undefined }>;
  /** The last `tail` lines of output as text. */
  logs(id: string, options?: { tail?: number }): Promise<string>;
  /** The log entries as they are written, until the end marker; resumes after a dropped connection. */
  logs(id: string, options: ApiFollowOptions & { follow: true }): AsyncGenerator<LogEntry>;
  kill(id: string, options?: { graceMs?: number }): Promise<ApiKillResult>;
  retry(id: string): Promise<ApiCreatedTask>;
  /** Resolves when every task has ended, with their final records in the order given. */
  wait(ids: string | string[], options?: { timeoutMs?: number }): Promise<ApiTask[]>;
}

export function createClient(options: ApiClientOptions): ApiClient {
  const base = options.url.replace(/\/+$/, '');
  const headers = (extra: Record<string, string> = {}): Record<string, string> =>
    options.token ? { authorization: `Bearer ${options.token}`, ...extra } : extra;

  async function call<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await fetch(base + path, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, text));
    return schema.parse(JSON.parse(text));
  }

  const taskPath = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;
  const create = (body: ApiCreateTaskBody) => call(ApiCreatedTaskSchema, 'POST', '/api/tasks', body);
  const withOptions = (payload: ApiCreateTaskBody['payload'], o: ApiTaskOptions): ApiCreateTaskBody => ({
    payload,
    executor: o.executor,
    labels: o.labels,
    name: o.name,
    timeoutMs: o.timeoutMs,
    retries: o.retries,
    backoffMs: o.backoffMs,
    callbackUrl: o.callbackUrl,
    notify: o.notify,
    notifySession: o.notifySession,
    worktree: o.worktree,
    onLimit: o.onLimit,
    limitWaits: o.limitWaits,
    id: o.id,
  });

  async function tail(id: string, lines: number): Promise<string> {
    const response = await fetch(`${base}${taskPath(id)}/logs?tail=${lines}`, { headers: headers() });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, text));
    return text;
  }

  async function* follow(id: string, o: ApiFollowOptions): AsyncGenerator<LogEntry> {
    let lastId = o.afterId;
    let failures = 0;
    const query = o.transcript ? '?view=transcript' : '';
    for (;;) {
      let response: Response;
      try {
        response = await fetch(`${base}${taskPath(id)}/logs${query}`, {
          headers: headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
          signal: o.signal,
        });
      } catch (error) {
        if (o.signal?.aborted) return;
        if (++failures > (o.maxReconnects ?? 5)) throw error;
        await pause(Math.min(2000, 100 * 2 ** failures));
        continue;
      }
      if (!response.ok || !response.body) throw new ApiError(response.status, errorMessage(response.status, await response.text()));
      try {
        for await (const event of readServerSentEvents(response.body)) {
          failures = 0;
          const entry = toLogEntry(event);
          if (!entry) continue;
          lastId = entry.id;
          yield entry;
          if (entry.kind === 'end') return;
        }
      } catch (error) {
        if (o.signal?.aborted) return;
        if (++failures > (o.maxReconnects ?? 5)) throw error;
      }
      if (o.signal?.aborted) return;
      // The stream closed before the end marker (a restart, a proxy timeout): resume after the last id.
      await pause(Math.min(2000, 100 * 2 ** failures));
    }
  }

  function logs(id: string, options?: { tail?: number }): Promise<string>;
  function logs(id: string, options: ApiFollowOptions & { follow: true }): AsyncGenerator<LogEntry>;
  function logs(id: string, o: (ApiFollowOptions & { follow?: boolean; tail?: number }) = {}): Promise<string> | AsyncGenerator<LogEntry> {
    return o.follow ? follow(id, o) : tail(id, o.tail ?? 50);
  }

  return {
    run: (input) => create(withOptions(buildShellPayload(input), input)),
    start: (input) => create(withOptions(buildClaudePayload(input), input)),
    create,
    get: (id) => call(ApiTaskSchema, 'GET', taskPath(id)),
    async list(query = {}) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
      const page = await call(ApiTaskListSchema, 'GET', `/api/tasks${params.size > 0 ? `?${params}` : ''}`);
      return { tasks: page.tasks, nextCursor: page.next_cursor ?? undefined };
    },
    logs,
    kill: (id, o = {}) => call(ApiKillResultSchema, 'POST', `${taskPath(id)}/kill`, o.graceMs === undefined ? {} : { graceMs: o.graceMs }),
    retry: (id) => call(ApiCreatedTaskSchema, 'POST', `${taskPath(id)}/retry`, {}),
    async wait(ids, o = {}) {
      const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
      const out: ApiTask[] = [];
      for (const id of Array.isArray(ids) ? ids : [ids]) {
        for (;;) {
          const remaining = deadline - Date.now();
          const slice = Math.max(0, Math.min(30_000, remaining));
          const result = await call(ApiWaitResultSchema, 'GET', `${taskPath(id)}/wait?timeoutMs=${Math.round(slice)}`);
          if (result.done) {
            out.push(result.task);
            break;
          }
          if (Date.now() >= deadline) throw new OcaError('WAIT_TIMEOUT', `still running after the timeout: ${result.task.task_id}`);
        }
      }
      return out;
    },
  };
}

function errorMessage(status: number, text: string): string {
  try {
    return ApiErrorBodySchema.parse(JSON.parse(text)).error;
  } catch {
    return `HTTP ${status}${text ? `: ${text.split('\n')[0]!.slice(0, 200)}` : ''}`;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into events (CR, LF and CRLF line ends, comments skipped). */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end of the buffer may be the first half of a CRLF.
        if (!match || (match[0] === '\r' && match.index === buffer.length - 1 && !done)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (done) return;
    }
  } finally {
    // A consumer that stops early closes the connection too (a follow can last as long as its task).
    await reader.cancel().catch(() => {});
  }
}

function toLogEntry(event: SseEvent): LogEntry | undefined {
  if (event.id === undefined) return undefined;
  if (event.event === 'end') return { id: event.id, kind: 'end', end: JSON.parse(event.data) as EndMarker };
  if (event.event !== 'stdout' && event.event !== 'stderr' && event.event !== 'system') return undefined;
  return { id: event.id, kind: 'output', stream: event.event, text: JSON.parse(event.data) as string };
}
