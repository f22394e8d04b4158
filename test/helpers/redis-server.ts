import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/stack/private-stack.js';

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
  /** Starts the server again on the same port and directory and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /** More redis-server arguments, e.g. `['--tls-port', '6380', …]` or `['--replicaof', …]`. @default [] */
  args?: string[];
  /** Sets `requirepass` (and `masterauth`, for replicas); the URL then carries it. @default none */
  password?: string;
  /** Addresses to listen on besides 127.0.0.1 (e.g. a bridge that network namespaces reach). @default [] */
  bind?: string[];
}

/** Starts a `redis-server` on a free loopback port (and `bind` addresses) with its own temp directory. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-redis-'));
  const port = await freePort();
  const url = options.password
    ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`
    : `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

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
    args.push(...(options.args ?? []));
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}); see ${dir}/redis.log`))),
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

  await start();
  return {
    port,
    url,
    dir,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
