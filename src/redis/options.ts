// ioredis options from a Redis URL and the config's `redis` section: TLS, Sentinel, Cluster, redaction.
import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';
import { ConfigError } from '../errors.js';

/** The config's `redis` section: what every connection needs besides the URL. */
export type RedisSettings = Config['redis'];

/** A Sentinel-managed Redis: where the Sentinels are and which master group to ask them for. */
export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  master: string;
  username?: string;
  password?: string;
  db?: number;
}

/** A Redis Cluster: some of its nodes to start from (the rest are discovered) and the credentials of all. */
export interface ClusterTarget {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
}

const SENTINEL_SCHEME = /^redis\+sentinel:\/\//i;
const CLUSTER_SCHEME = /^redis\+cluster:\/\//i;
const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
export const DEFAULT_SENTINEL_PASSWORD_ENV = 'OPENCLAW_AGENT_SENTINEL_PASSWORD';

/** True for `redis+sentinel://` URLs. */
export function isSentinelUrl(url: string): boolean {
  return SENTINEL_SCHEME.test(url);
}

/** True for `redis+cluster://` URLs. */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** True when `prefix` has a `{hash tag}`, so that all keys under it land in one Cluster slot. */
export function hasHashTag(prefix: string): boolean {
  return /\{[^{}]+\}/.test(prefix);
}

/**
 * Parses `redis+cluster://[user:password@]host[:port][,host[:port]…]`: the nodes to start from
 * (one that answers is enough) and the credentials every node shares. No database: a Cluster has
 * only database 0.
 */
export function parseClusterUrl(url: string): ClusterTarget {
  const match = /^redis\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/i.exec(url);
  if (!match) throw clusterUrlError(url, 'expected redis+cluster://[user:password@]host:port[,host:port…]');
  const [, auth, hosts = ''] = match;
  const target: ClusterTarget = {
    nodes: hosts.split(',').map((entry) => parseHostPort(url, entry, DEFAULT_REDIS_PORT)),
  };
  Object.assign(target, parseAuth(auth));
  return target;
}

function clusterUrlError(url: string, reason: string): ConfigError {
  return new ConfigError(`invalid Redis Cluster URL ${redactRedisUrl(url)}: ${reason}`);
}

/**
 * The one-line refusal when a Cluster URL comes with a prefix that is no hash tag: BullMQ's
 * scripts and our MULTIs touch many keys at once, which a Cluster allows only within one slot.
 */
export function clusterPrefixProblem(url: string, prefix: string): string | undefined {
  if (!isClusterUrl(url) || hasHashTag(prefix)) return undefined;
  return `redis.prefix "${prefix}" has no {hash tag}, and a Redis Cluster needs one so that every key lands in one slot — set redis.prefix to "{${prefix}}" in the config`;
}

/**
 * Parses `redis+sentinel://[user:password@]host[:port][,host[:port]…]/master[/db]` (the form of
 * the python redis-sentinel-url and Sentry); the credentials are the master's, as in `redis://`.
 */
export function parseSentinelUrl(url: string): SentinelTarget {
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)(?:\/(\d+))?\/?$/i.exec(url);
  if (!match)
    throw sentinelUrlError(url, 'expected redis+sentinel://[user:password@]host:port[,host:port…]/master-name');
  const [, auth, hosts = '', master = '', db] = match;
  const sentinels = hosts.split(',').map((entry) => parseHostPort(url, entry, DEFAULT_SENTINEL_PORT));
  const target: SentinelTarget = { sentinels, master: decodeURIComponent(master), ...parseAuth(auth) };
  if (db !== undefined) target.db = Number(db);
  return target;
}

// One `host[:port]` (IPv6 in brackets) of a Sentinel or Cluster URL's list.
function parseHostPort(url: string, entry: string, defaultPort: number): { host: string; port: number } {
  const hostPort = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  if (!hostPort) {
    const reason = `"${entry}" is not a host or host:port`;
    throw isClusterUrl(url) ? clusterUrlError(url, reason) : sentinelUrlError(url, reason);
  }
  return { host: hostPort[1]!.replace(/^\[|\]$/g, ''), port: hostPort[2] ? Number(hostPort[2]) : defaultPort };
}

// The `user:password` before the `@`, decoded; an empty user name means the default user.
function parseAuth(auth: string | undefined): { username?: string; password?: string } {
  if (auth === undefined) return {};
  const colon = auth.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon));
  return {
    ...(username ? { username } : {}),
    ...(colon === -1 ? {} : { password: decodeURIComponent(auth.slice(colon + 1)) }),
  };
}

function sentinelUrlError(url: string, reason: string): ConfigError {
  return new ConfigError(`invalid Sentinel URL ${redactRedisUrl(url)}: ${reason}`);
}

/** The URL with any password replaced, for messages (also for URL forms `new URL` cannot parse). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^/]*@/i, '$1***@').replace(/\/$/, '');
}

/**
 * What to hand to `new Redis(url, options)` for `url` with the config's settings: TLS files for
 * `rediss://`, Sentinel addresses for `redis+sentinel://` (then no URL). Certificates are always
 * verified.
 */
export function buildRedisOptions(
  url: string,
  settings?: RedisSettings,
): { url: string | undefined; options: RedisOptions } {
  if (isClusterUrl(url)) {
    throw new ConfigError(
      `${redactRedisUrl(url)} is a Redis Cluster: connect to it with connectRedis, not one Redis client`,
    );
  }
  if (isSentinelUrl(url)) {
    const target = parseSentinelUrl(url);
    const passwordEnv = settings?.sentinel_password_env ?? DEFAULT_SENTINEL_PASSWORD_ENV;
    return {
      url: undefined,
      options: {
        sentinels: target.sentinels,
        name: target.master,
        username: target.username,
        password: target.password,
        db: target.db,
        sentinelPassword: process.env[passwordEnv] || undefined,
      },
    };
  }
  if (/^rediss:\/\//i.test(url)) return { url, options: { tls: readTlsFiles(settings?.tls) } };
  return { url, options: {} };
}

// The PEM files of `redis.tls`, read at connect time; a file that went away is a config problem.
function readTlsFiles(tls: RedisSettings['tls']): NonNullable<RedisOptions['tls']> {
  if (!tls) return {};
  const read = (key: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(
        `cannot read redis.tls.${key} ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}) — check the path in the config`,
      );
    }
  };
  return {
    ca: read('ca_file', tls.ca_file),
    cert: read('cert_file', tls.cert_file),
    key: read('key_file', tls.key_file),
    servername: tls.servername,
    rejectUnauthorized: true,
  };
}
