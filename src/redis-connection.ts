import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnreachableError } from './errors.js';

/** True for errors that mean the connection to Redis went away mid-command. */
export function isRedisConnectionError(error: unknown): boolean {
  return error instanceof Error && /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|max retries per request/i.test(error.message);
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `REDIS_URL`, then the config's `redis.url`, then the default address. */
export function resolveRedisUrl(configured?: string): string {
  return process.env.REDIS_URL || configured || DEFAULT_REDIS_URL;
}

/** The URL with any password replaced, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export interface ConnectOptions {
  /**
   * Long-lived connections (workers, followers) retry forever and queue commands while
   * reconnecting; short-lived ones (one CLI command) fail fast.
   * @default false
   */
  persistent?: boolean;
  /** Give up connecting after this long. @default 2500 */
  connectTimeoutMs?: number;
}

/** Opens a connection and waits until it is ready, failing with one clear line if Redis is not there. */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const persistent = options.persistent ?? false;
  const timeoutMs = options.connectTimeoutMs ?? 2500;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // BullMQ workers need null here so blocking commands survive reconnects.
    maxRetriesPerRequest: persistent ? null : 1,
    enableOfflineQueue: true,
    retryStrategy: persistent ? (times) => Math.min(times * 200, 2000) : () => null,
  };
  const redis = new Redis(url, redisOptions);
  let lastError: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
        // A refused connection fails at once; a persistent client keeps retrying until the timeout.
        redis.on('error', (error: unknown) => {
          lastError = error;
          if (!persistent) reject(error instanceof Error ? error : new Error(String(error)));
        });
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    const reason = describeConnectError(lastError ?? error);
    throw new RedisUnreachableError(
      `cannot reach Redis at ${redactRedisUrl(url)} (${reason}) — start redis-server there or point REDIS_URL at a running Redis`,
      error,
    );
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

function describeConnectError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof Error) return error.message;
  return String(error);
}
