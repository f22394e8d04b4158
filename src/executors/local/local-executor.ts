// The `local` executor: runs tasks detached on this host and ships their spool files into the log,
// re-attaching after a worker restart.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { describeError } from '../../errors.js';
import { withoutOwnSecrets } from '../child-env.js';
import { expandHome } from '../../config/config.js';
import { formatDuration } from '../../config/duration.js';
import { resolveHostId } from './host-id.js';
import { TaskEndedError } from '../../logs/log-stream.js';
import { spoolRoot } from '../../config/paths.js';
import { DEFAULT_GRACE_MS } from '../../tasks/stop.js';
import {
  DetachedError,
  notLaunched,
  OtherHostError,
  resultFromExitCode,
  type CleanedUp,
  type CleanupTarget,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type LaunchAheadRun,
  withEnd,
} from '../executor.js';
import { rm } from 'node:fs/promises';
import type { ExecutorConfig } from '../../config/config.js';
import { runLocalScript } from './host-script.js';
import { ProcessLauncher, type WrapperStart } from './process-launcher.js';
import { isSameProcessAlive, readProcessStartTime } from '../process-identity.js';
import { exitCodeOnPidFile, PUNCH_PROBE, SpoolTail } from './spool-tail.js';
import { HolePuncher } from './hole-puncher.js';
import { parsePidFile, SPEC_FILE, wrapperSpec, type WrapperSpec } from '../shell/task-wrapper.js';
import { DEFAULT_MAX_SPOOL_BYTES } from '../shell/output-spool.js';
import { buildTaskCommand, type TaskCommand } from '../task-command.js';
import type { TaskRequest } from '../../tasks/request.js';

/** How long to wait for the wrapper's pid file when re-attaching to a task whose worker died at spawn. */
const PID_FILE_WAIT_MS = 2000;
/** How long a run launched ahead is remembered for its worker (another worker process may take it). */
const LAUNCHED_AHEAD_KEPT_MS = 60_000;
/** How long a stop waits for SIGKILL to empty the process group (zombies may linger longer). */
const KILL_WAIT_MS = 1000;
/** The longest idle wait between looks at the spool files when no file event arrives. */
const IDLE_POLL_MS = 250;
/**
 * How long after the exit code the spoolers may take to copy the last output: past it (a
 * background process of the task still holds its stdout) the task ends with what was spooled.
 */
const SPOOL_DRAIN_MS = 2000;
/** How often the spool cap is looked at while the worker's shipping waits (see SpoolTail). */
const CAP_CHECK_MS = 200;

export interface LocalHandle {
  pid: number;
  /** Process start time in clock ticks; guards against a recycled pid. */
  startTime?: string;
  dir: string;
  /** When this process launched it ahead of its job (ms since the epoch): its start, for the record. */
  launchedAt?: number;
  /**
   * This worker launched it and marked its start: the moment it sees the end is the end (on the
   * clock its start was marked by). A run found started is timed by its exit file instead.
   */
  watched?: boolean;
}

/** What `runSpec` builds for one run. */
interface RunSpec {
  command: TaskCommand;
  cwd: string;
  spec: WrapperSpec;
}

export interface LocalExecutorOptions {
  /** The host this worker runs on, recorded with each task it starts (`h:host`). @default resolveHostId() */
  hostId?: string;
  /** How long a silent worker keeps its jobs before another takes them over (worker.lock_duration), for messages. @default 30s */
  lockDurationMs?: number;
  /** Receives one line per notable event (an orphaned process stopped). @default ignore */
  onLog?: (line: string) => void;
  /** Variables of the worker's environment that tasks must not see (the notifiers' hooks tokens). @default [] */
  secretEnv?: readonly string[];
  /**
   * Other hosts' heartbeats: a task of a host that still beats is handed back to its workers,
   * one of a host whose heartbeat is gone ends lost. @default none: every other host counts as gone
   */
  heartbeat?: HostHeartbeat;
  /**
   * The most output per stream a task's spool keeps on this host (logs.max_spool_bytes): the
   * worker following the task frees the oldest past it (see SpoolTail). @default 1 GiB
   */
  maxSpoolBytes?: number;
  /**
   * Run each task's output through spoolers (logs.local_spoolers), as on SSH hosts: the cap then
   * holds while no worker follows the task, and a full disk does not fail the task's own writes;
   * they cost each task's start two sh spoolers and a `dd` per stream. @default false
   */
  spoolers?: boolean;
}

/** What a local executor reads of hosts' heartbeats (`worker.host_heartbeat`). */
export interface HostHeartbeat {
  /** How long a heartbeat lives without a refresh. */
  ttlMs: number;
  /** How often the workers of a host refresh it. */
  periodMs: number;
  /** Whether the host's heartbeat is alive now. */
  alive(hostId: string): Promise<boolean>;
}

/**
 * Runs tasks on this host, detached, so they outlive the worker that started them. A task is
 * bound to its host: a worker on another host that takes its job over cannot reach the process
 * and ends the task as lost; the worker that started it stops the process if it comes back.
 */
export class LocalExecutor implements Executor {
  readonly type = 'local' as const;
  readonly hostId: string;
  private readonly lockDurationMs: number;
  private readonly heartbeat: HostHeartbeat | undefined;
  private readonly maxSpoolBytes: number;
  private readonly spoolers: boolean;
  private readonly log: (line: string) => void;
  /** Starts wrappers with the worker's environment, without its own settings. */
  private readonly launcher: ProcessLauncher;
  /** Frees the oldest output of spool files past the cap (started on first use). */
  private readonly puncher = new HolePuncher();
  /** Runs launched ahead in this process, by spool directory, until `execute` takes them up. */
  private readonly launchedAhead = new Map<string, { launch: WrapperStart; at: number }>();

  constructor(options: LocalExecutorOptions = {}) {
    this.launcher = new ProcessLauncher(withoutOwnSecrets(process.env, options.secretEnv));
    this.hostId = options.hostId ?? resolveHostId();
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
    this.heartbeat = options.heartbeat;
    this.maxSpoolBytes = options.maxSpoolBytes ?? DEFAULT_MAX_SPOOL_BYTES;
    this.spoolers = options.spoolers ?? false;
    this.log = options.onLog ?? (() => {});
  }

  /** Starts the launcher process, and a wrapper waiting for the first task, before it comes. */
  async prepare(): Promise<void> {
    await this.launcher.open();
  }

  /** Ends the launcher process and the hole puncher; running tasks are not affected. */
  close(): void {
    this.launcher.close();
    this.puncher.close();
  }

  runScript(script: string, args: readonly string[], stdin?: string) {
    return runLocalScript(script, args, stdin);
  }

  /** Removes the spool directory of each run of an ended task, on this host. */
  async cleanup(task: CleanupTarget): Promise<CleanedUp> {
    const dirs = Array.from({ length: Math.max(1, task.runs) }, (_, i) =>
      localSpoolDir(task.executor, task.taskId, i + 1),
    );
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    return { dirs, containers: [] };
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    // Started by a worker on another host: its process is out of reach (a shared filesystem or
    // pid namespace would only make a stranger's process look like ours). Records made before
    // hosts were recorded have no host and are followed here as before.
    const host = ctx.record.handle.host;
    if (host !== undefined && host !== this.hostId) return this.leaveToOtherHost(ctx, host);
    // Each attempt has its own directory: a retry is a new run, never a re-attach to the last one.
    // A recorded directory wins over the config (which may have changed since the start).
    const dir = ctx.record.handle.dir || localSpoolDir(ctx.executor, ctx.taskId, ctx.attempt);
    // Nothing recorded: the mkdir in start() tells whether the spool directory is new.
    const recorded = Boolean(ctx.record.handle.dir || ctx.record.handle.pid);
    const existing = recorded ? await this.findHandle(dir, ctx) : undefined;
    if (existing === 'unknown') return this.withoutPidFile(ctx, dir);
    if (existing && !ctx.record.handle.pid) {
      // Found through the spool files (the last worker died at spawn, or it was launched ahead):
      // record it now.
      await ctx.markStarted(
        { pid: String(existing.pid), start_time: existing.startTime ?? '', dir, host: this.hostId },
        existing.pid,
        existing.launchedAt,
      );
    }
    if (!existing && ctx.record.handle.pid) {
      // Started before, but its spool directory is gone: never run it a second time.
      return this.collectWithoutProcess(ctx, dir);
    }
    if (existing) return this.follow(ctx, existing);
    const started = await this.start(ctx, dir);
    if ('outcome' in started) return started;
    return this.follow(ctx, started);
  }

  /**
   * Prepares a run claimed for a launch ahead: the same spec and claim (the spool directory) as
   * `start`, without its Redis steps (the run was claimed on the record with the task's record).
   * The spec is built and the workdir's stat begun now (off the event loop: it may be on a network
   * mount), while the claim makes its round trip; `start` then claims the directory and hands the
   * spec to a waiting wrapper. `execute` later finds the run started.
   */
  prepareLaunchAhead(run: LaunchAheadRun): { start(): Promise<boolean> } {
    let built: RunSpec;
    try {
      built = this.runSpec(run.request, run.executor, run.defaults, run.dir);
    } catch {
      // A spec the shell cannot take: the worker's own start says why.
      return { start: () => Promise.resolve(false) };
    }
    const { command, spec } = built;
    const workdirExists = isDirectory(built.cwd);
    return {
      start: async () => {
        // A missing workdir is the worker's to report, with the run still unlaunched.
        if (!(await workdirExists)) return false;
        try {
          claimSpoolDir(run.dir);
        } catch {
          // Claimed already: its worker came first and launches it.
          return false;
        }
        let launch: WrapperStart;
        try {
          if (command.stdin !== undefined) writeFileSync(path.join(run.dir, 'stdin'), command.stdin, { mode: 0o600 });
          // Throws only before the handoff (the spec file cannot be written, or the launcher spawned).
          launch = this.launcher.startWrapper(spec);
        } catch {
          // Nothing was handed to a wrapper: the claim goes, and the worker starts the task.
          rmSync(run.dir, { recursive: true, force: true });
          return false;
        }
        launch.started.catch(() => {});
        this.launchedAhead.set(run.dir, { launch, at: Date.now() });
        setTimeout(() => this.launchedAhead.delete(run.dir), LAUNCHED_AHEAD_KEPT_MS).unref();
        return true;
      },
    };
  }

  // The executor's own record decides whether the task has started: its spool directory.
  private async findHandle(dir: string, ctx: ExecutionContext): Promise<LocalHandle | 'unknown' | undefined> {
    if (!(await isDirectory(dir))) return undefined;
    const recorded = ctx.record.handle;
    if (recorded.pid) return { pid: Number(recorded.pid), startTime: recorded.start_time || undefined, dir };
    // Launched ahead by this process: its pid comes from the launcher, not the pid file.
    const ahead = this.launchedAhead.get(dir);
    if (ahead) {
      this.launchedAhead.delete(dir);
      const { launch, at } = ahead;
      const pid = await launch.started.catch(() => undefined);
      if (pid !== undefined) {
        const startTime = pid === launch.pid ? launch.startTime : readProcessStartTime(pid);
        return { pid, startTime, dir, launchedAt: at };
      }
    }
    // The previous worker died between spawning and recording: the wrapper writes its own pid.
    const deadline = Date.now() + PID_FILE_WAIT_MS;
    while (Date.now() < deadline) {
      const written = parsePidFile(await readFile(path.join(dir, 'pid'), 'utf8').catch(() => ''));
      if (written) return { ...written, dir };
      await sleep(100);
    }
    return 'unknown';
  }

  // A run's command, its absolute workdir and the spec a waiting wrapper reads (`wrapperSpec`);
  // throws for a variable the shell cannot set.
  private runSpec(
    request: TaskRequest,
    executor: ExecutorConfig,
    defaults: ExecutionContext['defaults'],
    dir: string,
  ): RunSpec {
    const command = buildTaskCommand(request.payload, executor, defaults);
    const cwd = command.workdir ? path.resolve(expandHome(command.workdir)) : homedir();
    const spec = wrapperSpec({
      dir,
      spoolCap: this.spoolers ? this.maxSpoolBytes : undefined,
      workdir: cwd,
      argv: command.argv.map((word, index) => (index === 0 ? expandHome(word) : word)),
      env: command.env,
      unsetEnv: command.unsetEnv,
    });
    return { command, cwd, spec };
  }

  private async start(ctx: ExecutionContext, dir: string): Promise<LocalHandle | ExecutionResult> {
    // Built first: a variable the shell cannot set fails the task before anything is claimed.
    const { command, cwd, spec } = this.runSpec(ctx.request, ctx.executor, ctx.defaults, dir);
    // The record says "launching, in this directory, on this host" before anything is claimed or
    // launched: a worker that takes over after this one died finds whatever was launched. The
    // mark's round trip overlaps the workdir's stat, which may be on a network mount and must not
    // block the worker's only thread (a missing workdir fails the task; the mark is then moot).
    // The spool directory is ours and local: its mkdir runs synchronously (a trip through
    // libuv's thread pool costs more than the call).
    const [workdirExists] = await Promise.all([isDirectory(cwd), ctx.markLaunching({ dir, host: this.hostId })]);
    if (!workdirExists) {
      const error = `working directory ${cwd} does not exist on executor "${ctx.executor.name}"`;
      await ctx.log.append([{ stream: 'system', text: `${error}\n` }]);
      return { outcome: 'failed', exitCode: null, signal: null, error };
    }
    // A run claimed before this worker took the job (a launch ahead, whose dispatcher may still
    // be about to launch it, or a worker that died) is claimed here too before a stop is obeyed:
    // the directory then stays, so that nothing can be launched into it after this.
    // (The mark and the handle's directory are written together, and `dir` is that directory.)
    const claimedBefore = ctx.record.launchingAt !== undefined;
    if (ctx.stop.request && !claimedBefore) return notLaunched();
    try {
      claimSpoolDir(dir);
    } catch (error) {
      // Another worker (or one that died, or a launch ahead) created it first: it owns the
      // start; we re-attach (and stop it, when a stop waits).
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const handle = await this.findHandle(dir, ctx);
      if (handle === undefined) return this.collectWithoutProcess(ctx, dir);
      if (handle === 'unknown') return this.withoutPidFile(ctx, dir);
      if (!ctx.record.handle.pid)
        await ctx.markStarted(
          { pid: String(handle.pid), start_time: handle.startTime ?? '', dir, host: this.hostId },
          handle.pid,
          handle.launchedAt,
        );
      return handle;
    }
    if (ctx.stop.request) return notLaunched();
    if (command.stdin !== undefined) await writeFile(path.join(dir, 'stdin'), command.stdin, { mode: 0o600 });
    // A stop that came while the directory was claimed: launch nothing (the pub/sub nudge may
    // have tripped the switch since the mark). The empty directory stays as the claim.
    if (ctx.stop.request) {
      await rm(path.join(dir, 'stdin'), { force: true });
      return notLaunched();
    }

    // The wrapper gets its spec, then the record gets the pid. Should the worker die in between,
    // the next worker finds the launching mark and the directory with the wrapper's pid file, and
    // re-attaches (or stops it, when a kill waits): never a second run, never an unstopped one.
    let launch: WrapperStart;
    try {
      launch = this.launcher.startWrapper(spec);
    } catch (error) {
      // Nothing was handed over (the spec file could not be written: a full disk, a quota; or the
      // launcher could not be spawned): the task fails saying why; the directory stays as the claim.
      rmSync(path.join(dir, SPEC_FILE), { force: true });
      const reason = `could not hand the task to its shell on executor "${ctx.executor.name}": ${describeError(error)}`;
      await ctx.log.append([{ stream: 'system', text: `${reason}\n` }]);
      return { outcome: 'failed', exitCode: null, signal: null, error: reason };
    }
    const pid = await launch.started;
    const startTime = pid === launch.pid ? launch.startTime : readProcessStartTime(pid);
    const handle: LocalHandle = { pid, startTime, dir, watched: true };
    await ctx.markStarted({ pid: String(pid), start_time: startTime ?? '', dir, host: this.hostId }, pid);
    return handle;
  }

  // Ships spool output into the log until the exit file appears or the process is gone.
  private async follow(ctx: ExecutionContext, handle: LocalHandle): Promise<ExecutionResult> {
    const tail = this.spoolTail(handle.dir, ctx);
    const shipper = new OutputShipper(tail, ctx.log);
    const waker = new DirectoryWaker(handle.dir);
    let capTimer: NodeJS.Timeout | undefined;
    let termination: Promise<boolean> | undefined;
    const unsubscribe = ctx.stop.onTrip((request) => {
      termination ??= terminateGroup(handle, request.graceMs);
      waker.poke();
    });
    const finish = async (result: ExecutionResult): Promise<ExecutionResult> => {
      const stopped = termination ? await termination : false;
      return stopped ? { ...result, stopped } : result;
    };
    try {
      // The cap is kept on every read, and by this timer while shipping waits (on Redis, say).
      capTimer = setInterval(() => {
        try {
          tail.keepCapWhileIdle();
        } catch (error) {
          this.log(`task ${ctx.taskId}: keeping its spool cap failed: ${describeError(error)}`);
        }
      }, CAP_CHECK_MS);
      let exitCode: number | undefined;
      // The exit file is read at first, when inotify saw it change, and after a quiet interval:
      // not on every wake-up (a short task's directory changes five times).
      let lookForExit = true;
      // When the exit code was seen: the spoolers get SPOOL_DRAIN_MS from then to finish.
      let exitSeenAt: number | undefined;
      for (;;) {
        if (ctx.signal.aborted) throw new DetachedError();
        if (exitCode === undefined && lookForExit) exitCode = readExitCode(handle.dir);
        if (exitCode !== undefined) exitSeenAt ??= Date.now();
        const complete = exitSeenAt !== undefined && (tail.ended() || Date.now() - exitSeenAt >= SPOOL_DRAIN_MS);
        const shipped = await shipper.ship(complete);
        if (shipped > 0) {
          lookForExit = waker.takeExitHint();
          continue;
        }
        if (exitCode !== undefined && complete) {
          const endedAt = handle.watched ? exitSeenAt : exitRecordedAt(handle.dir);
          return await finish(await endedRun(exitCode, tail, endedAt));
        }
        if (exitCode !== undefined) {
          await waker.wait(Math.min(IDLE_POLL_MS, SPOOL_DRAIN_MS - (Date.now() - exitSeenAt!)), ctx.signal);
          continue;
        }
        if (!isSameProcessAlive(handle.pid, handle.startTime)) {
          // The exit file is written before the wrapper exits; look once more, then drain.
          exitCode = readExitCode(handle.dir, true);
          if (exitCode !== undefined) continue;
          // Seen gone now: the end, where this worker watched the run end (or stopped it).
          const goneAt = handle.watched || termination !== undefined ? Date.now() : undefined;
          return await finish(
            await this.collectWithoutProcess(ctx, handle.dir, shipper, termination !== undefined, goneAt),
          );
        }
        const woke = await waker.wait(IDLE_POLL_MS, ctx.signal);
        lookForExit = waker.takeExitHint() || woke === 'timeout';
      }
    } catch (error) {
      // Another worker ended the task while this one could not reach Redis (it took the job over
      // and could not reach the process): what still runs is an orphan nobody records. Stop it.
      if (error instanceof TaskEndedError && isSameProcessAlive(handle.pid, handle.startTime)) {
        this.log(
          `task ${ctx.taskId} was ended by another worker while its process still ran here; stopping process group ${handle.pid}`,
        );
        termination ??= terminateGroup(handle, DEFAULT_GRACE_MS);
        await termination;
      }
      throw error;
    } finally {
      unsubscribe();
      clearInterval(capTimer);
      waker.close();
      await shipper.settle();
      await tail.close();
      dropSpecFile(handle.dir, this.log);
    }
  }

  // The task's output, from its checkpoint. The worker keeps the cap where no spoolers do: decided
  // by the directory, as the task was started (a spooler's FIFO not made yet is harmless: a
  // spooler's segment never holds more than the cap). Not on a host that cannot punch holes.
  private spoolTail(dir: string, ctx: ExecutionContext): SpoolTail {
    const spooled = existsSync(path.join(dir, 'stdout.fifo'));
    const cap =
      spooled || this.puncher.unsupported !== undefined
        ? undefined
        : { maxBytes: this.maxSpoolBytes, onError: this.log, punch: this.puncher.punch.bind(this.puncher) };
    return new SpoolTail(dir, ctx.record.checkpoint, this.hostId, cap);
  }

  // A spool directory without a pid file: the worker that claimed it died before the wrapper had
  // its spec (a cut-short spec runs nothing). A stop waiting for it ends the run with nothing run.
  private async withoutPidFile(ctx: ExecutionContext, dir: string): Promise<ExecutionResult> {
    if (ctx.stop.request && !ctx.record.handle.pid) return notLaunched();
    return this.collectWithoutProcess(ctx, dir);
  }

  // The job came here after the lock of a worker on `host` lapsed. While the host's heartbeat
  // lives (its workers answer, say after a Redis outage or a worker's restart) the job goes back
  // to them; once it is gone — looked at twice, a refresh apart, so that a host whose workers are
  // reconnecting is not taken for gone — the task is lost: nothing here can reach its process.
  private async leaveToOtherHost(ctx: ExecutionContext, host: string): Promise<ExecutionResult> {
    const heartbeat = this.heartbeat;
    if (heartbeat === undefined) return this.loseToOtherHost(ctx, host);
    if (await heartbeat.alive(host)) throw new OtherHostError(host, heartbeat.periodMs);
    await sleep(heartbeat.periodMs);
    if (ctx.signal.aborted) throw new DetachedError();
    if (await heartbeat.alive(host)) throw new OtherHostError(host, heartbeat.periodMs);
    return this.loseToOtherHost(ctx, host, heartbeat.ttlMs);
  }

  // Ends a task of another host as lost: how long its heartbeat has been gone, when heartbeats are
  // known, else how long its worker held the job without answering.
  private async loseToOtherHost(ctx: ExecutionContext, host: string, silentMs?: number): Promise<ExecutionResult> {
    const error =
      silentMs !== undefined
        ? silentHostError(host, this.hostId, silentMs)
        : `the task ran on host "${host}", whose worker stopped answering for ${formatDuration(this.lockDurationMs)} (worker.lock_duration); ` +
          `this worker on "${this.hostId}" cannot reach its process`;
    await ctx.log.append([{ stream: 'system', text: `${error}\n` }]);
    return { outcome: 'lost', exitCode: null, signal: null, error };
  }

  // The process is gone: ship what it wrote, then report its exit code, or lost without one.
  // `goneAt`: when a worker that watched the run saw its process gone.
  private async collectWithoutProcess(
    ctx: ExecutionContext,
    dir: string,
    existing?: OutputShipper,
    killedByUs = false,
    goneAt?: number,
  ): Promise<ExecutionResult> {
    const tail = existing ? undefined : this.spoolTail(dir, ctx);
    const shipper = existing ?? new OutputShipper(tail!, ctx.log);
    try {
      while ((await shipper.ship(true)) > 0) {
        // drain
      }
    } finally {
      await shipper.settle();
      await tail?.close();
    }
    const exitCode = readExitCode(dir, true);
    if (exitCode !== undefined) return endedRun(exitCode, shipper.tail, goneAt ?? exitRecordedAt(dir));
    // SIGKILL took the wrapper too, so no exit code was written: that is ours, not a loss.
    if (killedByUs) return withEnd({ outcome: 'failed', exitCode: null, signal: 'SIGKILL' }, goneAt);
    const error =
      'the task process vanished without recording an exit code (killed from outside, or the host restarted)';
    await ctx.log.append([{ stream: 'system', text: `${error}\n` }]);
    return { outcome: 'lost', exitCode: null, signal: null, error };
  }
}

/**
 * Ships a task's spool output into its log. While output keeps coming (a read fills its buffer)
 * the next read is made while the last append is on its way: reading and Redis's work overlap.
 * At most one append is in flight.
 */
class OutputShipper {
  private inFlight: Promise<void> | undefined;

  constructor(
    readonly tail: SpoolTail,
    private readonly log: ExecutionContext['log'],
  ) {}

  /** Reads and ships what is new; resolves with its size once the next read may be made. */
  async ship(complete: boolean): Promise<number> {
    const { chunks, bytes, more } = await this.tail.read(complete);
    const previous = this.inFlight;
    this.inFlight = undefined;
    if (bytes === 0) {
      await previous;
      return 0;
    }
    const appended = this.log.append(chunks, this.tail.checkpoint());
    // Awaited below or by the next call; a failure meanwhile must not go unhandled.
    appended.catch(() => {});
    await previous;
    if (more) this.inFlight = appended;
    else await appended;
    return bytes;
  }

  /** Waits for the append in flight, if any; its failure was (or will be) reported by `ship`. */
  async settle(): Promise<void> {
    const previous = this.inFlight;
    this.inFlight = undefined;
    await previous?.catch(() => {});
  }
}

/**
 * Wakes a waiter when anything in the directory changes (inotify), or after a timeout, and
 * remembers whether the exit file was among the changes.
 */
class DirectoryWaker {
  private watcher: FSWatcher | undefined;
  private pending = false;
  private exitHint = false;
  private wake: (() => void) | undefined;

  constructor(dir: string) {
    try {
      this.watcher = watch(dir, (_event, name) => {
        // Every write to a spooler's FIFO is an event of its own: only the segments count.
        if (name === 'pid' || name === 'stdin' || name === 'reserve' || name?.endsWith('.fifo')) return;
        if (name?.includes('.kept.') || name?.startsWith(PUNCH_PROBE)) return;
        if (name === 'exit' || !name) this.exitHint = true;
        this.pending = true;
        this.wake?.();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  /** Whether the exit file changed since the last call. */
  takeExitHint(): boolean {
    const hint = this.exitHint;
    this.exitHint = false;
    return hint;
  }

  async wait(timeoutMs: number, signal: AbortSignal): Promise<'event' | 'timeout'> {
    if (this.pending) {
      this.pending = false;
      return 'event';
    }
    return new Promise((resolve) => {
      const done = (how: 'event' | 'timeout') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.pending = false;
        resolve(how);
      };
      const onAbort = () => done('event');
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = () => done('event');
    });
  }

  /** Wakes the waiter now (a stop request arrived). */
  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * SIGTERM to the task's whole process group, then SIGKILL after `graceMs` if anything of it is
 * left. Resolves true when a signal was sent, false when the task had already ended by itself.
 * A waiting wrapper's forked shell ignores TERM while it reads its spec (see WAITING_WRAPPER):
 * when the task had not written its pid file yet, TERM goes again once it has.
 */
export async function terminateGroup(handle: LocalHandle, graceMs: number): Promise<boolean> {
  if (readExitCode(handle.dir) !== undefined) return false;
  if (!isSameProcessAlive(handle.pid, handle.startTime)) return false;
  const pidFile = path.join(handle.dir, 'pid');
  let begun = existsSync(pidFile);
  if (!signalGroup(handle.pid, 'SIGTERM')) return false;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!begun && existsSync(pidFile)) {
      begun = true;
      signalGroup(handle.pid, 'SIGTERM');
    }
    if (!signalGroup(handle.pid, 0)) return true;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
  signalGroup(handle.pid, 'SIGKILL');
  // A stop is done when the group is: wait (briefly) for SIGKILL to take effect.
  const killed = Date.now() + KILL_WAIT_MS;
  while (signalGroup(handle.pid, 0) && Date.now() < killed) await sleep(10);
  return true;
}

// The run's result once its output is all read: its spool freed down to the cap, and a spool
// failure's line in the record, as in its log.
async function endedRun(exitCode: number, tail: SpoolTail, endedAt: number | undefined): Promise<ExecutionResult> {
  await tail.settleCap();
  const result = withEnd(resultFromExitCode(exitCode), endedAt);
  const line = tail.failureLine();
  return line && !result.error ? { ...result, error: line } : result;
}

// When the wrapper recorded the exit code: its exit file's mtime (the pid file's, where the code
// went there on a full disk). Undefined when neither can be read.
function exitRecordedAt(dir: string): number | undefined {
  for (const name of ['exit', 'pid']) {
    try {
      return statSync(path.join(dir, name)).mtimeMs;
    } catch {
      // not there: the next
    }
  }
  return undefined;
}

// False when the group has no member left.
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

// Synchronous: a few bytes from a local file cost less than four trips through the thread pool.
// A wrapper that could not write its exit file (a full disk) left the code on its pid file: looked
// at once the exit file is there but empty (its write failed), or with `processGone`.
function readExitCode(dir: string, processGone = false): number | undefined {
  let text: string | undefined;
  try {
    text = readFileSync(path.join(dir, 'exit'), 'utf8');
  } catch {
    text = undefined;
  }
  // Written in one write(2); until its newline is there it is not complete.
  if (text?.endsWith('\n')) {
    const code = Number.parseInt(text.trim(), 10);
    return Number.isFinite(code) ? code : undefined;
  }
  if (text === undefined && !processGone) return undefined;
  return exitCodeOnPidFile(dir);
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Why a local task of `host`, whose heartbeat has been gone for `silentMs`, ends lost on `here`. */
export function silentHostError(host: string, here: string, silentMs: number): string {
  return (
    `host "${host}" stopped answering (no heartbeat for ${formatDuration(silentMs)}, worker.host_heartbeat); ` +
    `this worker on "${here}" cannot reach the task's process`
  );
}

/**
 * Removes a long task's spec file (see WAITING_WRAPPER) once its shell has read it, which the pid
 * file it writes next shows: the command and variables it holds stay on disk no longer than the
 * task is followed. A spec without a pid file stays (its shell may be about to read it; one never
 * read stays, mode 0600, until the retention sweep removes the directory, as `stdin` does).
 */
function dropSpecFile(dir: string, log: (line: string) => void): void {
  try {
    if (existsSync(path.join(dir, 'pid'))) rmSync(path.join(dir, SPEC_FILE), { force: true });
  } catch (error) {
    // A read-only or failing disk: the task's result stands; the retention sweep removes it later.
    log(`could not remove ${path.join(dir, SPEC_FILE)}: ${describeError(error)}`);
  }
}

/**
 * The claim on a run's start: whoever creates its spool directory runs it (EEXIST: another did).
 * One mkdir per task; the spool root is made only when it is missing (first task, or removed).
 */
function claimSpoolDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
  }
}

/** A run's spool directory on this host: `<spool>/<id>` for the first run, `<id>.<n>` for run n. */
export function localSpoolDir(executor: ExecutorConfig, taskId: string, run: number): string {
  return path.join(spoolRoot(executor.spool_dir), run === 1 ? taskId : `${taskId}.${run}`);
}
