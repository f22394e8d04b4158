// Connecting to Redis: which URL, waiting until it is ready, one-line errors that say what to do.
import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnreachableError } from '../errors.js';
import {
  buildRedisOptions,
  DEFAULT_SENTINEL_PASSWORD_ENV,
  isSentinelUrl,
  redactRedisUrl,
  type RedisSettings,
} from './options.js';

export { redactRedisUrl } from './options.js';

/** True for errors that mean the connection to Redis went away mid-command. */
export function isRedisConnectionError(error: unknown): boolean {
  return (
    error instanceof Error &&
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|max retries per request|All sentinels are unreachable/i.test(
      error.message,
    )
  );
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `REDIS_URL`, then the config's `redis.url`, then the default address. */
export function resolveRedisUrl(configured?: string): string {
  return process.env.REDIS_URL || configured || DEFAULT_REDIS_URL;
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
  /** The config's `redis` section: TLS files and the Sentinels' password env. @default none: system CAs, no client certificate */
  settings?: RedisSettings;
}

/**
 * Opens a connection and waits until it is ready, failing with one clear line if Redis is not
 * there or refuses us. `rediss://` URLs use `redis.tls`; `redis+sentinel://` URLs ask the Sentinels
 * for the master. Connections made from it with `duplicate()` inherit all of that.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const persistent = options.persistent ?? false;
  const timeoutMs = options.connectTimeoutMs ?? 2500;
  const target = buildRedisOptions(url, options.settings);
  const redisOptions: RedisOptions = {
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // BullMQ workers need null here so blocking commands survive reconnects.
    maxRetriesPerRequest: persistent ? null : 1,
    enableOfflineQueue: true,
    retryStrategy: persistent ? (times) => Math.min(times * 200, 2000) : () => null,
    // A long-lived connection that gets no byte for 20 s while a command waits is dead (its TCP
    // state dropped on the way): start it anew. Blocking reads here wait at most 10 s (BullMQ's cap).
    socketTimeout: persistent ? 20_000 : undefined,
    // While a failover is under way the Sentinels may all be briefly unreachable or still name the old master.
    sentinelRetryStrategy: persistent ? (times) => Math.min(times * 200, 2000) : () => null,
  };
  const redis = target.url === undefined ? new Redis(redisOptions) : new Redis(target.url, redisOptions);
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
          if (!persistent || isRefusal(error)) reject(error instanceof Error ? error : new Error(String(error)));
        });
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    const passwordEnv = options.settings?.sentinel_password_env ?? DEFAULT_SENTINEL_PASSWORD_ENV;
    throw new RedisUnreachableError(explainConnectError(url, lastError ?? error, passwordEnv), error);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

const CERT_NOT_TRUSTED =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/;

// Errors that retrying cannot fix: bad credentials or a certificate problem.
function isRefusal(error: unknown): boolean {
  const { code, message } = errorParts(error);
  return /^(WRONGPASS|NOAUTH)/.test(message) || CERT_NOT_TRUSTED.test(code) || /^(ERR_TLS_|CERT_|ERR_SSL_)/.test(code);
}

// One line naming the cause and what to do; never the password.
function explainConnectError(url: string, error: unknown, sentinelPasswordEnv: string): string {
  const where = redactRedisUrl(url);
  const { code, message } = errorParts(error);
  if (/^WRONGPASS/.test(message)) {
    const user = userOf(url);
    return `Redis refused the credentials of ${user ? `user "${user}"` : 'the default user'} at ${where} (WRONGPASS) — check the user name and password in REDIS_URL or redis.url`;
  }
  if (/^NOAUTH/.test(message)) {
    return `Redis at ${where} requires a password (NOAUTH) — give it in the URL: redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user`;
  }
  if (CERT_NOT_TRUSTED.test(code)) {
    return `cannot reach Redis at ${where}: its TLS certificate is not trusted (${code}) — set redis.tls.ca_file to the CA that signed the server's certificate`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `cannot reach Redis at ${where}: its TLS certificate is for another host name (${code}) — connect by a name the certificate lists, or set redis.tls.servername to one`;
  }
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code)) {
    return `cannot reach Redis at ${where}: the server wants a client certificate (${code}) — set redis.tls.cert_file and redis.tls.key_file`;
  }
  if (/^ERR_TLS_|^ERR_SSL_|^CERT_/.test(code)) {
    return `cannot reach Redis at ${where}: the TLS handshake failed (${code}) — check redis.tls and the server's TLS settings`;
  }
  const reason = code || message;
  if (/^rediss:/i.test(url) && /ETIMEDOUT|no answer within/.test(reason)) {
    return `cannot reach Redis at ${where} (no TLS handshake: ${reason}) — use redis:// if that port is plain Redis, or the server's tls-port`;
  }
  if (/^redis:/i.test(url) && reason === 'ECONNRESET') {
    return `cannot reach Redis at ${where} (the server closed the connection: ECONNRESET) — use rediss:// if that port speaks TLS`;
  }
  if (isSentinelUrl(url)) {
    const last = /Last error: (.*)$/s.exec(message)?.[1]?.split('\n')[0] ?? reason;
    return `cannot reach Redis through the Sentinels at ${where} (no Sentinel named a master: ${last}) — check the Sentinel addresses and the master name in the URL, and $${sentinelPasswordEnv} if the Sentinels need a password`;
  }
  return `cannot reach Redis at ${where} (${reason}) — start redis-server there or point REDIS_URL at a running Redis`;
}

function errorParts(error: unknown): { code: string; message: string } {
  const code =
    error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : '';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message };
}

// The ACL user named in the URL's `user:password@`, if any.
function userOf(url: string): string | undefined {
  const user = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1]?.split(':')[0];
  return user ? decodeURIComponent(user) : undefined;
}
