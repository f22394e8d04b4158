// TaskClient: enqueue, read, list and find tasks in Redis; what every command and the API use.
import { executorJson, executorServiceJson } from './format.js';
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { requireExecutor, type ExecutorConfig, type LoadedConfig } from '../config/config.js';
import {
  AmbiguousTaskIdError,
  describeError,
  InvalidInputError,
  UserFacingError,
  TaskNotFoundError,
} from '../errors.js';
import { connectRedis, namedRedisUrl, resolveRedisUrl, type RedisClient } from '../redis/connection.js';
import { forgetExpiredTasks } from './retention.js';
import { checkWorktreeWorkspace } from '../git/workspace-check.js';
import { readQueueStates, type QueueState } from '../redis/queue-states.js';
import { TaskKeys } from './keys.js';
import { payloadWorkdir, TASK_ID_PATTERN, TaskRequestSchema, type TaskRequest, type TaskType } from './request.js';
import { closeQueuesOf, queueOf } from './queues.js';
import { BLOCKED_UNTIL, findDependencyCycle, registerDependent } from './dependencies.js';
import { joinLine, placeInLine, registerKeyedTask } from './concurrency.js';
import { applyConflictPolicy, type ConflictOutcome, waitsToStart } from './on-conflict.js';
import { settleBlockedTask, settleTaskEnd } from './settle.js';
import { describeWaits, readPausedExecutors } from './waiting-for.js';
import { readExecutorWorkers, servedStateOf, unservedWarning, type ExecutorService } from './worker-roster.js';
import { initialRecordFields, parseRecordHash, type TaskRecord, type TaskView } from './record.js';
import { deriveTaskStatus, type TaskStatus } from './status.js';
import { searchIndexEntries } from './search.js';
import { claimLaunchAhead, recordNewTask, releaseLaunchAhead, REQUEST_FIELD } from './store.js';
import { launchAheadLane, mayLaunchAhead, type LaunchAheadTicket } from './launch-ahead.js';
import { signTaskRequest, taskSigningKey } from './signing.js';
import {
  buildTaskRequest,
  executorCandidates,
  optionName,
  pipelineOptions,
  type EnqueueInput,
  type FieldNamer,
} from './request-check.js';
import { escapeControls, quoteInput } from '../text/escape.js';

export type { EnqueueInput } from './request-check.js';

export interface ListFilter {
  status?: TaskStatus;
  executor?: string;
  /** Tasks carrying this label. */
  label?: string;
  taskType?: TaskType;
  /** @default 50 */
  limit?: number;
}

const MIN_PREFIX = 6;

/**
 * Ended jobs BullMQ keeps per queue (each state), for Bull Board's history. Every task's record
 * (with its request, for `retry`) is kept for `retention` whatever this says.
 */
const ENDED_JOBS_KEPT = 1000;
/** BullMQ's lowest priority: a task without one runs after every task with one. */
const NO_PRIORITY = 2 ** 21 - 1;
/** The keys of a queue that say whether its tasks wait (BullMQ's names for them). */
type LaunchQueueKeys = { meta: string; wait: string; prioritized: string };
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The library's front door: enqueue, look up and list tasks. The CLI, the HTTP API and programs
 * all go through it, so every surface validates and derives status the same way.
 */
export class TaskClient {
  readonly keys: TaskKeys;
  /** One subscription to the ended channel, shared by every `wait` of this client. */
  private endNotices:
    { redis: RedisClient; listeners: Set<(taskId: string) => void>; ready: Promise<void> } | undefined;

  constructor(
    readonly config: LoadedConfig,
    readonly redis: RedisClient,
  ) {
    this.keys = new TaskKeys(config.redis.prefix);
  }

  /** Connects to Redis (failing within ~3 s with one clear line): `url`, else REDIS_URL or the config's. */
  static async connect(config: LoadedConfig, url: string = resolveRedisUrl(config.redis.url)): Promise<TaskClient> {
    const redis = await connectRedis(url, { settings: config.redis });
    return new TaskClient(config, redis);
  }

  get prefix(): string {
    return this.config.redis.prefix;
  }

  /** The Redis URL the user named (REDIS_URL or redis.url): how a worker for it is started (`startWorkerHint`). */
  get namedRedisUrl(): string | undefined {
    return namedRedisUrl(this.config.redis.url);
  }

  // The workers check the Redis version and keep the queue's meta; a client enqueueing need not
  // (one INFO round trip and its parsing less per command).
  queue(executor: string): Queue {
    return queueOf(this.redis, this.prefix, executor);
  }

  executorConfig(name: string): ExecutorConfig {
    return requireExecutor(this.config, name);
  }

  /**
   * Checks a request as `enqueue` would and returns it as it would be queued (executor chosen,
   * workdir resolved, dependencies resolved to full ids), writing nothing: what schedules keep.
   */
  async prepare(
    input: EnqueueInput,
    /** How the caller names a request field in messages (the API and MCP: their own fields); without it, as the CLI's flags. */
    nameField?: FieldNamer,
  ): Promise<{ executor: ExecutorConfig; request: TaskRequest }> {
    const executor = input.executor
      ? this.executorConfig(input.executor)
      : await this.chooseExecutor(input.labels ?? [], nameField);
    const createdAt = Date.now();
    const pipeline = pipelineOptions(input, createdAt, nameField);
    const after =
      input.after === undefined ? undefined : await this.resolveDependencies(input.after, input.id, nameField);
    const { request, worktree } = buildTaskRequest(
      this.config,
      executor,
      input,
      { ...pipeline, after: after !== undefined && after.length > 0 ? after : undefined },
      createdAt,
      nameField,
    );
    // A new worktree needs a repository with the base where the task runs: checked before anything is written.
    if (worktree !== undefined && worktree.existing === undefined)
      await checkWorktreeWorkspace(executor, payloadWorkdir(request.payload), worktree.base);
    return { executor, request };
  }

  // The full ids of the tasks of `after`; an unknown one, or one closing a cycle, is one line.
  private async resolveDependencies(
    after: string[],
    id: string | undefined,
    nameField: FieldNamer | undefined,
  ): Promise<string[]> {
    const option = optionName('after', nameField);
    const ids: string[] = [];
    for (const given of after) {
      let resolved: string;
      try {
        resolved = await this.resolveId(given);
      } catch (error) {
        if (error instanceof TaskNotFoundError) {
          throw new InvalidInputError(
            `${option} ${quoteInput(given)}: no such task (it may have passed its retention) — see \`openclaw-agent list\``,
          );
        }
        if (error instanceof UserFacingError) throw new InvalidInputError(`${option}: ${error.message}`);
        throw error;
      }
      if (!ids.includes(resolved)) ids.push(resolved);
    }
    if (id !== undefined) {
      if (ids.includes(id)) throw new InvalidInputError(`${option}: task ${id} cannot run after itself`);
      const cycle = await findDependencyCycle(this.redis, this.keys, id, ids);
      if (cycle) throw new InvalidInputError(`${option} would make a cycle: ${[id, ...cycle].join(' → ')}`);
    }
    return ids;
  }

  /**
   * Validates the request, picks the executor and adds the job; nothing is written when input is
   * bad. `warning` says that no live worker serves the executor (the task is queued all the same).
   */
  async enqueue(
    input: EnqueueInput,
    /** How the caller names a request field in messages, as for `prepare`. */
    nameField?: FieldNamer,
  ): Promise<{ id: string; executor: string; conflicts?: ConflictOutcome; warning?: string }> {
    const { executor, request: prepared } = await this.prepare(input, nameField);
    const id = input.id ?? randomUUID();
    if (!TASK_ID_PATTERN.test(id))
      throw new InvalidInputError(`Expected the task id to be a lowercase UUID v4, got ${quoteInput(id)}`);
    // Workers of a deployment with a signing key run only requests signed with it.
    const signingKey = taskSigningKey(this.config);
    const request: TaskRequest =
      signingKey === undefined ? prepared : { ...prepared, signature: signTaskRequest(signingKey, id, prepared) };

    // A caller's own id may exist already; a fresh random UUID cannot (one round trip saved).
    if (input.id !== undefined && (await this.redis.hsetnx(this.keys.record(id), 'id', id)) === 0) {
      throw new InvalidInputError(`task ${id} already exists`);
    }
    // Record and job go out back to back on the one connection the queue shares: Redis applies
    // them in that order (a worker never sees the job before its record), in one round trip. The
    // search index of the dashboard and the API (task-search.ts) is written with the record.
    const fields = { ...initialRecordFields(id, request, executor.type), [REQUEST_FIELD]: JSON.stringify(request) };
    const recorded = recordNewTask(
      this.redis,
      this.keys,
      id,
      request.createdAt,
      fields,
      searchIndexEntries(this.prefix, request),
      executor.name,
    );
    // A blocked task waits in the delayed set until released; one with a start time until then.
    const delay =
      request.after !== undefined
        ? BLOCKED_UNTIL - Date.now()
        : request.runAt !== undefined
          ? Math.max(0, request.runAt - Date.now())
          : 0;
    // A worker of this process with a free slot starts the task itself once record and job are
    // written (launch-ahead.ts): its first run is claimed for this host in the same round trip.
    const ticket = this.reserveLaunchAhead(id, request, executor);
    const queue = this.queue(executor.name);
    const queueKeys = queue.keys as LaunchQueueKeys;
    const handle = ticket && { dir: ticket.dir, host: ticket.hostId };
    const claimed = handle
      ? claimLaunchAhead(this.redis, this.keys, id, { executor: executor.name, ...queueKeys }, handle)
      : undefined;
    const added = queue.add(request.payload.type, request, {
      jobId: id,
      attempts: request.retries + 1,
      backoff: { type: 'exponential', delay: request.backoffMs ?? 30_000, jitter: 0.5 },
      priority: request.priority ?? NO_PRIORITY,
      ...(delay > 0 ? { delay } : {}),
      // Records keep every task for `retention`; BullMQ keeps the newest ended jobs for Bull Board.
      removeOnComplete: { age: Math.ceil(this.config.retention / 1000), count: ENDED_JOBS_KEPT },
      removeOnFail: { age: Math.ceil(this.config.retention / 1000), count: ENDED_JOBS_KEPT },
    });
    const [record, job, claim] = await Promise.allSettled([recorded, added, claimed]);
    if (ticket && handle) {
      const launched =
        record.status === 'fulfilled' &&
        job.status === 'fulfilled' &&
        claim.status === 'fulfilled' &&
        claim.value === true &&
        (await ticket.launch().catch(() => false));
      if (launched) {
        // First in line (score 0 in BullMQ's prioritized set, unless a worker took it already):
        // the worker takes this job next and follows the run, whatever was queued meanwhile.
        await this.redis.zadd(queueKeys.prioritized, 'XX', 0, id).catch(() => undefined);
      } else {
        ticket.release();
        // Claimed but not launched: the task is queued, not running, until a worker starts it.
        if (claim.status === 'fulfilled' && claim.value === true)
          await releaseLaunchAhead(this.redis, this.keys, id, queueKeys, handle).catch(() => undefined);
      }
    }
    if (job.status === 'rejected') {
      // Not queued: nothing may remain of it.
      await this.forget(id, request, searchIndexEntries(this.keys.prefix, request).wordKeys);
      throw job.reason;
    }
    if (record.status === 'rejected') {
      // Queued (a worker may have it already, and rebuilds the record from the job): never
      // remove it now. Say so, so that the caller does not enqueue it a second time.
      throw new UserFacingError(
        'INTERNAL',
        `task ${id} was queued, but its record could not be written (${describeError(record.reason)}); it will run — see \`openclaw-agent status ${id.slice(0, 8)}\``,
      );
    }
    // A cancel-running task that waits (blocked, scheduled) stops the running ones when it is about
    // to start; one that does not stops them now, in line first so that no waiter takes their turns.
    const cancelsLater = request.onConflict === 'cancel-running' && waitsToStart(request);
    // Registered once record and job exist (a sweep never finds an id without its record). The
    // tasks it runs after may have ended already, or just now, unaware of it: so it is looked at
    // once registered, and released or cancelled at once.
    if (request.concurrencyKey !== undefined) {
      await registerKeyedTask(this.redis, this.keys, id, request.createdAt, request.concurrencyKey);
      if (request.onConflict === 'cancel-running' && !cancelsLater)
        await joinLine(this.redis, this.keys, id, request.concurrencyKey, placeInLine(request, true));
    }
    if (request.after !== undefined) {
      await registerDependent(this.redis, this.keys, id, request.createdAt, request.after);
      if ((await settleBlockedTask(this, id)) === 'cancelled') await settleTaskEnd(this, id);
    }
    const conflicts = cancelsLater ? { stopped: [], cancelled: [] } : await applyConflictPolicy(this, id, request);
    // Whether a worker serves the executor: the record's script read it in the same step.
    const warning = unservedWarning(executor.name, servedStateOf(record.value), this.namedRedisUrl);
    return {
      id,
      executor: executor.name,
      ...(conflicts.stopped.length + conflicts.cancelled.length > 0 ? { conflicts } : {}),
      ...(warning !== undefined ? { warning } : {}),
    };
  }

  // A slot of this process's worker for a task that may start here at once (see launch-ahead.ts).
  private reserveLaunchAhead(
    id: string,
    request: TaskRequest,
    executor: ExecutorConfig,
  ): LaunchAheadTicket | undefined {
    if (executor.type !== 'local' || !mayLaunchAhead(request)) return undefined;
    return launchAheadLane(this.redis, this.prefix, executor.name)?.reserve(id, request);
  }

  // With labels: an executor carrying all of them, the one with the shortest queue.
  private async chooseExecutor(labels: string[], nameField: FieldNamer | undefined): Promise<ExecutorConfig> {
    const candidates = executorCandidates(this.config, labels, nameField);
    if (candidates.length === 1) return candidates[0]!;
    const depths = await Promise.all(
      candidates.map((e) => this.queue(e.name).getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized')),
    );
    let best = 0;
    depths.forEach((depth, index) => {
      if (depth < depths[best]!) best = index;
    });
    return candidates[best]!;
  }

  /** Deletes everything we keep about a task in Redis: record, log and index entries. */
  async forget(
    id: string,
    request?: Pick<TaskRequest, 'after' | 'concurrencyKey'>,
    /** The word-index keys that hold it (`taskWordKeys`). */
    wordKeys: readonly string[] = [],
  ): Promise<void> {
    const multi = this.redis
      .multi()
      .del(this.keys.record(id), this.keys.log(id), this.keys.diff(id), this.keys.dependents(id))
      .zrem(this.keys.byCreated(), id)
      .zrem(this.keys.ids(), id)
      .zrem(this.keys.blocked(), id);
    for (const key of wordKeys) multi.zrem(key, id);
    for (const dependency of request?.after ?? []) multi.srem(this.keys.dependents(dependency), id);
    if (request?.concurrencyKey !== undefined) multi.zrem(this.keys.concurrencyTasks(request.concurrencyKey), id);
    await multi.exec();
  }

  /** A full task id, or a unique prefix of at least 6 characters (like git). */
  async resolveId(input: string): Promise<string> {
    const text = input.trim().toLowerCase();
    if (TASK_ID_PATTERN.test(text)) {
      if ((await this.redis.exists(this.keys.record(text))) === 1) return text;
      throw new TaskNotFoundError(input);
    }
    if (!/^[0-9a-f-]+$/.test(text))
      throw new InvalidInputError(`Expected a task id or a prefix of one, got ${quoteInput(input)}`);
    if (text.length < MIN_PREFIX) {
      throw new InvalidInputError(
        `task id prefix "${escapeControls(input)}" is too short; give at least ${MIN_PREFIX} characters`,
      );
    }
    const matches = await this.redis.zrangebylex(this.keys.ids(), `[${text}`, `[${text}\xff`, 'LIMIT', 0, 10);
    if (matches.length === 0) throw new TaskNotFoundError(input);
    if (matches.length > 1) throw new AmbiguousTaskIdError(input, matches);
    return matches[0]!;
  }

  /** The task's record, status and queue position; throws TASK_NOT_FOUND when it has gone. */
  async get(idOrPrefix: string): Promise<TaskView> {
    const id = await this.resolveId(idOrPrefix);
    const view = (await this.views([id]))[0];
    if (!view) throw new TaskNotFoundError(idOrPrefix);
    return view;
  }

  private async readRecords(ids: readonly string[]): Promise<(TaskRecord | undefined)[]> {
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.record(id));
    const hashes = (await pipeline.exec()) ?? [];
    return hashes.map(([, hash]) => parseRecordHash((hash ?? {}) as Record<string, string>));
  }

  /** The request a task was enqueued with: the copy on its record, else its job's data. */
  async request(view: TaskView): Promise<TaskRequest | undefined> {
    const kept = await this.redis.hget(this.keys.record(view.record.id), REQUEST_FIELD);
    const data =
      kept !== null ? parseJson(kept) : (await this.queue(view.record.executor).getJob(view.record.id))?.data;
    const parsed = TaskRequestSchema.safeParse(data);
    return parsed.success ? parsed.data : undefined;
  }

  /** Tasks newest first, filtered, at most `limit`. */
  async list(filter: ListFilter = {}): Promise<TaskView[]> {
    const limit = filter.limit ?? 50;
    const out: TaskView[] = [];
    const pageSize = Math.max(limit, 100);
    for (let offset = 0; out.length < limit; offset += pageSize) {
      const ids = await this.redis.zrevrange(this.keys.byCreated(), offset, offset + pageSize - 1);
      if (ids.length === 0) break;
      for (const view of await this.views(ids)) {
        if (filter.status && view.status !== filter.status) continue;
        if (filter.executor && view.record.executor !== filter.executor) continue;
        if (filter.taskType && view.record.taskType !== filter.taskType) continue;
        if (filter.label !== undefined && !view.record.labels.includes(filter.label)) continue;
        out.push(view);
        if (out.length === limit) break;
      }
      if (ids.length < pageSize) break;
    }
    return out;
  }

  /**
   * Reads records, job states and queue positions for ids in two round trips (one state script
   * per executor among them); ids whose record expired are dropped.
   */
  async views(ids: string[]): Promise<TaskView[]> {
    const now = Date.now();
    const records = await this.readRecords(ids);
    // Ended tasks have their outcome on the record; the others' states come from their queues.
    const pending = new Map<string, string[]>();
    for (const record of records) {
      if (record && !record.outcome) pending.set(record.executor, [...(pending.get(record.executor) ?? []), record.id]);
    }
    const states = new Map<string, QueueState>();
    await Promise.all(
      [...pending].map(async ([executor, pendingIds]) => {
        for (const [id, state] of await readQueueStates(this.redis, this.prefix, executor, pendingIds))
          states.set(id, state);
      }),
    );
    // A task that ended between the two reads: its job is finished, and its record (written
    // first) has the outcome and exit code now. Read those records again.
    const ended = records.flatMap((record, index) => {
      const state = record && states.get(record.id)?.state;
      return state === 'completed' || state === 'failed' ? [index] : [];
    });
    if (ended.length > 0) {
      const fresh = await this.readRecords(ended.map((index) => ids[index]!));
      ended.forEach((index, i) => (records[index] = fresh[i] ?? records[index]));
    }
    const views: TaskView[] = [];
    const stale: string[] = [];
    for (const [index, record] of records.entries()) {
      if (!record) {
        stale.push(ids[index]!);
        continue;
      }
      const queueState = states.get(record.id);
      const status = deriveTaskStatus(queueState?.state, record, now);
      views.push({ record, status, queuePosition: status === 'queued' ? queueState?.position : undefined });
    }
    await describeWaits(this, views, now);
    // Only ids whose record expired leave the indexes; an unreadable record is kept, not erased.
    if (stale.length > 0) await forgetExpiredTasks(this.redis, this.keys, stale);
    return views;
  }

  /**
   * Calls `listener` with the id of every task that ends from now on (a hint: the record is the
   * truth). Resolves once subscribed; returns the unsubscribe.
   */
  async onTaskEnded(listener: (taskId: string) => void): Promise<() => void> {
    if (!this.endNotices) {
      const redis = this.redis.duplicate();
      redis.on('error', () => {});
      const listeners = new Set<(taskId: string) => void>();
      redis.on('message', (_channel: string, taskId: string) => {
        for (const notify of listeners) notify(taskId);
      });
      this.endNotices = { redis, listeners, ready: redis.subscribe(this.keys.endedChannel()).then(() => undefined) };
    }
    const notices = this.endNotices;
    notices.listeners.add(listener);
    try {
      await notices.ready;
    } catch (error) {
      // A failed subscription is not kept: the next wait tries again.
      notices.listeners.delete(listener);
      if (this.endNotices === notices) {
        notices.redis.disconnect();
        this.endNotices = undefined;
      }
      throw error;
    }
    return () => notices.listeners.delete(listener);
  }

  /** Stops the executor's workers taking new tasks (running ones go on), or lets them again. */
  async setExecutorPaused(name: string, paused: boolean): Promise<void> {
    const queue = this.queue(this.executorConfig(name).name);
    await (paused ? queue.pause() : queue.resume());
  }

  /** The executors among `names` that are paused. */
  async pausedExecutors(names: readonly string[]): Promise<Set<string>> {
    return readPausedExecutors(this.redis, this.prefix, names);
  }

  /** The live workers of each executor in `names`, and when one last served it. */
  async executorWorkers(names: readonly string[]): Promise<Map<string, ExecutorService>> {
    return readExecutorWorkers(this.redis, this.keys, names);
  }

  /**
   * The executors in `names` as `GET /api/executors` shows them: their config (env keys only),
   * whether each is paused, and who serves it. Two reads, sent together.
   */
  async executorStates(names: readonly string[]) {
    const [paused, services] = await Promise.all([this.pausedExecutors(names), this.executorWorkers(names)]);
    return names.map((name) => ({
      ...executorJson(this.executorConfig(name)),
      paused: paused.has(name),
      ...executorServiceJson(services.get(name) ?? { workers: [], lastServedAt: undefined }),
    }));
  }

  async close(): Promise<void> {
    await closeQueuesOf(this.redis);
    this.endNotices?.redis.disconnect();
    this.endNotices = undefined;
    this.redis.disconnect();
  }
}
