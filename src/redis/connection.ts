// Connecting to Redis: which URL, waiting until it is ready, one-line errors that say what to do.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigError, RedisUnreachableError } from '../errors.js';
import {
  buildRedisOptions,
  checkRedisUrl,
  clusterPrefixProblem,
  DEFAULT_SENTINEL_PASSWORD_ENV,
  isClusterUrl,
  isSentinelUrl,
  parseClusterUrl,
  redactRedisUrl,
  type RedisSettings,
} from './options.js';

/**
 * A connection to one Redis (maybe found through Sentinels) or to a Redis Cluster. Both take the
 * same commands; on a Cluster every command of ours names keys of one slot (the hash-tagged prefix).
 */
export type RedisClient = Redis | Cluster;

export { redactRedisUrl } from './options.js';

/** True for errors that mean the connection to Redis went away mid-command. */
export function isRedisConnectionError(error: unknown): boolean {
  return (
    error instanceof Error &&
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|max retries per request|All sentinels are unreachable|Socket timeout/i.test(
      error.message,
    )
  );
}

/**
 * The cause of a connection error in a few words: ioredis's own text for a command cut off by a
 * dropped connection names its options, which tells a user nothing.
 */
export function describeRedisConnectionError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /max retries per request|^Connection is closed/i.test(message) ? 'cut off mid-command' : message;
}

/**
 * A new connection like `redis` (same server, TLS, password) whose commands wait through an
 * outage and are sent again once Redis is back: for a follower's blocking reads on a connection
 * made with `failInFlight`, where a dropped read would end what the follower serves.
 */
export function followerConnection(redis: RedisClient): RedisClient {
  if (redis instanceof Cluster)
    return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, maxRetriesPerRequest: null } });
  return redis.duplicate({ maxRetriesPerRequest: null });
}

/**
 * Destroys the client's sockets (a Cluster's: one per node) without a graceful close, which would
 * wait on a silent peer; ioredis reconnects and sends the unanswered commands again.
 */
export function destroySockets(redis: RedisClient, error: Error): void {
  const connections = redis instanceof Cluster ? redis.nodes() : [redis];
  for (const connection of connections) connection.stream?.destroy(error);
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `REDIS_URL`, then the config's `redis.url`, then the default address. */
export function resolveRedisUrl(configured?: string): string {
  return process.env.REDIS_URL || configured || DEFAULT_REDIS_URL;
}

/** `private` as REDIS_URL or redis.url asks for the private stack (`embedded`: its name in earlier versions). */
export function asksForPrivateStack(url: string): boolean {
  return url === 'private' || url === 'embedded';
}

/** The Redis URL the user named: REDIS_URL, then `configured` (redis.url), unless it asks for the private stack. */
export function namedRedisUrl(configured?: string): string | undefined {
  const named = process.env.REDIS_URL || configured;
  return named && !asksForPrivateStack(named) ? named : undefined;
}

export interface ConnectOptions {
  /**
   * Long-lived connections (workers, followers) retry forever and queue commands while
   * reconnecting; short-lived ones (one CLI command) fail fast.
   * @default false
   */
  persistent?: boolean;
  /**
   * For a long-lived connection that answers callers (the dashboard, `openclaw-agent mcp`): a
   * command already sent when the connection drops fails at once, where a worker's is sent again
   * once Redis is back (BullMQ's blocking reads need that). A call is then never carried out late,
   * after its caller was told to try again. Connections made from it with `duplicate()` inherit it;
   * `followerConnection()` makes one that waits. @default false
   */
  failInFlight?: boolean;
  /** Give up connecting after this long. @default 2500 */
  connectTimeoutMs?: number;
  /**
   * The config's `redis` section: TLS files, the Sentinels' password env, and the prefix (which a
   * Cluster URL needs to be a hash tag). @default none: system CAs, no client certificate
   */
  settings?: RedisSettings;
}

/**
 * Opens a connection and waits until it is ready, failing with one clear line if Redis is not
 * there or refuses us. `rediss://` URLs use `redis.tls`; `redis+sentinel://` URLs ask the Sentinels
 * for the master; `redis+cluster://` URLs open a Cluster client (and need a hash-tagged prefix).
 * Connections made from it with `duplicate()` inherit all of that.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<RedisClient> {
  const persistent = options.persistent ?? false;
  const timeoutMs = options.connectTimeoutMs ?? 2500;
  checkRedisUrl(url);
  const redis = isClusterUrl(url) ? createCluster(url, options) : createRedis(url, options);
  let lastError: unknown;
  let timer: NodeJS.Timeout | undefined;
  let nodeError: unknown;
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
        // A Cluster client's own error says only that no node answered; what the nodes said is the cause.
        redis.on('node error', (error: unknown) => {
          nodeError = error;
          if (isRefusal(error)) reject(error instanceof Error ? error : new Error(String(error)));
        });
      }),
    ]);
  } catch (error) {
    abandon(redis);
    const cause = nodeError ?? lastError ?? error;
    if (/DB index is out of range/i.test(errorParts(cause).message)) {
      throw new ConfigError(
        `Redis at ${redactRedisUrl(url)} has no such database (ERR DB index is out of range) — use a database number below the server's "databases" setting (16 by default) in the URL's path`,
      );
    }
    const passwordEnv = options.settings?.sentinel_password_env ?? DEFAULT_SENTINEL_PASSWORD_ENV;
    throw new RedisUnreachableError(explainConnectError(url, cause, passwordEnv), error);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/**
 * A long-lived connection for a server that answers callers before Redis does (`openclaw-agent
 * mcp` started while Redis is away): it connects, and reconnects, in the background, and until it
 * is ready each command fails as on a dropped connection (with `failInFlight`). URLs and settings
 * as for connectRedis.
 */
export function openRedisInBackground(url: string, options: ConnectOptions = {}): RedisClient {
  checkRedisUrl(url);
  const settings = { ...options, persistent: true };
  const redis = isClusterUrl(url) ? createCluster(url, settings) : createRedis(url, settings);
  // Errors go to the client's `error` listeners (an outage reporter); the retries go on.
  redis.connect().catch(() => {});
  return redis;
}

/**
 * Ends a connection that did not get ready, at once, so that nothing of it keeps the process up
 * after its error line. `disconnect()` alone half-closes the socket and waits ioredis's
 * disconnectTimeout (2 s) for the server's side, which a server that accepted and never answers
 * does not send; the ready check that the close cuts off disconnects once more, with another 2 s
 * timer; and the 20 s socket timeout a persistent connection armed for that check outlives the
 * socket (ioredis 5 clears it only when data comes). The socket is destroyed, the connector's wait
 * made 0 and the socket timeout cleared (the last two are ioredis internals).
 */
function abandon(redis: RedisClient): void {
  type Internals = { connector?: { disconnectTimeout?: number }; socketTimeoutTimer?: NodeJS.Timeout };
  const connections = redis instanceof Cluster ? redis.nodes() : [redis];
  for (const connection of connections) {
    const { connector } = connection as unknown as Internals;
    if (connector) connector.disconnectTimeout = 0;
  }
  redis.disconnect();
  for (const connection of connections) {
    connection.stream?.destroy();
    const internals = connection as unknown as Internals;
    clearTimeout(internals.socketTimeoutTimer);
    internals.socketTimeoutTimer = undefined;
  }
}

// How each connection to a server behaves: long-lived ones (workers, followers) and short-lived
// ones (one CLI command) differ.
function nodeBehaviour(persistent: boolean, timeoutMs: number, failInFlight = false) {
  return {
    connectTimeout: timeoutMs,
    // BullMQ workers need null here so blocking commands survive reconnects; 0 rejects whatever
    // is unanswered (or queued meanwhile) each time the connection closes.
    maxRetriesPerRequest: failInFlight ? 0 : persistent ? null : 1,
    // A long-lived connection that gets no byte for 20 s while a command waits is dead (its TCP
    // state dropped on the way): start it anew. Blocking reads here wait at most 10 s (BullMQ's cap).
    socketTimeout: persistent ? 20_000 : undefined,
  } satisfies RedisOptions;
}

// Long-lived connections retry with a backoff capped at 2 s; short-lived ones give up at once.
function retryDelay(persistent: boolean): (times: number) => number | null {
  return persistent ? (times) => Math.min(times * 200, 2000) : () => null;
}

function createRedis(url: string, options: ConnectOptions): Redis {
  const persistent = options.persistent ?? false;
  const target = buildRedisOptions(url, options.settings);
  const redisOptions: RedisOptions = {
    ...target.options,
    ...nodeBehaviour(persistent, options.connectTimeoutMs ?? 2500, options.failInFlight),
    lazyConnect: true,
    enableOfflineQueue: true,
    retryStrategy: retryDelay(persistent),
    // While a failover is under way the Sentinels may all be briefly unreachable or still name the old master.
    sentinelRetryStrategy: retryDelay(persistent),
  };
  return target.url === undefined ? new Redis(redisOptions) : new Redis(target.url, redisOptions);
}

// A Cluster client: its node connections behave as one connection would; while a replica is being
// promoted it asks the nodes again for the slots' masters, with the same backoff.
function createCluster(url: string, options: ConnectOptions): Cluster {
  const problem = clusterPrefixProblem(url, options.settings?.prefix ?? DEFAULT_PREFIX);
  if (problem) throw new ConfigError(problem);
  const persistent = options.persistent ?? false;
  const timeoutMs = options.connectTimeoutMs ?? 2500;
  const target = parseClusterUrl(url);
  return new Cluster(target.nodes, {
    lazyConnect: true,
    enableOfflineQueue: true,
    clusterRetryStrategy: retryDelay(persistent),
    // ioredis gives a node 1 s to list the slots; a busy host needs the connect timeout's time.
    slotsRefreshTimeout: timeoutMs,
    redisOptions: {
      ...nodeBehaviour(persistent, timeoutMs, options.failInFlight),
      username: target.username,
      password: target.password,
    },
  });
}

// The config's default prefix, for callers that pass no settings.
const DEFAULT_PREFIX = 'openclaw';

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
  if (isClusterUrl(url)) {
    if (/cluster support disabled/i.test(message)) {
      return `Redis at ${where} is not a Redis Cluster (cluster support disabled) — use redis://host:port for a single server`;
    }
    return `cannot reach the Redis Cluster at ${where} (no node answered with the cluster's slots: ${reason}) — check the node addresses in REDIS_URL and that the cluster is up (redis-cli cluster info)`;
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
