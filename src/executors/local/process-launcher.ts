// The helper process that starts the local executor's task wrappers, so that the worker does not
// fork itself for every task.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { isSameProcessAlive, readProcessStartTime } from '../process-identity.js';
import { WAITING_WRAPPER, type WrapperSpec } from '../shell/task-wrapper.js';

/** Wrappers kept started ahead of their task. One covers a task at a time; a burst starts the rest. */
const WAITING_WRAPPERS = 1;
/**
 * How long after handing out a waiting wrapper its successor is started: the fork must not
 * compete for a CPU with the start of the task just handed out.
 */
const REFILL_DELAY_MS = 10;
/**
 * The longest wait before a waiting wrapper that died unused (killed, or a shell that cannot
 * start) is replaced: the wait doubles from REFILL_DELAY_MS with each such death in a row.
 */
const REPLACE_DELAY_MS = 1000;

/**
 * The launcher: a small Node process that starts the wrappers of a worker's tasks. Usage:
 * `node -e LAUNCHER_SOURCE` with a pipe for stdin and an IPC channel, over which it takes
 * LauncherRequest messages and sends LauncherMessage ones.
 * - Why a process of its own: a spawn is a fork of the spawning process, and libuv waits for the
 *   child's exec, so forking the worker, with all its memory, costs its only thread time on every
 *   task. The launcher is small and runs beside the worker (on another core).
 * - It keeps a wrapper started ahead of time (detached: its own session) and hands the write end
 *   of that wrapper's stdin to the worker over the IPC channel. The worker writes a task's
 *   handoff there itself, so no process start-up and no hop through the launcher lies between a
 *   task's dispatch and its command.
 * - With none waiting (a burst), the worker asks the launcher to start a wrapper and give it the
 *   handoff.
 * - Messages to it: `{env}` (the wrappers' environment) first, `{used: pid}` when the worker took
 *   a waiting wrapper, `{i, s: handoff}` to start one for a spec.
 * - From it: `{ready: pid}` with the wrapper's stdin, `{gone: pid}` when a waiting wrapper died,
 *   `{i, p: pid}` or `{i, x: error code, m: message}`.
 * - It exits when its own stdin ends: the worker closed it, or died (not on the channel's end:
 *   Node holds that back while a handed-over stdin awaits the worker's acknowledgement, which a
 *   dead worker never sends).
 * - Its waiting wrappers end with it (no write end of their stdin is left).
 */
const LAUNCHER_SOURCE = `
const { spawn } = require('node:child_process');
const WRAPPER = ${JSON.stringify(WAITING_WRAPPER)};
const waiting = new Set();
let env;
let refill;
let deaths = 0;
const refillLater = () => {
  refill ??= setTimeout(topUp, Math.min(${REFILL_DELAY_MS} * 2 ** deaths, ${REPLACE_DELAY_MS}));
};
const startWrapper = () => {
  // In '/', so that no waiting wrapper keeps a directory busy; the spec changes to the workdir.
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'openclaw-task'], { cwd: '/', env, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => {});
  child.on('error', () => {});
  return child;
};
const topUp = () => {
  refill = undefined;
  while (process.connected && waiting.size < ${WAITING_WRAPPERS}) {
    const child = startWrapper();
    if (child.pid === undefined) {
      deaths++;
      refillLater();
      return;
    }
    const pid = child.pid;
    waiting.add(pid);
    child.once('exit', () => {
      if (!waiting.delete(pid) || !process.connected) return;
      process.send({ gone: pid });
      deaths++;
      refillLater();
    });
    // Handed over: the worker holds the only write end, so the wrapper ends when the worker does.
    process.send({ ready: pid }, child.stdin);
  }
};
const fail = (r, error) => process.send({ i: r.i, x: error.code || 'ERR', m: error.message });
const start = (r) => {
  let child;
  try {
    child = startWrapper();
  } catch (error) {
    fail(r, error);
    return;
  }
  if (child.pid === undefined) {
    child.once('error', (error) => fail(r, error));
    return;
  }
  // Settled when the line is written, not when the stream ends: a short task may be over by then.
  child.stdin.write(r.s, (error) => (error ? fail(r, error) : process.send({ i: r.i, p: child.pid })));
  child.stdin.end();
};
process.on('message', (r) => {
  if (r.env) {
    env = r.env;
    topUp();
  } else if (r.used) {
    waiting.delete(r.used);
    deaths = 0;
    refillLater();
  } else {
    start(r);
  }
});
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
process.on('disconnect', () => process.exit(0));
// Node reports a channel closed from both ends as an error; either way the launcher is done.
process.on('error', () => process.exit(0));
`;

interface Pending {
  resolve(pid: number): void;
  reject(error: Error): void;
}

interface WaitingWrapper {
  pid: number;
  startTime?: string;
  stdin: Socket;
}

/** How a task's wrapper was found: a waiting one's pid is known at once. */
export interface WrapperStart {
  /** The pid of the waiting wrapper that took the task; undefined when one is being started. */
  pid?: number;
  /** Its process start time, read when it began to wait. */
  startTime?: string;
  /** Resolves with the pid of the wrapper that has the spec; rejects like spawn's 'error' (err.code kept). */
  started: Promise<number>;
}

/** What the worker sends the launcher over the IPC channel (LAUNCHER_SOURCE reads it). */
type LauncherRequest =
  /** The wrappers' environment; sent first. */
  | { env: NodeJS.ProcessEnv }
  /** The worker took the waiting wrapper with this pid. */
  | { used: number }
  /** Start a wrapper and give it handoff `s`; answered with request `i`'s pid or error. */
  | { i: number; s: string };

/** What the launcher sends the worker over the IPC channel. */
type LauncherMessage =
  /** A wrapper with this pid waits for a task; the write end of its stdin comes as the handle. */
  | { ready: number }
  /** The waiting wrapper with this pid died unused. */
  | { gone: number }
  /** Request `i`: the pid of the wrapper that has its spec. */
  | { i: number; p: number }
  /** Request `i` failed: spawn's error code (`ERR` without one) and message. */
  | { i: number; p?: undefined; x: string; m: string };

/**
 * Starts task wrappers through the launcher, which is started on first use and again after it
 * dies. Requests in flight when it dies fail (the task may or may not have started; the caller has
 * recorded the spool directory, so the task is re-attached or reported lost, never run twice).
 */
export class ProcessLauncher {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: WaitingWrapper[] = [];
  private nextId = 1;

  /** @param env The wrappers' environment; each spec adds the task's own variables. */
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /**
   * Starts the launcher now rather than at the first task; resolves once a wrapper waits for a
   * task (or after `timeoutMs`, or when the launcher could not start one: tasks then say why).
   */
  open(timeoutMs = 5000): Promise<void> {
    const child = (this.child ??= this.start());
    if (this.waiting.length > 0) return Promise.resolve();
    // Referenced meanwhile: a worker awaiting this at start-up has nothing else keeping it up.
    this.ref(child, true);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', done);
        child.off('exit', done);
        if (this.pending.size === 0) this.ref(child, false);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      child.on('message', done);
      child.once('exit', done);
    });
  }

  /**
   * Gives a task's spec (`wrapperSpec`) to a waiting wrapper, or to one started for it when
   * none waits (or the one that waited has died): writes the spec file of a long one, then the
   * handoff. Throws (before any handoff) when that file cannot be written or the launcher cannot
   * be spawned.
   */
  startWrapper(spec: WrapperSpec): WrapperStart {
    const child = this.child ?? this.start();
    if (spec.file) writeFileSync(spec.file.path, spec.file.script, { mode: 0o600 });
    const handoff = spec.handoff;
    let ready = this.waiting.shift();
    // One killed from outside before the launcher said so: its forked shell would run nothing.
    while (ready && !isSameProcessAlive(ready.pid, ready.startTime)) {
      ready.stdin.destroy();
      ready = this.waiting.shift();
    }
    if (!ready) return { started: this.startFresh(child, handoff) };
    const started = new Promise<number>((resolve, reject) => {
      ready.stdin.write(handoff, (error?: Error | null) => {
        if (!error) {
          resolve(ready.pid);
          return;
        }
        // It died while waiting: the task goes to a new one, so it starts all the same.
        this.startFresh(this.child ?? this.start(), handoff).then(resolve, reject);
      });
      ready.stdin.end();
    });
    // Said right after the spec (the write above is made at once): the task has the first of the
    // CPU, and the launcher still knows long before the task can have ended.
    this.send(child, { used: ready.pid });
    return { pid: ready.pid, startTime: ready.startTime, started };
  }

  /**
   * Ends the launcher and the waiting wrappers; tasks already started keep running. The channel
   * stays open until the launcher has gone, so that a wrapper it handed over meanwhile is ended
   * here too rather than left holding on to a stdin nobody writes.
   */
  close(): void {
    this.dropWaiting();
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private startFresh(child: ChildProcess, handoff: string): Promise<number> {
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.ref(child, true);
      this.send(child, { i: id, s: handoff });
    });
  }

  private start(): ChildProcess {
    // Its own environment is empty (NODE_OPTIONS and the like are the tasks' business, not its).
    const child = spawn(process.execPath, ['-e', LAUNCHER_SOURCE], {
      stdio: ['pipe', 'ignore', 'inherit', 'ipc'],
      env: {},
    });
    this.child = child;
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    child.on('message', (message: LauncherMessage, handle?: Socket) => this.receive(child, message, handle));
    child.once('exit', (code, signal) => {
      if (this.child === child) {
        this.child = undefined;
        this.dropWaiting();
      }
      const error = new Error(`the process launcher exited (${signal ?? `code ${code}`})`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    });
    this.send(child, { env: this.env });
    this.ref(child, false);
    return child;
  }

  private receive(child: ChildProcess, message: LauncherMessage, handle: Socket | undefined): void {
    if ('ready' in message) {
      if (!handle) return;
      if (child !== this.child) {
        handle.destroy();
        return;
      }
      handle.unref();
      handle.on('error', () => {});
      this.waiting.push({ pid: message.ready, startTime: readProcessStartTime(message.ready), stdin: handle });
      return;
    }
    if ('gone' in message) {
      const at = this.waiting.findIndex((w) => w.pid === message.gone);
      if (at >= 0) this.waiting.splice(at, 1)[0]!.stdin.destroy();
      return;
    }
    const waiting = this.pending.get(message.i);
    if (!waiting) return;
    this.pending.delete(message.i);
    if (this.pending.size === 0 && this.child) this.ref(this.child, false);
    if (message.p !== undefined) {
      waiting.resolve(message.p);
      return;
    }
    waiting.reject(Object.assign(new Error(message.m ?? 'spawn failed'), { code: message.x }));
  }

  private send(child: ChildProcess, message: LauncherRequest): void {
    if (child.connected) child.send(message, (error) => error && undefined);
  }

  // Closing a waiting wrapper's stdin ends it (it reads end of input, runs nothing).
  private dropWaiting(): void {
    for (const waiting of this.waiting.splice(0)) waiting.stdin.destroy();
  }

  // An idle launcher must not keep the worker's process alive.
  private ref(child: ChildProcess, on: boolean): void {
    const channel = (child as ChildProcess & { channel?: { ref(): void; unref(): void } }).channel;
    const stdin = child.stdin as (Writable & { ref(): void; unref(): void }) | null;
    if (on) {
      child.ref();
      channel?.ref();
      stdin?.ref();
    } else {
      child.unref();
      channel?.unref();
      stdin?.unref();
    }
  }
}
