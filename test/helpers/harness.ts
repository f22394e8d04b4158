import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { loadConfig, readLog, TaskClient, TaskKeys, toTaskJson, type LoadedConfig } from '../../src/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'dist/cli/bin.cjs');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
export const FAKE_CLAUDE = path.join(FIXTURES, 'fake-claude.mjs');

/** What one CLI invocation did. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A CLI process the test reads while it runs. */
export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Settles once it has exited and its output is closed. */
  result: Promise<CliResult>;
}

export interface Harness {
  dir: string;
  home: string;
  prefix: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
  config(): LoadedConfig;
  client(): Promise<TaskClient>;
  /**
   * A task's record as `status ID --json` prints it, read by a client in this process: for a test
   * that polls a task's state, where a CLI process per look costs ~0.4 s of CPU on this VM.
   */
  taskJson(id: string): Promise<Record<string, unknown>>;
  cli(args: string[], options?: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  startWorker(executor?: string, extraEnv?: NodeJS.ProcessEnv, extraArgs?: string[]): Promise<ChildProcess>;
  /**
   * The CLI started and left running, its output read as it comes; stopped by `cleanup` if still
   * up. `ownGroup`: as the leader of a process group of its own, as a shell starts a foreground job.
   */
  spawnCli(args: string[], env?: NodeJS.ProcessEnv, options?: { ownGroup?: boolean }): RunningCli;
  redis(): Redis;
  /** A task's stdout as shipped into its log, and how many end markers the log has. */
  logText(id: string): Promise<{ stdout: string; ends: number }>;
  cleanup(): Promise<void>;
}

/**
 * A private world for one test file: a temp directory, a config with a unique Redis prefix and
 * fast stall detection, and helpers to run the real CLI binary and real worker processes.
 * `cleanup` stops workers, kills any task process left behind, and deletes the prefix's keys.
 */
export function createHarness(
  options: {
    /** YAML added at the end of the config; a function gets the harness directory first. */
    extraConfig?: string | ((dir: string) => string);
    /** YAML list items added to `executors:`; a function gets the harness directory first. */
    extraExecutors?: string | ((dir: string) => string);
    explicitRedis?: boolean;
    /** More lines for the config's `worker:` section, each indented two spaces. */
    workerConfig?: string;
  } = {},
): Harness {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-test-'));
  const extraConfig =
    typeof options.extraConfig === 'function' ? options.extraConfig(dir) : (options.extraConfig ?? '');
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    `executors:
  - name: local
    type: local
    claude_path: ${FAKE_CLAUDE}
    labels: [quick, rust]
${typeof options.extraExecutors === 'function' ? options.extraExecutors(dir) : (options.extraExecutors ?? '')}
redis:
  prefix: ${prefix}
worker:
  lock_duration: 2s
  stalled_interval: 1s
${options.workerConfig ?? ''}
${extraConfig}`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_AGENT_HOME: home,
    OPENCLAW_AGENT_CONFIG: configPath,
    HOME: home,
  };
  // Naming the Redis keeps the CLI from starting background workers of its own (the private
  // stack's workers for a Redis found at the default address); the private-stack suite opts out.
  if (options.explicitRedis === false) delete env.REDIS_URL;
  else env.REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const workers: ChildProcess[] = [];
  const clients: TaskClient[] = [];
  const connections: Redis[] = [];
  let reader: Promise<TaskClient> | undefined;

  return {
    dir,
    home,
    prefix,
    configPath,
    env,
    config: () => loadConfig(configPath),
    async client() {
      const client = await TaskClient.connect(loadConfig(configPath));
      clients.push(client);
      return client;
    },
    async taskJson(id) {
      // A failed connect is not kept: the next call tries again.
      reader ??= TaskClient.connect(loadConfig(configPath)).then(
        (client) => {
          clients.push(client);
          return client;
        },
        (error: unknown) => {
          reader = undefined;
          throw error;
        },
      );
      return toTaskJson(await (await reader).get(id));
    },
    async cli(args, options = {}) {
      const r = await execa('node', [BIN, ...args], {
        env: { ...env, ...options.env },
        extendEnv: false,
        cwd: options.cwd ?? dir,
        input: options.input,
        reject: false,
        stripFinalNewline: false,
      });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async startWorker(executor = 'local', extraEnv = {}, extraArgs = []) {
      const child = spawn('node', [BIN, 'worker', '--executor', executor, ...extraArgs], {
        env: { ...env, ...extraEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      workers.push(child);
      await untilReady(child, 'worker', 'ready');
      return child;
    },
    spawnCli(args, extraEnv = {}, options = {}) {
      const child = spawn('node', [BIN, ...args], {
        env: { ...env, ...extraEnv },
        cwd: dir,
        detached: options.ownGroup === true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      workers.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const result = new Promise<CliResult>((resolve) =>
        child.once('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr })),
      );
      return { child, stdout: () => stdout, stderr: () => stderr, result };
    },
    redis() {
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      connections.push(redis);
      return redis;
    },
    async logText(id) {
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      try {
        const entries = await readLog(redis, new TaskKeys(prefix), id);
        return {
          stdout: entries.map((e) => (e.kind === 'output' && e.stream === 'stdout' ? e.text : '')).join(''),
          ends: entries.filter((e) => e.kind === 'end').length,
        };
      } finally {
        redis.disconnect();
      }
    },
    async cleanup() {
      await Promise.all(workers.map((w) => stopProcess(w)));
      killTaskProcesses(home);
      await Promise.all(clients.map((c) => c.close()));
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      await deleteKeys(redis, `${prefix}:*`);
      redis.disconnect();
      for (const c of connections) c.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `child` has written `marker` on stderr; rejects, with what it wrote, if it exits first. */
export function untilReady(
  child: ChildProcessByStdio<null, null, Readable>,
  what: string,
  marker: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(marker)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${what} exited early (${code}): ${seen}`)));
  });
}

export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  killAfterMs = 5000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

// Any task still running under this home's spool directories is killed with its whole group.
function killTaskProcesses(home: string): void {
  const root = path.join(home, 'tasks');
  let ids: string[] = [];
  try {
    ids = readdirSync(root);
  } catch {
    return;
  }
  for (const id of ids) {
    // An ended task's pid may belong to someone else by now.
    if (existsSync(path.join(root, id, 'exit'))) continue;
    try {
      const pid = Number(readFileSync(path.join(root, id, 'pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Polls `check` until it returns a value other than undefined (no wall-time assertion: a deadline only stops a hung test). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  deadlineMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
