// A typed client of the REST API: what the CLI does, from any program that can reach the dashboard.
import { UserFacingError, type ErrorCode } from '../errors.js';
import type { LogEntry } from '../logs/log-stream.js';
import type { TaskStatus } from '../tasks/status.js';
import type { TaskPayload } from '../tasks/request.js';
import { buildClaudePayload, buildShellPayload, type ClaudeInput, type ShellInput } from '../tasks/input.js';
import type { z } from 'zod';
import {
  ApiCreatedTaskSchema,
  ApiErrorBodySchema,
  ApiKillResultSchema,
  ApiTaskListSchema,
  ApiTaskSchema,
  ApiWaitResultSchema,
  apiPayloadOf,
  type ApiCreatedTask,
  type ApiCreateTaskBody,
  type ApiKillResult,
  type ApiTask,
} from './contract.js';
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
}

/** An answer other than 2xx, with the server's one-line message. */
export class ApiError extends UserFacingError {
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

  async function call<T>(
    schema: z.ZodType<T>,
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
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

  async function tail(id: string, lines: number): Promise<string> {
    const response = await fetch(`${base}${taskPath(id)}/logs?tail=${lines}`, { headers: headers() });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, text));
    return text;
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
    start: (input) => create(createBody(buildClaudePayload(input), input)),
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
    worktree: o.worktree,
    on_limit: o.onLimit,
    limit_waits: o.limitWaits,
    id: o.id,
  };
}

// A task's log over SSE from `o.afterId`, reconnecting with back-off after a dropped stream and
// resuming after the last entry seen, until the end marker.
async function* followTaskLog(
  url: string,
  headers: (extra?: Record<string, string>) => Record<string, string>,
  o: ApiFollowOptions,
): AsyncGenerator<LogEntry> {
  let lastId = o.afterId;
  let failures = 0;
  const query = o.transcript ? '?view=transcript' : '';
  for (;;) {
    let response: Response;
    try {
      response = await fetch(`${url}${query}`, {
        headers: headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
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

function errorMessage(status: number, text: string): string {
  try {
    return ApiErrorBodySchema.parse(JSON.parse(text)).error;
  } catch {
    return `HTTP ${status}${text ? `: ${text.split('\n')[0]!.slice(0, 200)}` : ''}`;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
