// A typed client of the REST API: what the CLI does, from any program that can reach the dashboard.
import { readLocalSecret } from '../config/local-secret.js';
import { packageVersion } from '../config/package-version.js';
import { UserFacingError, type ErrorCode } from '../errors.js';
import type { LogEntry } from '../logs/log-stream.js';
import type { TaskStatus } from '../tasks/status.js';
import type { TaskPayload } from '../tasks/request.js';
import { buildClaudePayload, buildShellPayload, type ClaudeInput, type ShellInput } from '../tasks/input.js';
import { z } from 'zod';
import {
  ApiCreatedTaskSchema,
  ApiErrorBodySchema,
  ApiExecutorSchema,
  ApiKillResultSchema,
  ApiScheduleSchema,
  ApiTaskListSchema,
  ApiTaskSchema,
  ApiWaitResultSchema,
  apiPayloadOf,
  type ApiCreatedTask,
  type ApiCreateScheduleBody,
  type ApiCreateTaskBody,
  type ApiExecutor,
  type ApiKillResult,
  type ApiSchedule,
  type ApiTask,
} from './contract.js';
import { exchange } from './http-request.js';
import { isLoopbackHost } from './loopback-host.js';
import { readServerSentEvents, toLogEntry } from './sse.js';

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
  /** Run only after these tasks (ids or unique prefixes) completed: `blocked` until then, `cancelled` if one fails. */
  after?: string[];
  /** With `after`: run whatever way those tasks ended. @default false */
  afterAny?: boolean;
  /** Start no sooner than this many milliseconds from now (`scheduled` until then). */
  delayMs?: number;
  /** Start no sooner than this time: a Date, or ISO 8601 text like `2026-12-07T03:00:00Z`. */
  at?: Date | string;
  /** 1 runs first, up to 1000000; a task without one runs after every task with one. */
  priority?: number;
  /** At most `concurrencyLimit` tasks with this key run at once, across all executors. */
  concurrencyKey?: string;
  /** @default 1 */
  concurrencyLimit?: number;
  /** What the task does to the others of its key: wait behind them, stop the running ones, or cancel the waiting ones. @default "queue" */
  onConflict?: 'queue' | 'cancel-running' | 'replace-queued';
}

/** The task a schedule makes at each tick: `run`'s or `start`'s options, less those that fix one start. */
export type ApiScheduledTaskOptions = Omit<ApiTaskOptions, 'after' | 'afterAny' | 'delayMs' | 'at' | 'worktree' | 'id'>;

/** A schedule to add: a cron pattern, and the command to `run` or the prompt to `start` at each tick. */
export type ApiScheduleInput = {
  /** Letters, digits, `-`, `_` and `.`. */
  name: string;
  /** 5 fields (minute hour day month weekday), or 6 with seconds first. */
  cron: string;
  /** The IANA time zone the pattern is read in. @default "UTC" */
  tz?: string;
  /** While the last tick's task has not ended: `queue` another, or `skip` the tick. @default "queue" */
  overlap?: 'queue' | 'skip';
} & (
  | { run: ShellInput & ApiScheduledTaskOptions; start?: never }
  | { start: ClaudeInput & ApiScheduledTaskOptions; run?: never }
);

/** An answer other than 2xx, with the server's one-line message. */
export class ApiError extends UserFacingError {
  constructor(
    readonly status: number,
    message: string,
    /** The request's path: a 404 of a schedule is SCHEDULE_NOT_FOUND, of anything else TASK_NOT_FOUND. */
    path = '',
  ) {
    super(errorCodeOf(status, path), message);
  }
}

function errorCodeOf(status: number, path: string): ErrorCode {
  if (status === 404) return path.startsWith('/api/schedules/') ? 'SCHEDULE_NOT_FOUND' : 'TASK_NOT_FOUND';
  if (status === 409) return 'AMBIGUOUS_TASK_ID';
  if (status === 503) return 'REDIS_UNREACHABLE';
  if (status >= 400 && status < 500) return status === 400 ? 'INVALID_INPUT' : 'USAGE';
  // A write redirected elsewhere (a proxy's doing): the address the client was given is the fix.
  if (status >= 300 && status < 400) return 'USAGE';
  return 'INTERNAL';
}

export interface ApiClientOptions {
  /** The dashboard's address, like `http://127.0.0.1:3000`. */
  url: string;
  /**
   * Sent as `Authorization: Bearer`; needed when the dashboard has a token. @default on a loopback
   * `url`, the local secret of `home` (what a dashboard without a token wants for writes), if any
   */
  token?: string;
  /** The data directory whose local secret is sent to a loopback `url` without a `token`. @default dataDir() */
  home?: string;
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
  /**
   * Enqueues a Claude Code prompt; with `continue` (an ended task's id or unique prefix), one that
   * resumes that task's session, in its workspace, on its executor and in its worktree unless
   * given others (`start --continue`).
   */
  start(input: ClaudeInput & ApiTaskOptions & { continue?: string }): Promise<ApiCreatedTask>;
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
  /** The configured executors, each with `paused`. */
  executors(): Promise<ApiExecutor[]>;
  /** Stops the executor's workers taking new tasks (running ones go on); tasks sent to it wait, queued. */
  pauseExecutor(name: string): Promise<ApiExecutor>;
  resumeExecutor(name: string): Promise<ApiExecutor>;
  listSchedules(): Promise<ApiSchedule[]>;
  /** One schedule; an unknown name throws ApiError 404 (SCHEDULE_NOT_FOUND). */
  getSchedule(name: string): Promise<ApiSchedule>;
  /** Adds a schedule; its task is checked now, as `run` or `start` would check it. */
  addSchedule(input: ApiScheduleInput): Promise<ApiSchedule>;
  /** No ticks until resumed; tasks it made go on. */
  pauseSchedule(name: string): Promise<ApiSchedule>;
  /** Ticks again from the pattern's next time. */
  resumeSchedule(name: string): Promise<ApiSchedule>;
  /** Removes a schedule; the tasks it made stay. */
  removeSchedule(name: string): Promise<void>;
}

export function createClient(options: ApiClientOptions): ApiClient {
  const base = options.url.replace(/\/+$/, '');
  const loopback = isLoopbackHost(new URL(base).hostname);
  let localSecret: string | undefined;
  // The token given, else on loopback the local secret (read when first needed, until found).
  const bearer = async (): Promise<string | undefined> => {
    if (options.token) return options.token;
    if (!loopback) return undefined;
    localSecret ??= await readLocalSecret(options.home);
    return localSecret;
  };
  const headers = async (extra: Record<string, string> = {}): Promise<Record<string, string>> => {
    const token = await bearer();
    return token ? { authorization: `Bearer ${token}`, ...extra } : extra;
  };

  async function send(method: string, path: string, body?: unknown): Promise<string> {
    const response = await exchange(
      base + path,
      method,
      await headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body === undefined ? undefined : JSON.stringify(body),
    );
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, response.text), path);
    return response.text;
  }

  async function call<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown): Promise<T> {
    return readAnswer(schema, await send(method, path, body), `${method} ${base}${path}`);
  }

  const taskPath = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;
  const executorPath = (name: string) => `/api/executors/${encodeURIComponent(name)}`;
  const schedulePath = (name: string) => `/api/schedules/${encodeURIComponent(name)}`;
  const create = (body: ApiCreateTaskBody) => call(ApiCreatedTaskSchema, 'POST', '/api/tasks', body);

  async function tail(id: string, lines: number): Promise<string> {
    const response = await exchange(`${base}${taskPath(id)}/logs?tail=${lines}`, 'GET', await headers(), undefined);
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, response.text));
    return response.text;
  }

  function logs(id: string, options?: { tail?: number }): Promise<string>;
  function logs(id: string, options: ApiFollowOptions & { follow: true }): AsyncGenerator<LogEntry>;
  function logs(
    id: string,
    o: ApiFollowOptions & { follow?: boolean; tail?: number } = {},
  ): Promise<string> | AsyncGenerator<LogEntry> {
    return o.follow ? followTaskLog(`${base}${taskPath(id)}/logs`, headers, o) : tail(id, o.tail ?? DEFAULT_TAIL_LINES);
  }

  return {
    run: (input) => create(createBody(buildShellPayload(input), input)),
    start: (input) => create({ ...createBody(buildClaudePayload(input), input), continue: input.continue }),
    create,
    get: (id) => call(ApiTaskSchema, 'GET', taskPath(id)),
    async list(query = {}) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query))
        if (value !== undefined && value !== '') params.set(key, String(value));
      const page = await call(ApiTaskListSchema, 'GET', `/api/tasks${params.size > 0 ? `?${params}` : ''}`);
      return { tasks: page.tasks, nextCursor: page.next_cursor ?? undefined };
    },
    logs,
    kill: (id, o = {}) =>
      call(ApiKillResultSchema, 'POST', `${taskPath(id)}/kill`, o.graceMs === undefined ? {} : { grace_ms: o.graceMs }),
    retry: (id) => call(ApiCreatedTaskSchema, 'POST', `${taskPath(id)}/retry`, {}),
    async wait(ids, o = {}) {
      const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
      const out: ApiTask[] = [];
      for (const id of Array.isArray(ids) ? ids : [ids]) {
        for (;;) {
          const remaining = deadline - Date.now();
          const slice = Math.max(0, Math.min(30_000, remaining));
          const result = await call(ApiWaitResultSchema, 'GET', `${taskPath(id)}/wait?timeout_ms=${Math.round(slice)}`);
          if (result.done) {
            out.push(result.task);
            break;
          }
          if (Date.now() >= deadline)
            throw new UserFacingError('WAIT_TIMEOUT', `still running after the timeout: ${result.task.task_id}`);
        }
      }
      return out;
    },
    executors: () => call(z.array(ApiExecutorSchema), 'GET', '/api/executors'),
    pauseExecutor: (name) => call(ApiExecutorSchema, 'POST', `${executorPath(name)}/pause`, {}),
    resumeExecutor: (name) => call(ApiExecutorSchema, 'POST', `${executorPath(name)}/resume`, {}),
    listSchedules: () => call(z.array(ApiScheduleSchema), 'GET', '/api/schedules'),
    getSchedule: (name) => call(ApiScheduleSchema, 'GET', schedulePath(name)),
    addSchedule: (input) => call(ApiScheduleSchema, 'POST', '/api/schedules', scheduleBody(input)),
    pauseSchedule: (name) => call(ApiScheduleSchema, 'POST', `${schedulePath(name)}/pause`, {}),
    resumeSchedule: (name) => call(ApiScheduleSchema, 'POST', `${schedulePath(name)}/resume`, {}),
    async removeSchedule(name) {
      await send('DELETE', schedulePath(name));
    },
  };
}

/** Reconnections in a row before `logs --follow` gives up. */
const MAX_RECONNECTS = 5;
/** The lines `logs` returns unless told. */
const DEFAULT_TAIL_LINES = 50;
/** The wait before reconnection n: 200 ms doubling, at most 2 s. */
const reconnectDelay = (failures: number) => Math.min(2000, 100 * 2 ** failures);

/** The API body of `run` and `start`: the payload and the options, snake_case. */
function createBody(payload: TaskPayload, o: ApiTaskOptions): ApiCreateTaskBody {
  return {
    ...taskBody(payload, o),
    worktree: o.worktree,
    id: o.id,
    after: o.after,
    after_any: o.afterAny,
    delay_ms: o.delayMs,
    at: o.at instanceof Date ? o.at.toISOString() : o.at,
  };
}

/** The body of `POST /api/schedules`: its task built as `run` or `start` builds one. */
function scheduleBody(input: ApiScheduleInput): ApiCreateScheduleBody {
  const payload = input.run ? buildShellPayload(input.run) : buildClaudePayload(input.start);
  return {
    name: input.name,
    cron: input.cron,
    tz: input.tz,
    overlap: input.overlap,
    task: taskBody(payload, input.run ?? input.start),
  };
}

// What every task body carries: the payload and how it runs.
function taskBody(payload: TaskPayload, o: ApiScheduledTaskOptions): ApiCreateScheduleBody['task'] {
  return {
    payload: apiPayloadOf(payload),
    executor: o.executor,
    labels: o.labels,
    name: o.name,
    timeout_ms: o.timeoutMs,
    retries: o.retries,
    backoff_ms: o.backoffMs,
    callback_url: o.callbackUrl,
    notify: o.notify,
    notify_session: o.notifySession,
    on_limit: o.onLimit,
    limit_waits: o.limitWaits,
    priority: o.priority,
    concurrency_key: o.concurrencyKey,
    concurrency_limit: o.concurrencyLimit,
    on_conflict: o.onConflict,
  };
}

// A task's log over SSE from `o.afterId`, reconnecting with back-off after a dropped stream and
// resuming after the last entry seen, until the end marker.
async function* followTaskLog(
  url: string,
  headers: (extra?: Record<string, string>) => Promise<Record<string, string>>,
  o: ApiFollowOptions,
): AsyncGenerator<LogEntry> {
  let lastId = o.afterId;
  let failures = 0;
  const query = o.transcript ? '?view=transcript' : '';
  for (;;) {
    let response: Response;
    const requestHeaders = await headers({
      accept: 'text/event-stream',
      ...(lastId ? { 'last-event-id': lastId } : {}),
    });
    try {
      response = await fetch(`${url}${query}`, {
        headers: requestHeaders,
        signal: o.signal,
      });
    } catch (error) {
      if (o.signal?.aborted) return;
      if (++failures > (o.maxReconnects ?? MAX_RECONNECTS)) throw error;
      await pause(reconnectDelay(failures));
      continue;
    }
    if (!response.ok || !response.body)
      throw new ApiError(response.status, errorMessage(response.status, await response.text()));
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
      if (++failures > (o.maxReconnects ?? MAX_RECONNECTS)) throw error;
    }
    if (o.signal?.aborted) return;
    // The stream closed before the end marker (a restart, a proxy timeout): resume after the last id.
    await pause(reconnectDelay(failures));
  }
}

/**
 * A 2xx answer's body as `schema` says, or one line on what it was instead: not JSON (the URL is
 * some other server's), or JSON this client cannot read (a dashboard of another version: a field
 * this client needs is missing, or a value it does not know).
 */
function readAnswer<T>(schema: z.ZodType<T>, text: string, request: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserFacingError(
      'INTERNAL',
      `${request} answered with something other than JSON (${JSON.stringify(text.slice(0, 60))}): is that address an openclaw-agent dashboard?`,
    );
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? `\`${issue.path.join('.')}\`` : 'the body';
  throw new UserFacingError(
    'INTERNAL',
    `${request} answered with a body this client cannot read (${where}: ${issue.message}): the dashboard runs ` +
      `another version of openclaw-agent than this client (${packageVersion()}); upgrade the older of the two`,
  );
}

function errorMessage(status: number, text: string): string {
  try {
    return ApiErrorBodySchema.parse(JSON.parse(text)).error;
  } catch {
    return `HTTP ${status}${text ? `: ${text.split('\n')[0]!.slice(0, 200)}` : ''}`;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
