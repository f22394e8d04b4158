// The executor contract: what a worker gives an executor to run a task, and what it gets back.
import type { Config, ExecutorConfig } from '../config/config.js';
import type { LogWriter } from '../logs/log-stream.js';
import type { TaskRequest } from '../tasks/request.js';
import type { ExecutorType, TaskRecord } from '../tasks/record.js';
import type { StopSwitch } from '../tasks/stop.js';

/** Everything an executor needs to run one task, or to re-attach to it. */
export interface ExecutionContext {
  taskId: string;
  /** 1 for the first run; retries are new runs with their own handle and output offsets. */
  attempt: number;
  request: TaskRequest;
  executor: ExecutorConfig;
  defaults: Config['defaults'];
  /**
   * The task's record when this worker took the job. A handle or checkpoint in it means an earlier
   * worker already started the task: re-attach, never run it again.
   */
  record: TaskRecord;
  /** Ships output; pass the new checkpoint with each append so both move together. */
  log: LogWriter;
  /**
   * Records, before anything is launched, the handle the launch is about to create (the spool or
   * remote directory, the container's name), reading any stop request in the same step: when it
   * resolves with `ctx.stop` tripped, launch nothing and return `notLaunched`. A worker that takes
   * the job over after this one died finds the handle and re-attaches to (or stops) what was
   * launched.
   */
  markLaunching(handle: Record<string, string>): Promise<void>;
  /**
   * Records the executor's handle (and pid) the moment the task has started; a stop requested
   * meanwhile trips `ctx.stop`.
   */
  markStarted(handle: Record<string, string>, pid?: number, startedAt?: number): Promise<void>;
  /** Aborted when the worker shuts down: stop following and reject with DetachedError; the task keeps running. */
  signal: AbortSignal;
  /** Trips when the task is to be killed or has timed out. */
  stop: StopSwitch;
}

/** How a run ended, with the same fields whether it succeeded or not. */
export interface ExecutionResult {
  outcome: 'completed' | 'failed' | 'lost';
  exitCode: number | null;
  signal: string | null;
  error?: string;
  /** True when the executor signalled the task because `ctx.stop` tripped. */
  stopped?: boolean;
  /**
   * When the task's process ended (ms since the epoch, on this worker's clock), as well as the
   * executor can tell: the moment it saw the end while it watched, else what the host or engine
   * recorded (an exit file's mtime, a container's FinishedAt). A worker that re-attaches after
   * the end records this, not the moment it noticed. @default the worker's clock when it ends the task
   */
  endedAt?: number;
}

/**
 * The contract every executor (local, SSH, container) fulfils:
 * - `execute` first looks for its own record of the task (spool directory, remote directory,
 *   labelled container). If it exists the task has started before: re-attach, resume shipping
 *   output from `record.checkpoint`, and collect the exit code. Otherwise start it detached:
 *   `ctx.markLaunching` first, then check `ctx.stop` once more right before the launch; a stop
 *   already tripped launches nothing (`notLaunched`). A record whose run was launching
 *   (`record.launchingAt`) may have a process or container of a worker that died: find it by
 *   the handle, and with `ctx.stop` tripped stop (or remove) it, or launch nothing.
 * - Output goes to `ctx.log` in order, each byte once, stdout and stderr apart.
 * - It resolves when the task has ended: exit 0 → completed, other codes → failed, vanished
 *   without an exit code → lost. Setup errors (missing working directory) resolve as failed
 *   with `error` set and nothing started. A run that ended says when in `endedAt`, also when
 *   it ended while no worker watched.
 * - When `ctx.stop` trips it sends SIGTERM to the task's whole process group, waits the grace
 *   period, then SIGKILL, keeps shipping output meanwhile, and resolves with `stopped: true`
 *   (unless the task had already ended by itself).
 * - When `ctx.signal` aborts it stops following and rejects with DetachedError.
 */
export interface Executor {
  readonly type: ExecutorType;
  execute(ctx: ExecutionContext): Promise<ExecutionResult>;
  /** Called once when a worker starts, before any task: connect, start helpers, check the engine. */
  prepare?(): Promise<void>;
  /** Releases what the executor holds (connections, helper processes); running tasks go on. */
  close?(): void | Promise<void>;
  /**
   * Runs a POSIX sh script with arguments ("$1", …) on the host that runs the tasks: how a task's
   * git worktree is made and read there. `stdin` is written to the script's stdin, which is closed
   * either way: text from a task (a commit message from its prompt) goes there, never in `args`,
   * which every user of the host reads (`ps`). Executors without a host of their own have none.
   */
  runScript?(
    script: string,
    args: readonly string[],
    stdin?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Removes what an ended task left where it ran (`cleanup`): spool or remote directories, containers. */
  cleanup(task: CleanupTarget): Promise<CleanedUp>;
  /**
   * Prepares a task's first run to start before its worker takes the job (a launch ahead, see
   * tasks/launch-ahead.ts): the spec is built and the workdir looked at now, while the run is
   * claimed on the record; `start` then launches it, and `execute` later finds it started. `start`
   * resolves false when nothing was launched: `execute` starts the run as usual, or says why it
   * cannot. Local executors only.
   */
  prepareLaunchAhead?(run: LaunchAheadRun): { start(): Promise<boolean> };
}

/** A task's first run, claimed for a launch ahead with `dir` as its handle. */
export interface LaunchAheadRun {
  taskId: string;
  request: TaskRequest;
  executor: ExecutorConfig;
  defaults: Config['defaults'];
  dir: string;
}

/** An ended task whose traces `Executor.cleanup` removes. */
export interface CleanupTarget {
  taskId: string;
  executor: ExecutorConfig;
  /** How many runs it had: each has a directory of its own. */
  runs: number;
  /** The last run's recorded handle (a directory recorded there wins over the naming rule). */
  handle: Readonly<Record<string, string>>;
}

/** What `Executor.cleanup` removed: directories (`host:dir` over SSH) and container ids. */
export interface CleanedUp {
  dirs: string[];
  containers: string[];
}

/** Thrown by `execute` when the worker shuts down while the task keeps running. */
export class DetachedError extends Error {
  constructor() {
    super('worker shutting down; task left running to be re-attached');
    this.name = 'DetachedError';
  }
}

/**
 * Thrown by `execute` when the run belongs to another host whose workers still answer (a local
 * task): this worker cannot reach its process, so the job goes back to the queue for them.
 */
export class OtherHostError extends Error {
  constructor(
    readonly host: string,
    /** When to offer the job again. */
    readonly retryMs: number,
  ) {
    super(`the task runs on host "${host}", whose workers still answer: left to them`);
    this.name = 'OtherHostError';
  }
}

/** A run stopped before its launch: nothing ran, and the stop decides the task's end. */
export function notLaunched(): ExecutionResult {
  return { outcome: 'failed', exitCode: null, signal: null, stopped: true };
}

export function resultFromExitCode(exitCode: number): ExecutionResult {
  return { outcome: exitCode === 0 ? 'completed' : 'failed', exitCode, signal: null };
}

/** The result with when its run ended (`endedAt`), where the executor knows it. */
export function withEnd(result: ExecutionResult, endedAt: number | undefined): ExecutionResult {
  return endedAt === undefined ? result : { ...result, endedAt };
}
