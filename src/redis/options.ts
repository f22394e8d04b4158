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
  Object.assign(target, parseAuth(auth, url));
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
  const target: SentinelTarget = {
    sentinels,
    master: decodeUrlPart(url, master, 'master name'),
    ...parseAuth(auth, url),
  };
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
  const port = hostPort[2] === undefined ? defaultPort : Number(hostPort[2]);
  if (!isPort(port)) throw invalidRedisUrl(url, `port ${port} is not a port number (1-65535)`);
  return { host: hostPort[1]!.replace(/^\[|\]$/g, ''), port };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

// The `user:password` before the `@`, decoded; an empty user name means the default user.
// A `%` that starts no escape is refused in the URL's words (it would fail later as "URI malformed").
function parseAuth(auth: string | undefined, url: string): { username?: string; password?: string } {
  if (auth === undefined) return {};
  const colon = auth.indexOf(':');
  const username = decodeUrlPart(url, colon === -1 ? auth : auth.slice(0, colon), 'user name');
  return {
    ...(username ? { username } : {}),
    ...(colon === -1 ? {} : { password: decodeUrlPart(url, auth.slice(colon + 1), 'password') }),
  };
}

// One percent-encoded part of a Redis URL, decoded; a bad escape is a config error that names the
// part, never its text (it may be the password).
function decodeUrlPart(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalidRedisUrl(
      url,
      `its ${what} has a "%" that is not followed by two hex digits`,
      'percent-encode the special characters in it (% as %25, @ as %40, : as %3A, / as %2F)',
    );
  }
}

function sentinelUrlError(url: string, reason: string): ConfigError {
  return new ConfigError(`invalid Sentinel URL ${redactRedisUrl(url)}: ${reason}`);
}

/**
 * The URL with any password replaced, for messages (also for URL forms `new URL` cannot parse):
 * everything from the user name's colon to the last `@`, so that a password with an unencoded
 * `/` or `@` in it is hidden whole.
 */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:).*@/i, '$1***@').replace(/\/$/, '');
}

const KNOWN_SCHEMES = ['redis', 'rediss', 'redis+sentinel', 'redis+cluster'];

/**
 * Refuses, as a config error in one line, a Redis URL that no connection could use: another
 * scheme (`http://`), a port outside 1-65535, a database that is no number, a bad `%` escape in
 * the user name or password, or anything else `new URL` cannot parse. Never shows the password.
 * `redis+sentinel://` and `redis+cluster://` URLs are checked by their own parsers. A bare
 * `host:port` or a Unix socket path (forms ioredis takes) passes.
 */
export function checkRedisUrl(url: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):(?!\d+(?:[/?]|$))/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return;
  if (!KNOWN_SCHEMES.includes(scheme))
    throw invalidRedisUrl(
      url,
      `"${scheme}:" is not a Redis scheme`,
      'use redis://[user:password@]host:port[/db], rediss:// for TLS, redis+sentinel:// or redis+cluster://',
    );
  if (scheme === 'redis+sentinel') return void parseSentinelUrl(url);
  if (scheme === 'redis+cluster') return void parseClusterUrl(url);
  // As `new URL` does, the last `@` ends the user name and password (one in the query is not).
  const rest = url.slice(`${scheme}:`.length);
  const query = rest.indexOf('?');
  const at = (query === -1 ? rest : rest.slice(0, query)).lastIndexOf('@');
  const auth = at === -1 ? undefined : rest.slice(2, at);
  if (!rest.startsWith('//') || /[/?#]/.test(auth ?? ''))
    throw invalidRedisUrl(
      url,
      rest.startsWith('//')
        ? 'its user name or password has a "/", "?" or "#" that is not percent-encoded'
        : 'no "//" after the scheme',
      `write it as ${scheme}://[user:password@]host:port[/db], percent-encoding special characters in the password (/ as %2F, ? as %3F, # as %23, % as %25)`,
    );
  const parts = /^(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?(\/[^?#]*)?/.exec(rest.slice(at === -1 ? 2 : at + 1))!;
  const [, host, port, db] = parts;
  if (host!.startsWith('[') && !host!.endsWith(']'))
    throw invalidRedisUrl(url, 'its IPv6 address has no closing "]"', 'write it as redis://[::1]:6379');
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && isPort(Number(port))))
    throw invalidRedisUrl(url, `port "${port}" is not a port number (1-65535)`);
  if (db !== undefined && db !== '/' && !/^\/\d+$/.test(db))
    throw invalidRedisUrl(
      url,
      `"${db.slice(1)}" after host:port is no database number`,
      'the path is the database index, as in redis://host:6379/0',
    );
  parseAuth(auth, url);
  try {
    new URL(url);
  } catch {
    throw invalidRedisUrl(
      url,
      'it is not a valid URL',
      `write it as ${scheme}://[user:password@]host:port[/db], percent-encoding special characters in the password`,
    );
  }
}

function invalidRedisUrl(
  url: string,
  reason: string,
  fix = 'correct it in REDIS_URL, redis.url or --redis-url',
): ConfigError {
  const shown = isSentinelUrl(url) ? 'Sentinel URL' : isClusterUrl(url) ? 'Redis Cluster URL' : 'Redis URL';
  return new ConfigError(`invalid ${shown} ${redactRedisUrl(url)}: ${reason} — ${fix}`);
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
  checkRedisUrl(url);
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
