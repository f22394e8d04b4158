import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { testPort } from './ports.js';

/** A private `redis-server` with AOF (`appendfsync everysec`) that a fault test may crash and restart. */
export interface RedisServer {
  port: number;
  url: string;
  /** The data directory (AOF files); the same across restarts. */
  dir: string;
  /** True while a server process is running. */
  readonly running: boolean;
  /** Ends the server at once (SIGKILL: no final fsync, like a crash) or cleanly (SIGTERM). */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): its connections stay open and what is sent to it waits
   * unanswered, as on a hung host. `stop('SIGKILL')` or `resume()` after it.
   */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Bytes its clients sent that the server has not read yet (its sockets' receive queues). */
  unreadBytes(): number;
  /** Starts the server again on the same port and directory and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * More redis-server arguments, e.g. `['--tls-port', '6380', …]` or `['--replicaof', …]`; a
   * function is asked again when a port it chose was taken before the server bound it. @default []
   */
  args?: string[] | (() => Promise<string[]>);
  /** Sets `requirepass` (and `masterauth`, for replicas); the URL then carries it. @default none */
  password?: string;
  /** Addresses to listen on besides 127.0.0.1 (e.g. a bridge that network namespaces reach). @default [] */
  bind?: string[];
}

/** Tries to start a server whose ports another process took between testPort() and its bind. */
const PORT_TRIES = 5;

/** Starts a `redis-server` on a free loopback port (and `bind` addresses) with its own temp directory. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-redis-'));
  let port = 0;
  let url = '';
  let extraArgs: string[] = [];
  let child: ChildProcess | undefined;
  const choosePorts = async () => {
    port = await testPort();
    url = options.password
      ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`
      : `redis://127.0.0.1:${port}`;
    extraArgs = typeof options.args === 'function' ? await options.args() : (options.args ?? []);
  };

  const start = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      ...(options.bind ?? []),
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
    ];
    args.push('--save', '', '--daemonize', 'no', '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'));
    if (options.password) args.push('--requirepass', options.password, '--masterauth', options.password);
    args.push(...extraArgs);
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code) => {
        if (child === started) child = undefined;
        reject(new Error(`redis-server exited (${code}): ${lastLogLine(dir)}`));
      }),
    );
    exited.catch(() => {});
    await Promise.race([waitForPing(url), exited]);
  };

  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(signal);
    await exited;
  };

  // A port testPort() found free may still be taken before this server binds it (by a server
  // started by hand); the port is kept across restarts once the server has run.
  for (let attempt = 1; ; attempt++) {
    await choosePorts();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt === PORT_TRIES || !/Failed listening on port/.test(String(error))) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      // What the failed start wrote (its log, a cluster's nodes.conf) must not follow the new port.
      for (const file of readdirSync(dir)) rmSync(path.join(dir, file), { recursive: true, force: true });
    }
  }
  return {
    port,
    url,
    dir,
    get running() {
      return child !== undefined;
    },
    stop,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    unreadBytes: () => unreadBytes(port),
    start,
    async destroy() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// `ss` lists the server's established connections: the first column is what waits to be read.
function unreadBytes(port: number): number {
  const listed = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return listed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
}

function lastLogLine(dir: string): string {
  try {
    const lines = readFileSync(path.join(dir, 'redis.log'), 'utf8').trimEnd().split('\n');
    return lines.at(-1) || 'no log';
  } catch {
    return 'no log';
  }
}

// A loading AOF answers PING with LOADING, so ready means a real PONG.
async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      if ((await redis.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      redis.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within 10s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends one command to the redis-server on `port` over a connection of its own, closed after. */
export async function redisCommand(
  port: number,
  password: string | undefined,
  args: [string, ...string[]],
): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...args);
  } finally {
    client.disconnect();
  }
}
