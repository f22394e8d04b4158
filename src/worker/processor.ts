// The task processor: one BullMQ job to one task run — start or re-attach, stop, retry, wait out a
// usage limit, end.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { constants as osConstants } from 'node:os';
import type { ExecutorConfig, LoadedConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { ClaudeProgress } from '../claude/progress.js';
import { describeError } from '../errors.js';
import { DetachedError, OtherHostError, type ExecutionResult, type Executor } from '../executors/executor.js';
import { appendSystemLine, LogWriter, logCapsOf, OwnershipLostError } from '../logs/log-stream.js';
import { finishTask, type TaskEnd } from '../tasks/finish.js';
import type { TaskKeys } from '../tasks/keys.js';
import { TaskRequestSchema, type TaskRequest } from '../tasks/request.js';
import { parseRecordHash, type TaskRecord } from '../tasks/record.js';
import { taskSigningKey, UNSIGNED_TASK_ERROR, verifyTaskRequest } from '../tasks/signing.js';
import {
  DEFAULT_GRACE_MS,
  readStopOrEnd,
  readStopRequest,
  StopSwitch,
  stopRequestOf,
  type StopRequest,
} from '../tasks/stop.js';
import { beginAttempt, loadTaskRecord, markTaskLaunching, markTaskStarted, recordAttemptEnd } from '../tasks/store.js';
import { isRunUnderWay } from '../tasks/status.js';
import { describeIssue } from '../text/zod-issues.js';
import { placeInLine, takeTurn, TURN_RECHECK_MS } from '../tasks/concurrency.js';
import { BLOCKED_UNTIL } from '../tasks/dependencies.js';
import { settleTaskEnd } from '../tasks/settle.js';
import { applyConflictPolicy, waitsToStart } from '../tasks/on-conflict.js';
import { enterWorktree, leaveWorktree, leaveWorktreeBetweenRuns } from '../git/worktree-steps.js';
import {
  executorHoldUntil,
  formatResetTime,
  holdExecutor,
  LIMIT_FIELDS,
  limitWaitsOf,
  resumedRequest,
  waitEnd,
  waitForLimit,
} from '../claude/usage-limit.js';
import { WorktreeError, type TaskGit } from '../git/task-worktree.js';

export interface ProcessorDeps {
  config: LoadedConfig;
  executorConfig: ExecutorConfig;
  executor: Executor;
  redis: RedisClient;
  keys: TaskKeys;
  /** Aborted when the worker shuts down; running tasks are left to be re-attached. */
  shutdown: AbortSignal;
  /** The stop switches of the tasks this worker follows, for the pub/sub kill nudge. */
  stops: Map<string, StopSwitch>;
  /** Called after a task has ended for good (completion record, webhooks). */
  onEnded?: (record: TaskRecord, request: TaskRequest) => Promise<void>;
}

/** What a completed job returns, and what a failed job's record holds: the same fields. */
export interface TaskResult {
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  status: TaskEnd['outcome'];
}

/** How often a following worker re-reads the record for a kill request it may have missed. */
const STOP_POLL_MS = 1000;

/** Executor errors in a row, after the run may have started, before the task is failed. */
const EXECUTOR_ERRORS_BEFORE_FAILING = 5;
/** The first wait before re-attaching after an executor error; it doubles each time. */
const EXECUTOR_ERROR_BACKOFF_MS = 500;

/**
 * The BullMQ processor for one executor's queue: validates the job data again, runs the task (or
 * re-attaches to it), enforces kill requests and the timeout, ends it exactly once, and maps the
 * outcome to a completed or failed job. A failed run is retried only when the task asked for it.
 */
export function createTaskProcessor(deps: ProcessorDeps): (job: Job) => Promise<TaskResult> {
  return async (job) => {
    const taskId = job.id!;
    const request = await trustedRequest(deps, taskId, job.data);
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const loaded = await loadTaskRecord(deps.redis, deps.keys, taskId, request, deps.executorConfig.type);
    if (loaded.outcome) return jobResultOf(loaded, loaded.outcome, loaded);
    const begun = await beginRun(deps, job, taskId, request, loaded, { attempt, maxAttempts });
    if ('ended' in begun) return begun.ended;
    const { run, waited, resuming, early } = begun;
    let { record } = begun;

    const progress =
      request.payload.type === 'claude_code'
        ? new ClaudeProgress(deps.redis, deps.keys, taskId, record.claude, Number(record.checkpoint.stdout ?? 0) || 0)
        : undefined;
    const stop = new StopSwitch();
    // A request read above is already known: trip at once instead of reading it again.
    if (early) stop.trip(early);
    const watch = watchForStop(deps, taskId, request, record, stop);
    let result: ExecutionResult | undefined;
    // When this run started, as recorded: the earliest its end can be.
    let runStartedAt: number | undefined;
    // A task with a worktree runs in it: made once, before anything starts.
    let entered: { request: TaskRequest; git?: TaskGit } = { request };
    try {
      entered = await enterWorktree(deps, taskId, resuming ? resumedRequest(request, record) : request, record.git);
    } catch (error) {
      const message =
        error instanceof WorktreeError
          ? error.message
          : `could not make the task's git worktree: ${describeError(error)}`;
      await noteInLog(deps, taskId, message);
      result = { outcome: 'failed', exitCode: null, signal: null, error: message };
    }
    try {
      if (result === undefined) {
        const executed = await executeRun(deps, {
          taskId,
          run,
          request: entered.request,
          record,
          progress,
          stop,
          watch,
        });
        // Left running for the next worker: never settle this job from here.
        if (executed === 'detached') {
          watch.close();
          return await new Promise<TaskResult>(() => {});
        }
        // Another host's run, whose workers still answer: the job goes back for them.
        if (executed instanceof OtherHostError) {
          watch.close();
          await job.moveToDelayed(Date.now() + executed.retryMs, job.token);
          throw new DelayedError();
        }
        ({ result, record, startedAt: runStartedAt } = executed);
      }
    } finally {
      watch.close();
    }

    await progress?.finish();
    // When the run's process ended (a worker that re-attached may notice long after).
    const finishedAt = finishTimeOf(result, runStartedAt);
    let end = progress
      ? claudeEnd(applyStop(result, stop), progress, deps.executorConfig.name)
      : applyStop(result, stop);
    const stopped = stop.request ?? (await readStopRequest(deps.redis, deps.keys, taskId));
    const limited = !stopped && end.outcome === 'failed' ? progress?.usageLimit() : undefined;
    if (limited)
      end = await waitOutUsageLimit(deps, job, {
        taskId,
        request,
        record,
        run,
        waited,
        end,
        finishedAt,
        limited,
        session: progress!.fields.session_id,
      });
    if (!stopped && end.outcome !== 'completed' && attempt < maxAttempts) {
      await recordAttemptEnd(deps.redis, deps.keys, taskId, run, end, finishedAt);
      throw new Error(
        `attempt ${attempt} of ${maxAttempts} ${end.outcome}${end.exitCode !== null ? ` (exit code ${end.exitCode})` : ''}; retrying`,
      );
    }
    if (entered.git) {
      await leaveWorktree(deps, taskId, request, entered.git, {
        retentionMs: deps.config.retention,
        note: (line) => noteInLog(deps, taskId, line),
      });
    }
    if (maxAttempts > 1 || waited > 0) await recordAttemptEnd(deps.redis, deps.keys, taskId, run, end, finishedAt);
    const latest = (await endTask(deps, taskId, end, { record, request }, finishedAt)) ?? record;
    // The job's own id and the request's executor, not what the record hash says now.
    if (deps.onEnded)
      await deps.onEnded({ ...latest, id: taskId, executor: request.executor }, request).catch(() => {});
    return jobResultOf(latest, end.outcome, end);
  };
}

// The job's request, validated again and checked against the deployment's signing key; a task
// whose data is unreadable, or unsigned where signing is on, is ended here and the job failed.
async function trustedRequest(deps: ProcessorDeps, taskId: string, data: unknown): Promise<TaskRequest> {
  const parsed = TaskRequestSchema.safeParse(data);
  if (!parsed.success) {
    const error = `invalid task data in Redis: ${describeIssue(parsed.error.issues[0]!, data)}`;
    await endTask(deps, taskId, { outcome: 'failed', exitCode: null, signal: null, error }, undefined);
    throw new UnrecoverableError(error);
  }
  const request = parsed.data;
  const signingKey = taskSigningKey(deps.config);
  if (signingKey !== undefined && !verifyTaskRequest(signingKey, taskId, request, request.signature)) {
    await refuseTask(deps, taskId, request);
    throw new UnrecoverableError(UNSIGNED_TASK_ERROR);
  }
  return request;
}

interface BegunRun {
  /** This run's number: attempts plus usage-limit waits. */
  run: number;
  waited: number;
  /** The run after a usage-limit wait: it resumes the Claude session. */
  resuming: boolean;
  early: StopRequest | undefined;
  record: TaskRecord;
}

// Begins a new run (noted in the log; held while the executor's Claude account is at its usage
// limit), or finds that this worker re-attaches to a run that started; ends at once a task killed
// before its run started.
async function beginRun(
  deps: ProcessorDeps,
  job: Job,
  taskId: string,
  request: TaskRequest,
  record: TaskRecord,
  { attempt, maxAttempts }: { attempt: number; maxAttempts: number },
): Promise<BegunRun | { ended: TaskResult }> {
  // A wait for the account's usage limit ends a run without spending an attempt: runs count both.
  const waited = record.limit?.waits ?? 0;
  const run = attempt + waited;
  const resuming = record.limit?.resumeRun === run;
  // A new run, not a re-attach: the record's run has ended (its handle is the last run's), or
  // nothing of this one was recorded yet. A run marked launching may have been launched by a
  // worker that died: the executor looks for it (and stops it if a kill waits).
  const newRun = run > record.attempt || (!isRunUnderWay(record) && Object.keys(record.handle).length === 0);
  // The record holds any stop request already: no second read before the start.
  const early = stopRequestOf(record);
  if (early && newRun) {
    // Killed before this run started (say, during a retry's backoff or a usage-limit wait): run nothing.
    const end = { outcome: early.kind, exitCode: null, signal: null, error: early.reason };
    // A worktree it ran in gets the end step its last run's end would have given it (as a kill of
    // the waiting job does, tasks/cancel.ts): marked ended, its changes counted (and committed).
    if (record.git)
      await leaveWorktreeBetweenRuns(
        {
          executor: deps.executor,
          executorConfig: deps.executorConfig,
          redis: deps.redis,
          keys: deps.keys,
          configuredHostId: deps.config.worker.host_id,
        },
        taskId,
        request,
        record.git,
        {
          recordedHost: record.handle.host,
          retentionMs: deps.config.retention,
          note: (line) => noteInLog(deps, taskId, line),
        },
      );
    const latest = (await endTask(deps, taskId, end, { record, request })) ?? record;
    return { ended: jobResultOf(latest, end.outcome, end) };
  }
  if (newRun) {
    await holdUntilDue(deps, job, taskId, record);
    await takeTurnOrWait(deps, job, taskId, request, record);
    await holdWhileLimited(deps, job, taskId, request);
    if (run > record.attempt) {
      const note = resuming
        ? `resuming Claude's session after the usage limit (wait ${waited} of ${limitWaitsOf(request)})`
        : `attempt ${attempt} of ${maxAttempts} starting`;
      await beginAttempt(deps.redis, deps.keys, taskId, run, note);
      record = await loadTaskRecord(deps.redis, deps.keys, taskId, request, deps.executorConfig.type);
    } else if (record.limit?.until !== undefined) {
      await deps.redis.hdel(deps.keys.record(taskId), LIMIT_FIELDS.until);
    }
  }
  return { run, waited, resuming, early, record };
}

// Runs (or re-attaches to) the task through the executor until it ends. An executor error once the
// process may be running re-attaches rather than orphan it; `detached` when the worker shuts down.
async function executeRun(
  deps: ProcessorDeps,
  run: {
    taskId: string;
    run: number;
    request: TaskRequest;
    record: TaskRecord;
    progress: ClaudeProgress | undefined;
    stop: StopSwitch;
    watch: { armTimeout(startedAt: number): void };
  },
): Promise<{ result: ExecutionResult; record: TaskRecord; startedAt?: number } | 'detached' | OtherHostError> {
  const { taskId, progress, stop, watch } = run;
  let record = run.record;
  // Re-attached: the run started with an earlier worker.
  let startedAt = record.attemptStartedAt;
  for (let failures = 0; ; failures++) {
    try {
      const result = await deps.executor.execute({
        taskId,
        attempt: run.run,
        request: run.request,
        executor: deps.executorConfig,
        defaults: deps.config.defaults,
        record,
        log: observedLog(
          new LogWriter(deps.redis, deps.keys, taskId, logCapsOf(deps.config), record.checkpoint),
          progress,
        ),
        markLaunching: async (handle) => {
          tripOnStopOrEnd(stop, await markTaskLaunching(deps.redis, deps.keys, taskId, handle));
        },
        markStarted: async (handle, pid, at) => {
          const marked = await markTaskStarted(deps.redis, deps.keys, taskId, handle, pid, at);
          startedAt = marked.startedAt;
          tripOnStopOrEnd(stop, marked);
          watch.armTimeout(marked.startedAt);
        },
        signal: deps.shutdown,
        stop,
      });
      return { result, record, startedAt };
    } catch (error) {
      // Another worker took the task over after this one lost its lock: let BullMQ sort out the
      // job (moving it fails for a lost lock) and leave the task to its new owner.
      if (error instanceof OwnershipLostError) throw error;
      if (error instanceof OtherHostError) return error;
      if (error instanceof DetachedError || deps.shutdown.aborted) return 'detached';
      const latest = parseRecordHash(await deps.redis.hgetall(deps.keys.record(taskId)).catch(() => ({})));
      const started = latest !== undefined && (isRunUnderWay(latest) || Object.keys(latest.handle).length > 0);
      // Once the process may be running, ending the task here would orphan it: re-attach instead.
      if (!started || failures >= EXECUTOR_ERRORS_BEFORE_FAILING) {
        return {
          result: { outcome: 'failed', exitCode: null, signal: null, error: `executor error: ${describeError(error)}` },
          record,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, EXECUTOR_ERROR_BACKOFF_MS * 2 ** failures));
      record = latest ?? record;
      startedAt = record.attemptStartedAt ?? startedAt;
    }
  }
}

// A run that met Claude's usage limit: while waits are left it is not the task's failure — the job
// waits for the reset and resumes the same session (this throws BullMQ's DelayedError). After the
// last wait the end says how often it waited.
async function waitOutUsageLimit(
  deps: ProcessorDeps,
  job: Job,
  ran: {
    taskId: string;
    request: TaskRequest;
    record: TaskRecord;
    run: number;
    waited: number;
    end: Omit<TaskEnd, 'finishedAt'>;
    /** When the run that met the limit ended. */
    finishedAt: number;
    limited: { resetsAt?: number };
    session: string | undefined;
  },
): Promise<Omit<TaskEnd, 'finishedAt'>> {
  const { taskId, run, waited, end } = ran;
  const allowed = limitWaitsOf(ran.request);
  if (waited < allowed) {
    const until = waitEnd(ran.limited.resetsAt);
    await holdExecutor(deps.redis, deps.keys, deps.executorConfig.name, until);
    await recordAttemptEnd(deps.redis, deps.keys, taskId, run, end, ran.finishedAt);
    await noteInLog(
      deps,
      taskId,
      `Claude's usage limit is reached (resets ${formatResetTime(until)}): waiting, then resuming the session — wait ${waited + 1} of ${allowed}`,
    );
    const session = ran.session ?? ran.record.limit?.session;
    await waitForLimit(deps.redis, deps.keys, job, taskId, until, {
      [LIMIT_FIELDS.waits]: String(waited + 1),
      [LIMIT_FIELDS.resumeRun]: String(run + 1),
      [LIMIT_FIELDS.allowed]: String(allowed),
      ...(session !== undefined ? { [LIMIT_FIELDS.session]: session } : {}),
    });
  }
  if (waited === 0) return end;
  return {
    ...end,
    error: `${end.error ?? "Claude's usage limit is reached"} (after waiting for the usage limit ${waited === 1 ? 'once' : `${waited} times`})`,
  };
}

// Ends a job this deployment did not sign without running anything. The record and list entry
// (made from the job when it was written straight into Redis) show what was refused; the deployment's own
// webhook and default notifiers hear of it — not a callback URL or notifier the unsigned request
// names, and not its name or command in a wake-up line.
async function refuseTask(deps: ProcessorDeps, taskId: string, request: TaskRequest): Promise<void> {
  const untrusted = { ...request, callbackUrl: undefined, notify: undefined, notifySession: undefined };
  const record = await loadTaskRecord(deps.redis, deps.keys, taskId, untrusted, deps.executorConfig.type);
  // Listed like any task (a job written straight into Redis has no index entries yet).
  await deps.redis
    .multi()
    .zadd(deps.keys.byCreated(), 'NX', record.createdAt, taskId)
    .zadd(deps.keys.ids(), 'NX', 0, taskId)
    .exec();
  const end = { outcome: 'failed' as const, exitCode: null, signal: null, error: UNSIGNED_TASK_ERROR };
  await endTask(deps, taskId, end, { record, request: untrusted, refused: true });
}

interface StopWatch {
  armTimeout(startedAt: number): void;
  close(): void;
}

// Trips the switch on a kill request (pub/sub nudge or the record, polled), when the timeout passes,
// or when another worker has ended the task meanwhile (this one was cut off from Redis and the job
// went elsewhere): the record's end is final, and a process outliving it is an orphan to stop.
function watchForStop(
  deps: ProcessorDeps,
  taskId: string,
  request: TaskRequest,
  record: TaskRecord,
  stop: StopSwitch,
): StopWatch {
  deps.stops.set(taskId, stop);
  const check = async () => {
    tripOnStopOrEnd(stop, await readStopOrEnd(deps.redis, deps.keys, taskId).catch(() => ({})));
  };
  const poll = setInterval(() => void check(), STOP_POLL_MS);
  let timeout: NodeJS.Timeout | undefined;
  const armTimeout = (startedAt: number) => {
    if (!request.timeoutMs || timeout) return;
    const limit = request.timeoutMs;
    timeout = setTimeout(
      () =>
        stop.trip({
          kind: 'timed_out',
          graceMs: DEFAULT_GRACE_MS,
          reason: `timed out after ${formatDuration(limit)} (the task's limit)`,
        }),
      Math.max(0, startedAt + limit - Date.now()),
    );
  };
  // Re-attached: the clock started with the run, not with this worker.
  if (record.attemptStartedAt !== undefined) armTimeout(record.attemptStartedAt);
  return {
    armTimeout,
    close() {
      clearInterval(poll);
      clearTimeout(timeout);
      if (deps.stops.get(taskId) === stop) deps.stops.delete(taskId);
    },
  };
}

// Trips the switch on a stop request read from the record, or on an end another worker recorded
// meanwhile (this one was cut off from Redis and the job went elsewhere): the record's end is
// final, and a process outliving it is an orphan to stop.
function tripOnStopOrEnd(stop: StopSwitch, found: { request?: StopRequest; outcome?: string }): void {
  if (found.request) stop.trip(found.request);
  if (found.outcome)
    stop.trip({
      kind: 'killed',
      graceMs: DEFAULT_GRACE_MS,
      reason: `the task already ended as ${found.outcome} (recorded by another worker)`,
    });
}

// A new Claude run waits while its executor's account is at its usage limit (another task met it):
// it would only meet the limit too. Throws BullMQ's DelayedError when it waits.
async function holdWhileLimited(deps: ProcessorDeps, job: Job, taskId: string, request: TaskRequest): Promise<void> {
  if (limitWaitsOf(request) === 0) return;
  const hold = await executorHoldUntil(deps.redis, deps.keys, deps.executorConfig.name);
  if (hold === undefined) return;
  const until = waitEnd(hold);
  await noteInLog(
    deps,
    taskId,
    `Claude's usage limit on executor "${deps.executorConfig.name}" is reached (resets ${formatResetTime(until)}): waiting for it before starting`,
  );
  await waitForLimit(deps.redis, deps.keys, job, taskId, until);
}

// A job promoted by hand (Bull Board's Promote) before its dependencies or start time goes back
// to wait for them: only its release may start a blocked task. Throws BullMQ's DelayedError.
async function holdUntilDue(deps: ProcessorDeps, job: Job, taskId: string, record: TaskRecord): Promise<void> {
  const until = record.blocked ? BLOCKED_UNTIL : (record.runAt ?? 0);
  if (until <= Date.now() + DUE_SLACK_MS || record.attempts.length > 0) return;
  await noteInLog(
    deps,
    taskId,
    record.blocked
      ? 'started before the tasks it runs after ended (promoted by hand?): waiting for them again'
      : `started before its start time (promoted by hand?): waiting until ${new Date(until).toISOString()}`,
  );
  await job.moveToDelayed(until, job.token);
  throw new DelayedError();
}

/** How early a scheduled task may start (clocks of hosts differ a little). */
const DUE_SLACK_MS = 1000;

// A task with a concurrency key starts only with a turn of its key; without one it waits in line,
// its job delayed until a task of the key ends and promotes it (or, should that be missed, until
// TURN_RECHECK_MS passes). Throws BullMQ's DelayedError when it waits.
async function takeTurnOrWait(
  deps: ProcessorDeps,
  job: Job,
  taskId: string,
  request: TaskRequest,
  record: TaskRecord,
): Promise<void> {
  const key = request.concurrencyKey;
  if (key === undefined) return;
  const concurrency = { key, limit: request.concurrencyLimit ?? 1 };
  const place = placeInLine(record, request.onConflict === 'cancel-running');
  let turn = await takeTurn(deps.redis, deps.keys, taskId, concurrency, place);
  // A cancel-running task that waited (blocked, scheduled) stops the running ones now, at its start,
  // once. One that did not stopped the holders of its enqueue then; later holders keep their turns.
  if (!turn.taken && request.onConflict === 'cancel-running' && waitsToStart(request) && !record.concurrency?.waiting) {
    await applyConflictPolicy(deps, taskId, request);
    turn = await takeTurn(deps.redis, deps.keys, taskId, concurrency, place);
  }
  if (turn.taken) {
    if (record.concurrency?.waiting) await deps.redis.hdel(deps.keys.record(taskId), 'concurrency_wait');
    return;
  }
  if (!record.concurrency?.waiting) {
    const holders = turn.holders.map((id) => id.slice(0, 8)).join(', ');
    await noteInLog(deps, taskId, `waiting for a turn of concurrency key "${key}" (running: ${holders || 'none'})`);
    await deps.redis.hset(deps.keys.record(taskId), 'concurrency_wait', '1', 'updated_at', String(Date.now()));
  }
  await job.moveToDelayed(Date.now() + TURN_RECHECK_MS, job.token);
  // A turn freed between the two steps promoted nothing (the job was not delayed yet): look again.
  if ((await takeTurn(deps.redis, deps.keys, taskId, concurrency, place)).taken) {
    await deps.redis.hset(deps.keys.record(taskId), 'ready_at', String(Date.now()));
    await job.promote().catch(() => {});
  }
  throw new DelayedError();
}

// A line of ours in the task's log (`[openclaw-agent] …` to readers).
async function noteInLog(deps: ProcessorDeps, taskId: string, line: string): Promise<void> {
  await appendSystemLine(deps.redis, deps.keys, taskId, line, deps.config.logs.max_entries).catch(() => undefined);
}

function observedLog(log: LogWriter, progress: ClaudeProgress | undefined): LogWriter {
  if (progress) log.onAppended = (chunks) => progress.observe(chunks);
  return log;
}

/**
 * A Claude run's truth is its result line: is_error or a subtype other than success fails it even
 * after exit 0, and the error says why; exit 127 with no output means no `claude` to run.
 */
function claudeEnd(
  end: Omit<TaskEnd, 'finishedAt'>,
  progress: ClaudeProgress,
  executor: string,
): Omit<TaskEnd, 'finishedAt'> {
  if (end.outcome !== 'completed' && end.outcome !== 'failed') return end;
  if (end.exitCode === 127 && progress.fields.session_id === undefined) {
    return {
      ...end,
      outcome: 'failed',
      error: `claude not found on executor "${executor}" — install Claude Code there or set claude_path`,
    };
  }
  const failure = progress.failure(end.exitCode);
  if (failure === undefined) return end;
  return { ...end, outcome: 'failed', error: end.error ?? failure };
}

// A run we stopped ends as killed or timed_out, with the signal that ended it.
function applyStop(result: ExecutionResult, stop: StopSwitch): Omit<TaskEnd, 'finishedAt'> {
  const request = stop.request;
  if (!result.stopped || !request) {
    return { outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error };
  }
  const signal = result.signal ?? signalOfExitCode(result.exitCode);
  return { outcome: request.kind, exitCode: result.exitCode, signal, error: request.reason };
}

// A shell reports death by signal N as exit code 128 + N.
function signalOfExitCode(code: number | null): string | null {
  if (code === null || code <= 128) return null;
  const entry = Object.entries(osConstants.signals).find(([, number]) => number === code - 128);
  return entry ? entry[0] : null;
}

// When a run ended: the executor's figure (when the process ended, which a worker that re-attached
// may notice long after), kept between the run's start and now; without one, now.
function finishTimeOf(result: ExecutionResult | undefined, runStartedAt: number | undefined): number {
  const now = Date.now();
  const ended = result?.endedAt;
  if (ended === undefined || !Number.isFinite(ended)) return now;
  return Math.round(Math.min(now, Math.max(ended, runStartedAt ?? ended)));
}

// Ends the task (announced unless its data was unreadable) and returns its record after.
async function endTask(
  deps: ProcessorDeps,
  taskId: string,
  end: Omit<TaskEnd, 'finishedAt'>,
  known: { record: TaskRecord; request: TaskRequest; refused?: boolean } | undefined,
  finishedAt = Date.now(),
): Promise<TaskRecord | undefined> {
  const { hash, hasDependents } = await finishTask(
    deps.redis,
    deps.keys,
    taskId,
    { ...end, finishedAt },
    {
      retentionMs: deps.config.retention,
      maxLogEntries: deps.config.logs.max_entries,
      announce: known && { config: deps.config, ...known },
    },
  );
  // What waited on it (tasks that run after it, its concurrency key) is settled now; a sweep
  // makes up for it should this fail or the worker die first.
  const record = parseRecordHash(hash);
  if (hasDependents || record?.concurrency !== undefined || record === undefined) {
    await settleTaskEnd(deps, taskId, record).catch(() => undefined);
  }
  return record;
}

// The job's result: completed jobs return it; every other outcome fails the job, never to be retried.
function jobResultOf(
  record: TaskRecord,
  outcome: TaskEnd['outcome'],
  result: { exitCode?: number | null; signal?: string | null; error?: string },
): TaskResult {
  const duration =
    record.startedAt !== undefined && record.finishedAt !== undefined ? record.finishedAt - record.startedAt : null;
  const exitCode = result.exitCode ?? null;
  const value: TaskResult = {
    exit_code: exitCode,
    signal: result.signal ?? null,
    duration_ms: duration,
    status: outcome,
  };
  if (outcome === 'completed') return value;
  const parts = [outcome === 'failed' && exitCode !== null ? `exited with code ${exitCode}` : outcome];
  if (result.error) parts.push(result.error);
  if (duration !== null) parts.push(`after ${formatDuration(duration)}`);
  throw new UnrecoverableError(parts.join(' — '));
}
