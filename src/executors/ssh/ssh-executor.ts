// The `ssh` executor: runs tasks detached on a remote host and follows them all in one poll loop.
import { randomUUID } from 'node:crypto';
import type { ExecutorConfig } from '../../config/config.js';
import { describeError } from '../../errors.js';
import { OwnershipLostError, type LogWriter, type OutputChunk } from '../../logs/log-stream.js';
import type { StopRequest, StopSwitch } from '../../tasks/stop.js';
import { completeUtf8Length } from '../../logs/utf8-boundary.js';
import {
  DetachedError,
  notLaunched,
  resultFromExitCode,
  type CleanedUp,
  type CleanupTarget,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  withEnd,
} from '../executor.js';
import { buildTaskCommand } from '../task-command.js';
import {
  findScript,
  parseRead,
  parseStart,
  parseStatus,
  readScript,
  removeScript,
  resolveRemotePath,
  signalScript,
  startScript,
  statusScript,
  type PolledStatus,
  type ReadRange,
} from './remote-scripts.js';
import { shellQuote } from '../shell/quote.js';
import {
  DEFAULT_MAX_SPOOL_BYTES,
  spoolDropNote,
  spoolFailureLine,
  segmentName,
  type SpoolStream,
} from '../shell/output-spool.js';
import { SshConnection, SshError } from './ssh-connection.js';

/** Where remote tasks keep their directories unless `spool_dir` says otherwise. */
export const DEFAULT_REMOTE_SPOOL = '~/.openclaw-agent/tasks';

/** The most fetched from one spool file per poll; bounds the worker's memory per task. */
const MAX_READ_BYTES = 1 << 20;
/** Poll cadence: fast while output flows or a task is being stopped, slower when all is quiet. */
const FAST_POLL_MS = 100;
const SLOW_POLL_MS = 1000;
/** How long a task directory may go without a pid file before the task counts as lost. */
const PID_FILE_DEADLINE_MS = 60_000;
/**
 * How long after the exit code the spoolers may take to copy the last output: past it (a
 * background process of the task still holds its stdout) the task ends with what was spooled.
 */
const SPOOL_DRAIN_MS = 2000;
/** Reconnect back-off after a failed poll, doubling up to the cap. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

interface RemoteHandle {
  dir: string;
  pid?: number;
  startTime?: string;
}

/** A task this worker follows: where its output stands and how to hand back its end. */
interface Followed {
  key: string;
  handle: RemoteHandle;
  log: LogWriter;
  offsets: { stdout: number; stderr: number };
  /** Streams whose failed spool is noted in the log (the checkpoint's `<stream>_lost`). */
  lost: { stdout: boolean; stderr: boolean };
  /** When the exit code was first seen: the spoolers get SPOOL_DRAIN_MS from then to finish. */
  exitSeenAt?: number;
  /** When the remote wrote the exit file, on this worker's clock (from the file's age there). */
  endedAt?: number;
  stopping?: {
    request: StopRequest;
    termSent: boolean;
    killAt?: number;
    killSent: boolean;
    /** Whether the log says the stop waits for the host (once per stop, not per retry). */
    waitNoted?: boolean;
  };
  /** Polls that found the process gone without an exit file (one more look, then lost). */
  goneSeen: number;
  /** When following began without a pid (a start that was still writing its pid file). */
  noPidSince?: number;
  markStarted: ExecutionContext['markStarted'];
  resolve(result: ExecutionResult): void;
  reject(error: unknown): void;
}

/**
 * Runs tasks on a host over SSH with the local executor's protocol: a task directory on the
 * remote, the same wrapper in its own session, spool files and an exit file. One connection
 * serves every task; one poll loop fetches the status and new output of all of them per round
 * (a status script, then the byte ranges that grew), ships it into each task's log from its
 * recorded offsets, and survives dropped links by reconnecting: the remote tasks never notice.
 */
export class SshExecutor implements Executor {
  readonly type = 'ssh' as const;
  private readonly connection: SshConnection;
  private readonly followed = new Map<string, Followed>();
  private polling: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Why the last poll failed, until one succeeds: the host is unreachable meanwhile. */
  private outage: string | undefined;
  private closed = false;
  private readonly maxSpoolBytes: number;
  private readonly retryFirstMs: number;

  constructor(
    private readonly config: ExecutorConfig,
    private readonly log: (line: string) => void = () => {},
    options: {
      /** The most output per stream a task's spool keeps on the remote (logs.max_spool_bytes). @default 1 GiB */
      maxSpoolBytes?: number;
      /** The wait before reconnecting after a failed poll; it doubles per failure, up to 30 s. @default 500 ms */
      retryFirstMs?: number;
    } = {},
  ) {
    this.connection = new SshConnection(config, log);
    this.maxSpoolBytes = options.maxSpoolBytes ?? DEFAULT_MAX_SPOOL_BYTES;
    this.retryFirstMs = options.retryFirstMs ?? RETRY_FIRST_MS;
  }

  /** Connects at worker start: a wrong host key or refused key is reported at once. */
  async prepare(): Promise<void> {
    try {
      await this.connection.remote();
    } catch (error) {
      // The host may come back; tasks wait for it. Configuration mistakes stop the worker.
      if (error instanceof SshError && error.transient) this.log(`${error.message} (will retry when a task needs it)`);
      else throw error;
    }
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    this.connection.close();
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    const recorded = ctx.record.handle;
    let handle: RemoteHandle;
    if (recorded.dir && recorded.pid) {
      handle = { dir: recorded.dir, pid: Number(recorded.pid), startTime: recorded.start_time || undefined };
    } else {
      const started = await this.start(ctx, recorded.dir);
      if ('outcome' in started) return started;
      handle = started;
    }
    return this.follow(ctx, handle);
  }

  /**
   * Runs a sh script on the remote with `args` as "$1"…: each word reaches it quoted, in the
   * command line; `stdin` goes to the script's stdin instead, out of the remote's `ps`.
   */
  async runScript(
    script: string,
    args: readonly string[],
    stdin?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const reply = await this.connection.run(`set -- ${args.map(shellQuote).join(' ')}\n${script}`, stdin);
    return { code: reply.code, stdout: reply.stdout.toString('utf8'), stderr: reply.stderr };
  }

  /**
   * Removes a task's directories on the remote (for `cleanup`): each attempt's, and the recorded
   * one if the config's spool_dir changed since. Returns them.
   */
  /** Removes the remote directory of each run of an ended task, over SSH. */
  async cleanup(task: CleanupTarget): Promise<CleanedUp> {
    const dirs = await this.removeTaskDirs(task.taskId, task.runs, task.handle.dir);
    return { dirs: dirs.map((dir) => `${this.config.host}:${dir}`), containers: [] };
  }

  async removeTaskDirs(taskId: string, attempts: number, recordedDir?: string): Promise<string[]> {
    const root = await this.remoteRoot();
    const dirs = Array.from(
      { length: Math.max(1, attempts) },
      (_, i) => `${root}/${i === 0 ? taskId : `${taskId}.${i + 1}`}`,
    );
    if (recordedDir && !dirs.includes(recordedDir)) dirs.push(recordedDir);
    const reply = await this.connection.run(dirs.map((dir) => removeScript(dir, taskId)).join('\n'));
    if (reply.code !== 0)
      throw new SshError(`could not remove ${dirs.join(', ')} on ${this.config.host}: ${reply.stderr.trim()}`, false);
    return dirs;
  }

  private async remoteRoot(): Promise<string> {
    const { home } = await this.connection.remote();
    return resolveRemotePath((this.config.spool_dir ?? DEFAULT_REMOTE_SPOOL).replace(/\/+$/, ''), home);
  }

  private async start(ctx: ExecutionContext, recordedDir: string | undefined): Promise<RemoteHandle | ExecutionResult> {
    const root = await this.remoteRoot();
    const dir = recordedDir || `${root}/${ctx.attempt === 1 ? ctx.taskId : `${ctx.taskId}.${ctx.attempt}`}`;
    const command = buildTaskCommand(ctx.request.payload, ctx.executor, ctx.defaults);
    const start = startScript({
      dir,
      argv: command.argv,
      workdir: command.workdir,
      env: command.env,
      unsetEnv: command.unsetEnv,
      prompt: command.stdin,
      requireCommand: ctx.request.payload.type === 'claude_code' ? command.argv[0] : undefined,
      spoolCap: this.maxSpoolBytes,
    });
    // As locally: the record says "launching, in this directory" before the start script runs; a
    // worker dying after it leaves a directory the next start finds (mkdir fails), never a rerun.
    await ctx.markLaunching({ dir });
    if (ctx.stop.request) return this.findStopped(ctx, dir);
    const ran = await this.connection.run(start.script, start.stdin);
    const outcome = parseStart(ran.stdout.toString('utf8'));
    const where = `executor "${this.config.name}" (${this.config.host})`;
    const fail = async (error: string): Promise<ExecutionResult> => {
      await ctx.log.append([{ stream: 'system', text: `${error}\n` }]);
      return { outcome: 'failed', exitCode: null, signal: null, error };
    };
    if (!outcome) {
      const detail = ran.stderr.trim().split('\n').pop() || `exit code ${ran.code}`;
      return fail(`could not start the task on ${where}: ${detail}`);
    }
    switch (outcome.kind) {
      case 'no-workdir':
        return fail(`working directory ${command.workdir} does not exist on ${where}`);
      case 'no-command':
        return fail(
          `${command.argv[0]} not found on ${where} — install Claude Code there or set claude_path for the executor`,
        );
      case 'error':
        return fail(`could not start the task on ${where}: ${outcome.message}`);
      case 'absent':
        return fail(`could not start the task on ${where}: unexpected reply`);
      case 'started':
      case 'exists': {
        if (outcome.pid === undefined) {
          // A directory without a pid file: a start that died half-way. Never start it twice.
          return this.follow(ctx, { dir });
        }
        const handle = { dir, pid: outcome.pid, startTime: outcome.startTime };
        await ctx.markStarted({ dir, pid: String(outcome.pid), start_time: outcome.startTime ?? '' }, outcome.pid);
        return handle;
      }
    }
  }

  // A stop came before this run's launch. A run marked launching by a worker that died may have
  // been launched: look for its directory without starting anything, and stop what runs there.
  private async findStopped(ctx: ExecutionContext, dir: string): Promise<RemoteHandle | ExecutionResult> {
    if (ctx.record.launchingAt === undefined) return notLaunched();
    const found = parseStart((await this.connection.run(findScript(dir))).stdout.toString('utf8'));
    if (found?.kind !== 'exists' || found.pid === undefined) return notLaunched();
    await ctx.markStarted({ dir, pid: String(found.pid), start_time: found.startTime ?? '' }, found.pid);
    return { dir, pid: found.pid, startTime: found.startTime };
  }

  private follow(ctx: ExecutionContext, handle: RemoteHandle): Promise<ExecutionResult> {
    return new Promise<ExecutionResult>((resolve, reject) => {
      const key = `${ctx.taskId}.${ctx.attempt}`;
      const task: Followed = {
        key,
        handle,
        log: ctx.log,
        offsets: {
          stdout: Number(ctx.record.checkpoint.stdout ?? 0) || 0,
          stderr: Number(ctx.record.checkpoint.stderr ?? 0) || 0,
        },
        lost: {
          stdout: ctx.record.checkpoint.stdout_lost === '1',
          stderr: ctx.record.checkpoint.stderr_lost === '1',
        },
        goneSeen: 0,
        noPidSince: handle.pid === undefined ? Date.now() : undefined,
        markStarted: (handle, pid) => ctx.markStarted(handle, pid),
        resolve: (result) => done(() => resolve(result)),
        reject: (error) => done(() => reject(error instanceof Error ? error : new Error(String(error)))),
      };
      const stop = watchStop(ctx.stop, task, () => {
        // Known unreachable: the log says so now, not after the next attempt to connect times out.
        if (this.outage !== undefined) void this.noteStopWaits(task, this.outage);
        this.wake?.();
      });
      const onAbort = () => task.reject(new DetachedError());
      const done = (settle: () => void) => {
        if (this.followed.get(key) !== task) return;
        this.followed.delete(key);
        stop();
        ctx.signal.removeEventListener('abort', onAbort);
        settle();
      };
      // The same run followed twice by this worker (a stalled job handed back to it): the newer
      // follower takes over, the older one stops as a worker that lost the task would.
      this.followed.get(key)?.reject(new OwnershipLostError(ctx.taskId));
      this.followed.set(key, task);
      if (ctx.signal.aborted) {
        onAbort();
        return;
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.polling ??= this.poll();
      this.wake?.();
    });
  }

  // One loop for all followed tasks; it ends when none is left (and says so in the same step, so
  // a task followed from then on starts a new loop).
  private async poll(): Promise<void> {
    let delay = FAST_POLL_MS;
    let retry = this.retryFirstMs;
    while (this.followed.size > 0 && !this.closed) {
      let busy = false;
      try {
        busy = await this.round([...this.followed.values()]);
        if (this.outage)
          this.log(`ssh ${this.config.host}: connection back; following ${this.followed.size} task(s) again`);
        this.outage = undefined;
        retry = this.retryFirstMs;
        delay = busy ? FAST_POLL_MS : Math.min(SLOW_POLL_MS, delay * 2);
      } catch (error) {
        const message = describeError(error);
        if (message !== this.outage) this.log(`${message} (retrying; remote tasks keep running)`);
        this.outage = message;
        await Promise.all([...this.followed.values()].map((task) => this.noteStopWaits(task, message)));
        delay = retry;
        retry = Math.min(RETRY_MAX_MS, retry * 2);
      }
      if (this.followed.size === 0 || this.closed) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, delay);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          delay = FAST_POLL_MS;
          resolve();
        };
      });
    }
    this.outage = undefined;
    this.polling = undefined;
  }

  // A stop that cannot reach its task says why in the task's log, once: whoever asked for it or
  // reads the log learns that the task runs on until the host is back. Never throws.
  private async noteStopWaits(task: Followed, outage: string): Promise<void> {
    const stopping = task.stopping;
    if (!stopping || stopping.termSent || stopping.waitNoted) return;
    stopping.waitNoted = true;
    const text =
      `the stop (${stopping.request.reason}) waits for ssh host ${this.hostName}, which cannot be reached: ` +
      `${outage}; the task runs on until the host is back, then gets SIGTERM\n`;
    try {
      await task.log.append([{ stream: 'system', text }]);
    } catch (error) {
      task.reject(error);
    }
  }

  /** One poll of every task; true when something moved (output shipped, a task ended, a stop). */
  private async round(tasks: Followed[]): Promise<boolean> {
    const polled = tasks.map((t) => ({
      key: t.key,
      dir: t.handle.dir,
      pid: t.handle.pid,
      group: t.stopping !== undefined,
      exitAge: t.endedAt === undefined,
    }));
    const reply = await this.connection.run(statusScript(polled));
    // The remote read its clock shortly before: the exit file's age counts back from here.
    const repliedAt = Date.now();
    const statuses = parseStatus(reply.stdout.toString('utf8'), polled);
    if (!statuses)
      throw new SshError(
        `ssh ${this.config.host}: unreadable status reply: ${reply.stderr.trim().split('\n')[0] ?? ''}`,
        true,
      );
    let busy = false;
    const ranges: ReadRange[] = [];
    const plans = new Map<string, ReadPlan>();
    for (const task of tasks) {
      const status = statuses.get(task.key)!;
      if (status.exitAgeMs !== undefined) task.endedAt ??= repliedAt - status.exitAgeMs;
      for (const stream of ['stdout', 'stderr'] as const) {
        const plan = this.planRead(task, stream, status);
        if (!plan) continue;
        plans.set(`${task.key} ${stream}`, plan);
        if (plan.range) ranges.push(plan.range);
      }
    }
    const nonce = randomUUID();
    const data =
      ranges.length > 0
        ? parseRead((await this.connection.run(readScript(ranges, nonce))).stdout, ranges, nonce)
        : new Map();
    // A reply that frames not at all (the link dropped mid-read) is read again next round.
    if (!data) return true;
    await Promise.all(
      tasks.map(async (task) => {
        const status = statuses.get(task.key)!;
        try {
          if (await this.adoptPid(task, status)) busy = true;
          const shipped = await this.ship(task, data.get(task.key), status, plans);
          if (shipped) busy = true;
          if (await this.settle(task, status)) busy = true;
        } catch (error) {
          // A dropped link fails the round (retried for all); anything else ends this task.
          if (error instanceof SshError && error.transient) throw error;
          task.reject(error);
        }
      }),
    );
    return busy || tasks.some((t) => t.stopping !== undefined);
  }

  // A task followed before its pid was known takes it from the pid file once it is written.
  private async adoptPid(task: Followed, status: PolledStatus): Promise<boolean> {
    if (task.handle.pid !== undefined || status.pid === undefined) return false;
    task.handle = { ...task.handle, pid: status.pid, startTime: status.pidStartTime };
    task.noPidSince = undefined;
    await task.markStarted(
      { dir: task.handle.dir, pid: String(status.pid), start_time: status.pidStartTime ?? '' },
      status.pid,
    );
    // This round's status asked about no pid; judge liveness from the next one.
    task.goneSeen = -1;
    return true;
  }

  // What to fetch of a stream: from its offset on, through the segments the spooler has kept.
  // Behind what the spool dropped, it moves to within half the cap of the newest output (the
  // oldest kept would likely be gone before the read), and the log gets a note.
  private planRead(task: Followed, stream: SpoolStream, status: PolledStatus): ReadPlan | undefined {
    const segments = status.segments[stream];
    const last = segments.at(-1);
    if (!last) return undefined;
    const end = last.start + last.size;
    let from = task.offsets[stream];
    let dropped = 0;
    if (from < segments[0]!.start) {
      const target = segments.find((s) => s.start >= end - this.maxSpoolBytes / 2) ?? last;
      dropped = target.start - from;
      from = target.start;
    }
    if (from >= end) return dropped > 0 ? { from, dropped } : undefined;
    const at = segments.findLastIndex((s) => s.start <= from);
    const files: string[] = [];
    let length = 0;
    for (const segment of segments.slice(at, at + 7)) {
      files.push(`${task.handle.dir}/${segmentName(stream, segment.start)}`);
      length = segment.start + segment.size - from;
      if (length >= MAX_READ_BYTES) break;
    }
    const range = {
      key: task.key,
      stream,
      files,
      offset: from - segments[at]!.start,
      length: Math.min(MAX_READ_BYTES, length),
    };
    return { from, dropped, range };
  }

  // Ships fetched bytes, after a note where the spool dropped output before it was fetched; a
  // trailing partial UTF-8 character waits for the next round unless it is the end of a stream
  // that will not grow (the task and its spooler have ended and the read reached its end). Once
  // a failed spool's stream is all shipped, its line follows.
  private async ship(
    task: Followed,
    fetched: Partial<Record<'stdout' | 'stderr', Buffer>> | undefined,
    status: PolledStatus,
    plans: ReadonlyMap<string, ReadPlan>,
  ): Promise<boolean> {
    const chunks: OutputChunk[] = [];
    const next = { ...task.offsets };
    const lost = { ...task.lost };
    const complete = this.isComplete(task, status);
    for (const stream of ['stdout', 'stderr'] as const) {
      const plan = plans.get(`${task.key} ${stream}`);
      let bytes = fetched?.[stream];
      if (plan?.range && !bytes) continue;
      let dropped = plan?.dropped ?? 0;
      if (plan) next[stream] = plan.from;
      // Kept output that starts inside a character: its first bytes go with the dropped ones.
      let skip = 0;
      while (bytes && dropped > 0 && skip < Math.min(3, bytes.length) && (bytes[skip]! & 0xc0) === 0x80) skip++;
      if (bytes && skip > 0) bytes = bytes.subarray(skip);
      dropped += skip;
      next[stream] += skip;
      if (dropped > 0) chunks.push({ stream: 'system', text: spoolDropNote(dropped, this.hostName) });
      if (bytes && bytes.length > 0) {
        const end = streamEnd(status, stream);
        const final = complete && next[stream] + bytes.length === end;
        const usable = final ? bytes.length : completeUtf8Length(bytes);
        if (usable > 0) {
          chunks.push({ stream, text: bytes.subarray(0, usable) });
          next[stream] += usable;
        }
      }
      const ended = status.ends[stream];
      if (complete && ended?.kind === 'failed' && !lost[stream] && next[stream] >= streamEnd(status, stream)) {
        lost[stream] = true;
        chunks.push({ stream: 'system', text: `${spoolFailureLine(stream, this.hostName, ended.reason)}\n` });
      }
    }
    if (chunks.length === 0) return false;
    const checkpoint: Record<string, string> = { stdout: String(next.stdout), stderr: String(next.stderr) };
    for (const stream of ['stdout', 'stderr'] as const) if (lost[stream]) checkpoint[`${stream}_lost`] = '1';
    await task.log.append(chunks, checkpoint);
    task.offsets = next;
    task.lost = lost;
    return true;
  }

  // The remote's name in the log's notes.
  private get hostName(): string {
    return this.config.host ?? this.config.name;
  }

  // The task has ended and its spoolers too (or had SPOOL_DRAIN_MS to): its output will not grow.
  private isComplete(task: Followed, status: PolledStatus): boolean {
    const ended = status.exitCode !== undefined || (task.handle.pid !== undefined && !this.isAlive(task, status));
    if (!ended) return false;
    task.exitSeenAt ??= Date.now();
    const spooled = !status.spooled || (status.ends.stdout !== undefined && status.ends.stderr !== undefined);
    return spooled || Date.now() - task.exitSeenAt >= SPOOL_DRAIN_MS;
  }

  // The line for the record when a spool failed: the first stream whose failure the log notes.
  private failureLine(task: Followed, status: PolledStatus): string | undefined {
    const stream = (['stdout', 'stderr'] as const).find((s) => task.lost[s]);
    if (!stream) return undefined;
    const end = status.ends[stream];
    return spoolFailureLine(stream, this.hostName, end?.kind === 'failed' ? end.reason : '');
  }

  // Ends a task whose output is all shipped, and drives a requested stop (TERM, grace, KILL).
  private async settle(task: Followed, status: PolledStatus): Promise<boolean> {
    const pending =
      (['stdout', 'stderr'] as const).some((s) => streamEnd(status, s) > task.offsets[s]) ||
      (['stdout', 'stderr'] as const).some((s) => status.ends[s]?.kind === 'failed' && !task.lost[s]);
    const stopping = task.stopping;
    // A stopped task is done only when nothing of its process group is left: members that ignore
    // TERM get KILL after the grace period, also when the wrapper itself has already exited.
    if (stopping?.termSent && status.groupAlive && task.handle.pid !== undefined) {
      if (!stopping.killSent && Date.now() >= (stopping.killAt ?? 0)) {
        // The group still has members, so its id cannot have been reused: no start-time check.
        await this.connection.run(signalScript(task.handle.pid, undefined, 'KILL'));
        stopping.killSent = true;
      }
      return true;
    }
    if (status.exitCode !== undefined) {
      if (pending || !this.isComplete(task, status)) return true;
      const error = this.failureLine(task, status);
      task.resolve(
        withEnd(
          {
            ...resultFromExitCode(status.exitCode),
            ...(stopping?.termSent ? { stopped: true } : {}),
            ...(error ? { error } : {}),
          },
          task.endedAt,
        ),
      );
      return true;
    }
    if (status.missing) {
      const error = `the task directory ${task.handle.dir} vanished on ${this.config.host}`;
      await task.log.append([{ stream: 'system', text: `${error}\n` }]);
      task.resolve({ outcome: 'lost', exitCode: null, signal: null, error });
      return true;
    }
    if (task.handle.pid === undefined) {
      // Its wrapper has not written the pid file yet (a slow host); lost only after a long wait.
      if (Date.now() - (task.noPidSince ?? Date.now()) < PID_FILE_DEADLINE_MS) return false;
      const error = `the task never recorded its pid in ${task.handle.dir} (its start failed half-way)`;
      await task.log.append([{ stream: 'system', text: `${error}\n` }]);
      task.resolve({ outcome: 'lost', exitCode: null, signal: null, error });
      return true;
    }
    if (!this.isAlive(task, status)) {
      // The wrapper writes the exit file before it exits: give it one more round, then drain.
      if (pending || ++task.goneSeen < 2) return true;
      if (stopping?.killSent) {
        task.resolve({ outcome: 'failed', exitCode: null, signal: 'SIGKILL', stopped: true });
        return true;
      }
      const error =
        'the task process vanished without recording an exit code (killed from outside, or the host restarted)';
      await task.log.append([{ stream: 'system', text: `${error}\n` }]);
      task.resolve({ outcome: 'lost', exitCode: null, signal: null, error });
      return true;
    }
    if (!stopping) return false;
    if (!stopping.termSent) {
      const sent = await this.connection.run(signalScript(task.handle.pid, task.handle.startTime, 'TERM'));
      stopping.termSent = sent.stdout.toString('utf8').includes('SENT');
      stopping.killAt = Date.now() + stopping.request.graceMs;
      if (stopping.termSent && stopping.waitNoted) {
        const text = `ssh host ${this.hostName} is back: sent SIGTERM for the stop (${stopping.request.reason})\n`;
        await task.log.append([{ stream: 'system', text }]);
      }
    } else if (!stopping.killSent && Date.now() >= (stopping.killAt ?? 0)) {
      await this.connection.run(signalScript(task.handle.pid, task.handle.startTime, 'KILL'));
      stopping.killSent = true;
    }
    return true;
  }

  // Alive: the pid runs and is the process that started the task (a recycled pid is not).
  private isAlive(task: Followed, status: PolledStatus): boolean {
    if (task.handle.pid === undefined) return false;
    const now = status.startTime ?? '';
    if (now === '') return false;
    return task.handle.startTime === undefined || task.handle.startTime === '' || now === task.handle.startTime;
  }
}

/** What a round fetches of one stream, and where its offset moves when the spool dropped output. */
interface ReadPlan {
  /** The offset the fetched bytes begin at. */
  from: number;
  /** Bytes the spool dropped between the task's offset and `from`. */
  dropped: number;
  range?: ReadRange;
}

// The offset just past a stream's newest spooled byte.
function streamEnd(status: PolledStatus, stream: SpoolStream): number {
  const last = status.segments[stream].at(-1);
  return last ? last.start + last.size : 0;
}

// Trips `task.stopping` when the task is to be killed or timed out; returns the unsubscribe.
function watchStop(stop: StopSwitch, task: Followed, tripped: () => void): () => void {
  return stop.onTrip((request) => {
    task.stopping ??= { request, termSent: false, killSent: false };
    tripped();
  });
}
