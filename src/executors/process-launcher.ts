import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * The launcher: a small Node process that spawns the detached task processes for a worker. A
 * spawn is a fork of the spawning process, and libuv waits for the child's exec: forking a worker
 * holding ~150 MB costs milliseconds of its only thread per task. The launcher is small and runs
 * beside the worker (on another core), so the worker only writes a line and reads one back.
 * One JSON request per line: {i, f: file, a: args, c: cwd, e: env}; one reply per line:
 * {i, p: pid} or {i, x: error code, m: message}. It exits when its stdin closes (the worker died).
 */
const LAUNCHER_SOURCE = `
const { spawn } = require('node:child_process');
const lines = require('node:readline').createInterface({ input: process.stdin });
const reply = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
lines.on('line', (line) => {
  const r = JSON.parse(line);
  let child;
  try {
    child = spawn(r.f, r.a, { cwd: r.c, env: r.e, detached: true, stdio: 'ignore' });
  } catch (error) {
    reply({ i: r.i, x: error.code || 'ERR', m: error.message });
    return;
  }
  child.once('spawn', () => { reply({ i: r.i, p: child.pid }); child.unref(); });
  child.once('error', (error) => reply({ i: r.i, x: error.code || 'ERR', m: error.message }));
});
lines.on('close', () => process.exit(0));
`;

interface LaunchOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

interface Pending {
  resolve(pid: number): void;
  reject(error: Error): void;
}

type LauncherChild = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Spawns detached processes through the launcher, started on first use and again after it dies.
 * Requests in flight when it dies fail (the task may or may not have started; the caller has
 * recorded the spool directory, so the task is re-attached or reported lost, never run twice).
 */
export class ProcessLauncher {
  private child: LauncherChild | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Starts the launcher now rather than at the first spawn. */
  open(): void {
    this.child ??= this.start();
  }

  /** Resolves with the pid once the process runs; rejects like spawn's 'error' (err.code kept). */
  spawnDetached(file: string, args: readonly string[], options: LaunchOptions): Promise<number> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.ref(child, true);
      child.stdin.write(`${JSON.stringify({ i: id, f: file, a: args, c: options.cwd, e: options.env })}\n`);
    });
  }

  /** Ends the launcher; processes it started keep running (they are in their own sessions). */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): LauncherChild {
    // Its own environment is empty: every request carries the task's.
    const child = spawn(process.execPath, ['-e', LAUNCHER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'], env: {} });
    this.child = child;
    child.stdin.on('error', () => {});
    createInterface({ input: child.stdout }).on('line', (line) => this.settle(line));
    // 'close', not 'exit': replies still in the pipe are read before the pending are failed.
    child.once('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const error = new Error(`the process launcher exited (${signal ?? `code ${code}`})`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    });
    this.ref(child, false);
    return child;
  }

  private settle(line: string): void {
    const reply = JSON.parse(line) as { i: number; p?: number; x?: string; m?: string };
    const waiting = this.pending.get(reply.i);
    if (!waiting) return;
    this.pending.delete(reply.i);
    if (this.pending.size === 0 && this.child) this.ref(this.child, false);
    if (reply.p !== undefined) {
      waiting.resolve(reply.p);
      return;
    }
    waiting.reject(Object.assign(new Error(reply.m ?? 'spawn failed'), { code: reply.x }));
  }

  // An idle launcher must not keep the worker's process alive.
  private ref(child: LauncherChild, on: boolean): void {
    for (const handle of [child, child.stdout, child.stdin] as Array<{ ref(): void; unref(): void }>) {
      if (on) handle.ref();
      else handle.unref();
    }
  }
}
