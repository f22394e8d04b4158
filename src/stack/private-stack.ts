// Which Redis a command uses, and the private stack (redis-server and workers in the background)
// that is started when there is none, found by later commands and stopped by `down`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { LoadedConfig } from '../config/config.js';
import { UserFacingError } from '../errors.js';
import { isProcessAlive } from '../executors/process-identity.js';
import { dataDir } from '../config/paths.js';
import { asksForPrivateStack, DEFAULT_REDIS_URL, redactRedisUrl } from '../redis/connection.js';

/**
 * Where the private stack keeps its Redis data, password, state and log: `embedded/` in the data
 * directory, the name earlier versions gave it, so that `down` still finds a stack they started.
 */
export function stackPaths(home: string = dataDir()) {
  const root = path.join(home, 'embedded');
  return {
    root,
    redisDir: path.join(root, 'redis'),
    conf: path.join(root, 'redis.conf'),
    password: path.join(root, 'redis.password'),
    state: path.join(root, 'stack.json'),
    startLock: path.join(root, 'start.lock'),
    log: path.join(root, 'stack.log'),
  };
}

export interface StackState {
  pid: number;
  /** 0 when the stack runs workers only, against a Redis found at the default address. */
  redis_pid: number;
  port: number;
  /** The Redis the workers use when the stack did not start its own. */
  external_url?: string;
  started_at: string;
}

/** How a command reaches Redis: a URL the user gave or found at the default address, or the private stack. */
export type RedisTarget = { kind: 'url'; url: string; defaulted: boolean } | { kind: 'private' };

/**
 * `REDIS_URL`, then the config's `redis.url` (`private` asks for the private stack), then the
 * default address if something listens there, else the private stack.
 */
export async function chooseRedisTarget(
  config: LoadedConfig,
  defaultUrl: string = DEFAULT_REDIS_URL,
): Promise<RedisTarget> {
  const explicit = process.env.REDIS_URL || config.redis.url;
  if (explicit && asksForPrivateStack(explicit)) return { kind: 'private' };
  if (explicit) return { kind: 'url', url: explicit, defaulted: false };
  return (await isListening(defaultUrl)) ? { kind: 'url', url: defaultUrl, defaulted: true } : { kind: 'private' };
}

// A TCP connect that answers within 500 ms; no Redis command is sent.
function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379), timeout: 500 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The URL of a running private stack, or undefined when none answers. */
export async function runningStackUrl(home?: string): Promise<string | undefined> {
  const paths = stackPaths(home);
  const state = await readState(paths.state);
  if (!state || !isAlive(state.pid)) return undefined;
  if (state.external_url) return state.external_url;
  const password = (await readFile(paths.password, 'utf8').catch(() => '')).trim();
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${state.port}`;
  return (await ping(url)) ? url : undefined;
}

async function readState(file: string): Promise<StackState | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

const isAlive = isProcessAlive;

async function ping(url: string): Promise<boolean> {
  return (await askRedis(url, async (redis) => (await redis.ping()) === 'PONG')) ?? false;
}

/**
 * Connects to `url` and asks `question`: undefined when the connection or the question failed,
 * or once `giveUp` settles first (a server that accepts and says nothing would hold the
 * question without end). The connection is closed either way.
 */
async function askRedis<T>(
  url: string,
  question: (redis: Redis) => Promise<T>,
  giveUp?: Promise<unknown>,
): Promise<T | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    const answer = (async () => {
      await redis.connect();
      return question(redis);
    })().catch(() => undefined);
    return await (giveUp ? Promise.race([answer, giveUp.then(() => undefined)]) : answer);
  } finally {
    redis.disconnect();
  }
}

const NO_REDIS_SERVER =
  'no Redis to use: nothing listens at 127.0.0.1:6379 and no redis-server binary was found to start a private one — install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL';

/** The redis-server binary: OPENCLAW_AGENT_REDIS_SERVER, else PATH or the usual sbin directories. */
export function findRedisServer(): string {
  const chosen = process.env.OPENCLAW_AGENT_REDIS_SERVER;
  if (chosen) {
    if (existsSync(chosen)) return chosen;
    throw new UserFacingError(
      'REDIS_UNREACHABLE',
      `${NO_REDIS_SERVER} (OPENCLAW_AGENT_REDIS_SERVER=${chosen} does not exist)`,
    );
  }
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/bin',
    '/opt/homebrew/bin',
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'redis-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new UserFacingError('REDIS_UNREACHABLE', NO_REDIS_SERVER);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface StartedRedis {
  url: string;
  port: number;
  child: ChildProcess;
  /** Saves the AOF and stops redis-server. */
  stop(): Promise<void>;
}

/**
 * Redis settings that make small tasks cheap: a record hash stays a compact listpack with values
 * (paths, commands) up to 1 KiB, where the default (64 bytes) turns most records into a hash table
 * three times the size; and a stream node starts small, where the default preallocates 4 KiB even
 * for a log of one line. Recommended for any Redis the tool uses (docs/configuration.md).
 */
export const MEMORY_SETTINGS: readonly (readonly [string, string])[] = [
  ['hash-max-listpack-value', '1024'],
  ['stream-node-max-bytes', '1024'],
];

/** How many ports a private Redis tries before it gives up. */
const PORT_TRIES = 3;

/**
 * Starts the private redis-server: 127.0.0.1 on a free port, a generated password kept in a 0600
 * file, AOF on (fsync every second), no eviction. Its config file (0600) holds the password, so
 * it never shows in `ps`. `choosePort` picks each try's port (tests hand it a taken one).
 */
export async function startPrivateRedis(home?: string, choosePort = freePort): Promise<StartedRedis> {
  const binary = findRedisServer();
  const paths = stackPaths(home);
  await mkdir(paths.redisDir, { recursive: true, mode: 0o700 });
  let password = (await readFile(paths.password, 'utf8').catch(() => '')).trim();
  if (!password) {
    password = randomBytes(24).toString('hex');
    await writeFile(paths.password, `${password}\n`, { mode: 0o600 });
  }
  // A port found free may be handed to another process before redis-server binds it: then it
  // says so in its log and exits, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    const port = await choosePort();
    const started = await launchPrivateRedis(binary, paths, port, password);
    if (started) return started;
    const log = await readFile(path.join(paths.root, 'redis.log'), 'utf8').catch(() => '');
    if (
      attempt === PORT_TRIES ||
      !new RegExp(`Failed listening on port ${port} \\(tcp\\), aborting\\.\\s*$`, 'i').test(log)
    ) {
      throw new UserFacingError(
        'REDIS_UNREACHABLE',
        `the private redis-server did not start; see ${path.join(paths.root, 'redis.log')}`,
      );
    }
  }
}

// Starts redis-server on `port` and waits until it answers: undefined when it exited, or did not
// answer in the tries of the first 10 s (it is killed). A try waits while Redis loads its AOF.
async function launchPrivateRedis(
  binary: string,
  paths: ReturnType<typeof stackPaths>,
  port: number,
  password: string,
): Promise<StartedRedis | undefined> {
  const conf = [
    `port ${port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    `requirepass ${password}`,
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    'maxmemory-policy noeviction',
    ...MEMORY_SETTINGS.map(([name, value]) => `${name} ${value}`),
    `dir ${paths.redisDir}`,
    `logfile ${path.join(paths.root, 'redis.log')}`,
    'daemonize no',
  ].join('\n');
  await writeFile(paths.conf, `${conf}\n`, { mode: 0o600 });
  const child = spawn(binary, [paths.conf], { stdio: 'ignore' });
  const url = `redis://:${password}@127.0.0.1:${port}`;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  // Ours when the server that answers is this child: before it has failed its bind another server
  // on the port may answer (a Redis without a password takes any AUTH), and after, only another.
  const ours = (redis: Redis) => redis.info('server').then((info) => /^process_id:(\d+)\r?$/m.exec(info)?.[1]);
  const deadline = Date.now() + 10_000;
  while ((await askRedis(url, ours, exit)) !== String(child.pid)) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    port,
    child,
    async stop() {
      // Gone already (an exit code, or a signal such as the OOM killer's): its 'exit' has fired.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Records the running stack so that other commands find it and `down` can stop it. */
export async function writeStackState(state: StackState, home?: string): Promise<void> {
  const paths = stackPaths(home);
  // A stack of workers only (`up --redis-url`) may be the first thing to use this data dir.
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await writeFile(paths.state, JSON.stringify(state), { mode: 0o600 });
}

export async function removeStackState(home?: string): Promise<void> {
  await rm(stackPaths(home).state, { force: true });
}

/**
 * Starts `openclaw-agent up` in the background (its own session, output to the stack log) and
 * resolves with the Redis URL once the stack answers.
 */
export async function startPrivateStack(
  cliEntry: string,
  options: { home?: string; externalRedis?: string; configPath?: string } = {},
): Promise<string> {
  const { home, externalRedis, configPath } = options;
  if (!externalRedis) findRedisServer();
  const paths = stackPaths(home);
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  const out = openSync(paths.log, 'a');
  // The workers serve the executors of the config the starting command read, not the default one.
  const args = [
    cliEntry,
    'up',
    '--background',
    ...(externalRedis ? ['--redis-url', externalRedis] : []),
    ...(configPath ? ['--config', path.resolve(configPath)] : []),
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: process.env });
  child.unref();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = await runningStackUrl(home);
    if (url) return url;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new UserFacingError('REDIS_UNREACHABLE', `the private stack did not start; see ${paths.log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops the private stack; says what it stopped, or undefined when none was running. */
export async function stopPrivateStack(home?: string): Promise<'redis-and-workers' | 'workers' | undefined> {
  const paths = stackPaths(home);
  const state = await readState(paths.state);
  if (!state || !isAlive(state.pid)) {
    await removeStackState(home);
    return undefined;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  const redisAlive = () => state.redis_pid > 0 && isAlive(state.redis_pid);
  while (isAlive(state.pid) || redisAlive()) {
    if (Date.now() > deadline) {
      if (isAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
      if (redisAlive()) process.kill(state.redis_pid, 'SIGKILL');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await removeStackState(home);
  return state.redis_pid > 0 ? 'redis-and-workers' : 'workers';
}

/** A start lock older than this belongs to a command that died while starting the stack. */
const STALE_START_LOCK_MS = 60_000;

/**
 * Starts the private stack unless another command is starting it right now (an O_EXCL lock
 * file): then waits for that one instead, so two first commands at once share one stack.
 */
async function startStackOnce(
  cliEntry: string,
  externalRedis?: string,
  configPath?: string,
): Promise<{ url: string; started: boolean }> {
  const paths = stackPaths();
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 45_000;
  for (;;) {
    const running = await runningStackUrl();
    if (running) return { url: running, started: false };
    let lock: Awaited<ReturnType<typeof open>> | undefined;
    try {
      lock = await open(paths.startLock, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (lock) {
      try {
        await lock.writeFile(String(process.pid));
        return { url: await startPrivateStack(cliEntry, { externalRedis, configPath }), started: true };
      } finally {
        await lock.close();
        await rm(paths.startLock, { force: true });
      }
    }
    const age = await stat(paths.startLock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_START_LOCK_MS) await rm(paths.startLock, { force: true });
    if (Date.now() > deadline)
      throw new UserFacingError(
        'REDIS_UNREACHABLE',
        `another command is still starting the private stack; see ${paths.log}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The Redis a command would use, for a command that only reads: undefined when that is the
 * private stack and none runs. It never starts one (`resolveCommandRedis` does).
 */
export async function findCommandRedis(config: LoadedConfig): Promise<string | undefined> {
  const target = await chooseRedisTarget(config);
  return target.kind === 'url' ? target.url : runningStackUrl();
}

/**
 * The Redis a command should use. With no REDIS_URL, no configured URL and nothing at the default
 * address it starts the private stack (Redis and workers) in the background, saying so in one
 * line, or joins the one already running. `defaulted` means Redis was found at the default
 * address without being asked for: then `ensureWorkers` makes sure something runs the tasks.
 */
export async function resolveCommandRedis(
  config: LoadedConfig,
  cliEntry: string,
  say: (line: string) => void,
): Promise<{ url: string; defaulted: boolean }> {
  const target = await chooseRedisTarget(config);
  if (target.kind === 'url') return { url: target.url, defaulted: target.defaulted };
  const { url, started } = await startStackOnce(cliEntry, undefined, config.sourcePath);
  if (started)
    say(
      `openclaw-agent: started a private Redis and workers in the background (data in ${stackPaths().root}; stop them with \`openclaw-agent down\`)`,
    );
  return { url, defaulted: false };
}

/**
 * For a Redis found at the default address: when no worker consumes any local executor's queue
 * and no private stack runs, starts the workers in the background (without a Redis of their own).
 */
export async function ensureWorkers(
  url: string,
  countWorkers: () => Promise<number>,
  cliEntry: string,
  say: (line: string) => void,
  configPath?: string,
): Promise<void> {
  if ((await runningStackUrl()) || (await countWorkers()) > 0) return;
  const { started } = await startStackOnce(cliEntry, url, configPath);
  if (started)
    say(
      `openclaw-agent: started workers in the background for the Redis at ${redactRedisUrl(url)} (stop them with \`openclaw-agent down\`)`,
    );
}
