// ioredis options from a Redis URL and the config's `redis` section: TLS, Sentinel, redaction.
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

const SENTINEL_SCHEME = /^redis\+sentinel:\/\//i;
const DEFAULT_SENTINEL_PORT = 26379;
export const DEFAULT_SENTINEL_PASSWORD_ENV = 'OPENCLAW_AGENT_SENTINEL_PASSWORD';

/** True for `redis+sentinel://` URLs. */
export function isSentinelUrl(url: string): boolean {
  return SENTINEL_SCHEME.test(url);
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
  const sentinels = hosts.split(',').map((entry) => {
    const hostPort = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    if (!hostPort) throw sentinelUrlError(url, `"${entry}" is not a host or host:port`);
    return {
      host: hostPort[1]!.replace(/^\[|\]$/g, ''),
      port: hostPort[2] ? Number(hostPort[2]) : DEFAULT_SENTINEL_PORT,
    };
  });
  const target: SentinelTarget = { sentinels, master: decodeURIComponent(master) };
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    const username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon));
    if (username) target.username = username;
    if (colon !== -1) target.password = decodeURIComponent(auth.slice(colon + 1));
  }
  if (db !== undefined) target.db = Number(db);
  return target;
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
