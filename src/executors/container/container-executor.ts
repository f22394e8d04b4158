// The `container` executor: runs each task in a new container on a Docker or podman engine and
// follows it, re-attaching after a worker restart.
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { expandHome, type ExecutorConfig } from '../../config/config.js';
import { UserFacingError } from '../../errors.js';
import {
  DetachedError,
  notLaunched,
  type CleanedUp,
  type CleanupTarget,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  withEnd,
} from '../executor.js';
import { buildTaskCommand, type TaskCommand } from '../task-command.js';
import { describeExit, type ContainerExit } from './container-exit.js';
import {
  removeContainer,
  removeTaskContainers,
  sweepRestingContainers,
  type UnendedTasks,
} from './container-retention.js';
import { carryClaudeSession } from './container-session.js';
import { ContainerSetup, SetupError } from './container-setup.js';
import {
  ATTEMPT_LABEL,
  buildCreateOptions,
  containerLabels,
  containerName,
  labelFilter,
  TASK_LABEL,
} from './container-spec.js';
import { resolveEngineAddress } from './engine-address.js';
import {
  attachContainer,
  connectEngine,
  engineMessage,
  isNameConflict,
  isNotFound,
  readContainerLog,
  statusOf,
  type Engine,
} from './engine-client.js';
import { FrameDemuxer } from './engine-frames.js';
import { LogReplay, OutputCursor } from './output-cursor.js';

/** How long `prepare` waits for the engine's answer to a ping. */
const PING_TIMEOUT_MS = 10_000;
/** After the live stream ends the container is exiting; longer than this means it is still running. */
const EXIT_AFTER_STREAM_MS = 5000;
/** The first interval between log reads while following without a live stream; it grows with the log. */
const LOG_POLL_MS = 250;
const LOG_POLL_MAX_MS = 5000;
/** States of a container that was created but never started (`configured` is podman's). */
const NOT_STARTED = new Set(['created', 'configured']);
/** The first delay before another try at stopping a container the engine failed to stop; it doubles up to the max. */
const STOP_RETRY_MS = 1000;
const STOP_RETRY_MAX_MS = 10_000;

type ContainerInfo = Dockerode.ContainerInspectInfo;

/**
 * Runs each task in a fresh container through the Docker Engine API (Docker, or podman's
 * compatible service), labelled with the task so that any worker finds it again. Output is read
 * live from an attach stream, which carries every byte, and the checkpoint counts bytes per
 * stream. A worker that re-attaches replays the engine's log of the container from that
 * checkpoint and keeps reading it until the container exits: podman 4's followed `logs` drops
 * lines under load, while unfollowed reads are complete.
 */
export class ContainerExecutor implements Executor {
  readonly type = 'container' as const;
  private client: Engine | undefined;
  private readonly where: string;
  private readonly address: ReturnType<typeof resolveEngineAddress>['address'];
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly setup: ContainerSetup;

  /** `unended`: which tasks have not ended, whose containers the sweep keeps. @default none */
  constructor(
    private readonly config: ExecutorConfig,
    private readonly unended?: UnendedTasks,
  ) {
    const resolved = resolveEngineAddress(config);
    this.address = resolved.address;
    this.where = resolved.where;
    this.setup = new ContainerSetup(() => this.engine, this.where, config);
  }

  private get engine(): Engine {
    this.client ??= connectEngine(this.address);
    return this.client;
  }

  /** Checks that the engine answers, then removes old containers now and every so often. */
  async prepare(): Promise<void> {
    try {
      await withTimeout(this.engine.api.ping(), PING_TIMEOUT_MS);
    } catch (error) {
      const socket = this.address.socketPath;
      const start =
        this.config.runtime === 'podman'
          ? `\`podman system service --time=0${socket ? ` unix://${socket}` : ''}\``
          : 'the Docker daemon';
      throw new UserFacingError(
        'EXECUTOR_FAILED',
        `executor "${this.config.name}": no container engine answers at ${this.where} (${engineMessage(error)}) — start ${start}, or point \`socket\` or DOCKER_HOST at the engine`,
      );
    }
    await this.sweep().catch(() => []);
    const every = Math.min(Math.max(this.config.container_retention / 4, 10_000), 600_000);
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => []), every);
    this.sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.client?.close();
    this.client = undefined;
  }

  /** Removes an ended task's containers (and their anonymous volumes) on the engine. */
  async cleanup(task: CleanupTarget): Promise<CleanedUp> {
    return { dirs: [], containers: await removeTaskContainers(this.config, task.taskId) };
  }

  /** Removes containers that ended over `container_retention` ago (sweepRestingContainers); returns their names. */
  sweep(now = Date.now()): Promise<string[]> {
    return sweepRestingContainers(this.engine, this.config.name, this.config.container_retention, now, this.unended);
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    const found = await this.findContainer(ctx);
    if (found === 'vanished') return this.vanished(ctx);
    if (found && !NOT_STARTED.has(found.State.Status)) {
      // Started by an earlier worker: never run it again, follow it.
      if (ctx.record.handle.container !== found.Id) await ctx.markStarted(handleOf(found));
      return this.follow(ctx, found.Id, undefined, hasExited(found));
    }
    try {
      return await this.start(ctx, found);
    } catch (error) {
      if (!(error instanceof SetupError)) throw error;
      await ctx.log.append([
        ...(error.stderr ? [{ stream: 'stderr' as const, text: error.stderr }] : []),
        { stream: 'system', text: `${error.message}\n` },
      ]);
      return { outcome: 'failed', exitCode: error.exitCode, signal: null, error: error.message };
    }
  }

  // The executor's own record of the task is its labelled container: recorded by id, else by label.
  private async findContainer(ctx: ExecutionContext): Promise<ContainerInfo | 'vanished' | undefined> {
    const recorded = ctx.record.handle.container;
    if (recorded) return (await this.inspect(recorded)) ?? 'vanished';
    const labels = containerLabels(ctx.executor.name, ctx.taskId, ctx.attempt);
    const [summary] = await this.engine.api.listContainers({ all: true, filters: labelFilter(labels) });
    return summary ? this.inspect(summary.Id) : undefined;
  }

  // Creates the container (unless a never-started one exists), checks it, carries in the Claude
  // session it resumes, records it, starts it.
  // The record says "launching" (with the container's name) first; a stop that comes before the
  // start removes the never-started container and launches nothing.
  private async start(ctx: ExecutionContext, existing: ContainerInfo | undefined): Promise<ExecutionResult> {
    const command = buildTaskCommand(ctx.request.payload, ctx.executor, ctx.defaults);
    await ctx.markLaunching({ name: containerName(ctx.executor.name, ctx.taskId, ctx.attempt) });
    if (ctx.stop.request) return this.notStarted(existing?.Id);
    const info = existing ?? (await this.create(ctx, command));
    if (!NOT_STARTED.has(info.State.Status)) {
      // Another worker created and started it meanwhile.
      await ctx.markStarted(handleOf(info));
      return this.follow(ctx, info.Id, undefined, hasExited(info));
    }
    try {
      await this.setup.checkBeforeStart(info, command);
    } catch (error) {
      if (error instanceof SetupError) await removeContainer(this.engine, info.Id).catch(() => false);
      throw error;
    }
    const notCarried = await carryClaudeSession(this.engine, info, ctx, (container) => this.setup.homeIn(container));
    // The worker is stopping: the created container waits for the next one, which carries the session then.
    if (ctx.signal.aborted) throw new DetachedError();
    if (notCarried) await ctx.log.append([{ stream: 'system', text: `${notCarried}\n` }]);
    await ctx.markStarted(handleOf(info));
    // Right before the start: a stop requested since the launching mark (read again by the mark).
    if (ctx.stop.request) return this.notStarted(info.Id);
    const { output, input } = await attachContainer(this.engine, info.Id, info.Config.OpenStdin);
    try {
      await this.engine.api.getContainer(info.Id).start();
    } catch (error) {
      output.destroy();
      if (statusOf(error) === undefined) throw error;
      await removeContainer(this.engine, info.Id).catch(() => false);
      throw new SetupError(`the engine could not start the container: ${engineMessage(error)}`);
    }
    // The prompt, then end of input: with StdinOnce the engine closes the task's stdin.
    input?.end(command.stdin ?? '');
    return this.follow(ctx, info.Id, output);
  }

  // A stop came before the container started: it is removed (if it was created), nothing ran.
  private async notStarted(id: string | undefined): Promise<ExecutionResult> {
    if (id !== undefined) await removeContainer(this.engine, id).catch(() => false);
    return notLaunched();
  }

  private async create(ctx: ExecutionContext, command: TaskCommand): Promise<ContainerInfo> {
    const image = await this.setup.ensureImage(ctx.executor.image!, ctx.executor.pull);
    const needsHome = command.argv[0]?.startsWith('~') || command.workdir?.startsWith('~');
    const home = needsHome ? await this.setup.homeOf(image, command) : '/';
    const argv = command.argv.map((word, index) => (index === 0 ? expandHome(word, home) : word));
    const workdir =
      command.workdir === undefined ? undefined : path.posix.resolve('/', expandHome(command.workdir, home));
    const labels = containerLabels(ctx.executor.name, ctx.taskId, ctx.attempt);
    const spec = (fullId: boolean) =>
      buildCreateOptions({
        config: ctx.executor,
        name: containerName(ctx.executor.name, ctx.taskId, ctx.attempt, fullId),
        labels,
        command,
        argv,
        workdir,
      });
    try {
      return await this.createContainer(spec(false));
    } catch (error) {
      if (!isNameConflict(error)) throw error;
    }
    // The name is taken: by this task's container (another worker was quicker), or by another
    // task whose id starts with the same 8 characters.
    const holder = await this.inspect(containerName(ctx.executor.name, ctx.taskId, ctx.attempt));
    const labelsOf = holder?.Config.Labels ?? {};
    if (labelsOf[TASK_LABEL] === ctx.taskId && labelsOf[ATTEMPT_LABEL] === String(ctx.attempt)) return holder!;
    return this.createContainer(spec(true));
  }

  private async createContainer(options: Dockerode.ContainerCreateOptions): Promise<ContainerInfo> {
    let container: Dockerode.Container;
    try {
      container = await this.engine.api.createContainer(options);
    } catch (error) {
      if (isNameConflict(error) || statusOf(error) === undefined) throw error;
      throw new SetupError(`the engine refused to create the container: ${engineMessage(error)}`);
    }
    return container.inspect();
  }

  // Ships output until the container has exited, then reports how it ended: when, by the engine's
  // FinishedAt where it had exited before this worker looked (`exitedBefore`), else by the moment
  // this worker saw it exit.
  private async follow(
    ctx: ExecutionContext,
    id: string,
    live: Readable | undefined,
    exitedBefore = false,
  ): Promise<ExecutionResult> {
    const cursor = new OutputCursor(ctx.record.checkpoint);
    const waker = new Waker();
    let stopping: Promise<boolean> | undefined;
    // Ends the stop's retries: the container has exited, or this follow is over.
    const followed = new AbortController();
    const unsubscribe = ctx.stop.onTrip((request) => {
      stopping ??= this.stopContainer(id, request.graceMs, followed.signal);
    });
    const onAbort = () => {
      live?.destroy();
      waker.wake();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    try {
      let exit: ContainerExit | 'vanished' | undefined;
      if (live) {
        await this.pump(ctx, live, cursor);
        exit = await this.waitForExit(id, EXIT_AFTER_STREAM_MS, ctx.signal);
      }
      // No live stream (a re-attach), or it ended while the container runs on: read the log.
      exit ??= await this.replayLog(ctx, id, cursor, waker);
      if (exit === 'vanished') return await this.vanished(ctx);
      await ctx.log.append(cursor.flushHeld(), cursor.checkpoint());
      // It has exited: a stop still waiting to try again is over (one under way is awaited).
      followed.abort();
      const stopped = stopping ? await stopping : false;
      const result = describeExit(exit, ctx.executor.memory, stopped);
      return withEnd({ ...result, ...(stopped ? { stopped } : {}) }, exitedBefore ? exit.finishedAt : exit.seenAt);
    } finally {
      followed.abort();
      unsubscribe();
      ctx.signal.removeEventListener('abort', onAbort);
      live?.destroy();
    }
  }

  // The attach stream, frame by frame into the log; each append is awaited before reading on.
  private async pump(ctx: ExecutionContext, live: Readable, cursor: OutputCursor): Promise<void> {
    const demuxer = new FrameDemuxer();
    try {
      for await (const chunk of live) {
        if (ctx.signal.aborted) break;
        const chunks = cursor.takeFrames(demuxer.push(chunk as Buffer));
        if (chunks.length > 0) await ctx.log.append(chunks, cursor.checkpoint());
      }
    } catch (error) {
      // Destroyed on shutdown, or the connection to the engine dropped: decided below and by the caller.
      if (!ctx.signal.aborted && statusOf(error) !== undefined) throw error;
    }
    if (ctx.signal.aborted) throw new DetachedError();
  }

  /**
   * Reads the container's log from the checkpoint until the container has exited (one more read
   * after that), each read starting where the last one stopped.
   */
  private async replayLog(
    ctx: ExecutionContext,
    id: string,
    cursor: OutputCursor,
    waker: Waker,
  ): Promise<ContainerExit | 'vanished'> {
    const replay = new LogReplay(cursor);
    let exit: ContainerExit | 'vanished' | undefined;
    let waitError: Error | undefined;
    const waiting = new AbortController();
    void this.waitForExit(id, undefined, waiting.signal).then(
      (result) => {
        exit = result;
        waker.wake();
      },
      (error: unknown) => {
        waitError = error instanceof Error ? error : new Error(String(error));
        waker.wake();
      },
    );
    let readable = true;
    let interval = LOG_POLL_MS;
    try {
      for (;;) {
        if (ctx.signal.aborted) throw new DetachedError();
        const ended = exit;
        if (waitError !== undefined && !waiting.signal.aborted) throw waitError;
        const began = Date.now();
        if (readable) readable = await this.readLogOnce(ctx, id, replay, cursor);
        if (ended !== undefined) return ended;
        // A long log makes each read longer: read less often.
        interval = Math.min(LOG_POLL_MAX_MS, Math.max(interval, (Date.now() - began) * 4));
        await waker.sleep(interval, ctx.signal);
      }
    } finally {
      waiting.abort();
    }
  }

  // One read of the log from where the replay stands. False when the engine cannot replay logs.
  private async readLogOnce(
    ctx: ExecutionContext,
    id: string,
    replay: LogReplay,
    cursor: OutputCursor,
  ): Promise<boolean> {
    replay.beginRead();
    let stream: Readable;
    try {
      stream = await readContainerLog(this.engine, id, replay.since());
    } catch (error) {
      if (isNotFound(error) || statusOf(error) === undefined) throw error;
      await ctx.log.append([
        {
          stream: 'system',
          text: `the engine cannot replay this container's output (${engineMessage(error)}); only its exit code is collected\n`,
        },
      ]);
      return false;
    }
    const demuxer = new FrameDemuxer();
    try {
      for await (const chunk of stream) {
        if (ctx.signal.aborted) throw new DetachedError();
        const chunks = replay.take(demuxer.push(chunk as Buffer));
        if (chunks.length > 0) await ctx.log.append(chunks, cursor.checkpoint());
      }
    } finally {
      stream.destroy();
    }
    return true;
  }

  /** Waits for the container to stop running; undefined when `timeoutMs` passes first. */
  private async waitForExit(
    id: string,
    timeoutMs?: number,
    signal?: AbortSignal,
  ): Promise<ContainerExit | 'vanished' | undefined> {
    const abort = new AbortController();
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), timeoutMs);
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const container = this.engine.api.getContainer(id);
      const waited = (await container.wait({ abortSignal: abort.signal })) as { StatusCode?: number };
      const seenAt = Date.now();
      const info = await this.inspect(id);
      if (!info) return 'vanished';
      const finishedAt = Date.parse(info.State.FinishedAt);
      return {
        exitCode: info.State.ExitCode ?? waited.StatusCode ?? -1,
        oomKilled: info.State.OOMKilled === true,
        error: info.State.Error ?? '',
        seenAt,
        // Never finished reads as year 1.
        ...(finishedAt > 0 ? { finishedAt } : {}),
      };
    } catch (error) {
      if (abort.signal.aborted) return undefined;
      if (isNotFound(error)) return 'vanished';
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * `docker stop`: the engine sends SIGTERM (through the init to the task), waits the grace period
   * (whole seconds, rounded up), then SIGKILL. True when it stopped a running container. When the
   * engine fails to stop it (the connection dropped, the engine restarting, a 500), tries again
   * after a growing delay until `followed` ends: the container has exited, or the task is no
   * longer followed.
   */
  private async stopContainer(id: string, graceMs: number, followed: AbortSignal): Promise<boolean> {
    let delay = STOP_RETRY_MS;
    for (;;) {
      const stopped = await this.stopOnce(id, graceMs);
      if (stopped !== 'failed') return stopped;
      // Over at once when `followed` ends (before or during the wait).
      if (!(await sleep(delay, true, { signal: followed }).catch(() => false))) return false;
      delay = Math.min(delay * 2, STOP_RETRY_MAX_MS);
    }
  }

  // One try: stop, else SIGKILL. False when it had stopped or is gone; 'failed' when the engine failed both.
  private async stopOnce(id: string, graceMs: number): Promise<boolean | 'failed'> {
    const container = this.engine.api.getContainer(id);
    try {
      await container.stop({ t: Math.ceil(graceMs / 1000) });
      return true;
    } catch (error) {
      // 304: it had stopped by itself; 404: it is gone.
      if (statusOf(error) === 304 || isNotFound(error)) return false;
    }
    try {
      await container.kill({ signal: 'SIGKILL' });
      return true;
    } catch (error) {
      // 409: it is not running (any more).
      const status = statusOf(error);
      return status === 304 || status === 409 || isNotFound(error) ? false : 'failed';
    }
  }

  private async inspect(idOrName: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.engine.api.getContainer(idOrName).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async vanished(ctx: ExecutionContext): Promise<ExecutionResult> {
    const error =
      "the task's container vanished without recording an exit code (removed from outside, or the engine lost it)";
    await ctx.log.append([{ stream: 'system', text: `${error}\n` }]);
    return { outcome: 'lost', exitCode: null, signal: null, error };
  }
}

// Exited already (or dead): it ended before whoever looked at it.
function hasExited(info: ContainerInfo): boolean {
  return info.State.Status === 'exited' || info.State.Status === 'dead';
}

/** What the task record keeps to find the container again. */
function handleOf(info: ContainerInfo): Record<string, string> {
  return { container: info.Id, name: info.Name.replace(/^\//, '') };
}

/** Wakes a sleeping poll loop early (a stop request, shutdown, the container's exit). */
class Waker {
  private pending = false;
  private wakeUp: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.pending = false;
        resolve();
      };
      this.wakeUp = done;
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
