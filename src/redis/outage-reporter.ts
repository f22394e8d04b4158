// The one place a process decides what to say about Redis being away: every connection, BullMQ
// worker and queue of the process reports its errors here instead of printing them.
import type { EventEmitter } from 'node:events';
import { formatDuration } from '../config/duration.js';
import type { LogSink } from '../text/process-log.js';
import { isRedisConnectionError } from './connection.js';

/** Timers of the reporter, injectable so that a test can move time by hand. */
export interface OutageClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: OutageClock = {
  now: () => Date.now(),
  // A reminder never keeps a stopping process alive.
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** When reminders come, counted from the start of an outage; after the last, every 15 minutes. */
const REMINDERS_MS = [30_000, 60_000, 120_000, 240_000, 480_000, 900_000];

/** How long after the start of an outage reminder `n` (from 0) is due: 30 s, 1 m, 2 m, 4 m, 8 m, 15 m, 30 m, 45 m… */
export function reminderDueMs(n: number): number {
  const last = REMINDERS_MS.length - 1;
  return n <= last ? REMINDERS_MS[n]! : REMINDERS_MS[last]! * (n - last + 1);
}

/** An error that is not about reachability is said once per this long (per source and message). */
const REPEAT_EVERY_MS = 60_000;

/**
 * After Redis is back, connections still reconnecting and commands cut off by the outage may
 * report a little longer: errors of that kind within this long are the outage's echo.
 */
const ECHO_GRACE_MS = 5_000;

const OUTAGE_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED)$/;
const OUTAGE_REPLIES = /^(NOAUTH|WRONGPASS|LOADING|MASTERDOWN)\b/;
const OUTAGE_MESSAGES =
  /Stream isn't writeable|Socket closed unexpectedly|Failed to refresh slots cache|None of startup nodes is available|Connection in subscriber mode/i;

/** True for errors that only say Redis cannot be reached (or not yet used): an outage's echo. */
export function isOutageError(error: unknown): boolean {
  if (isRedisConnectionError(error)) return true;
  const { code, message } = partsOf(error);
  return OUTAGE_CODES.test(code) || OUTAGE_REPLIES.test(message) || OUTAGE_MESSAGES.test(message);
}

// The short cause for the outage's lines: the socket's code, Redis's refusal, or a generic word.
function causeOf(error: unknown): string {
  const { code, message } = partsOf(error);
  if (code !== '') return code;
  return (
    OUTAGE_REPLIES.exec(message)?.[1] ??
    /\b(ECONN[A-Z]+|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND)\b/.exec(message)?.[1] ??
    // The long-lived connections' socketTimeout: no byte from Redis while a command waited.
    (/^Socket timeout\b/.test(message) ? 'socket timeout' : undefined) ??
    'connection lost'
  );
}

function partsOf(error: unknown): { code: string; message: string } {
  const code =
    error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : '';
  return { code, message: error instanceof Error ? error.message : String(error) };
}

/** A Redis URL's address for messages: hosts and ports, never credentials. */
export function redisAddress(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  // Everything up to the last `@` is credentials: a password may hold `@` or `/` itself.
  const address = rest.slice(rest.lastIndexOf('@') + 1).split(/[/?#]/)[0];
  return address || '(no address)';
}

export interface OutageReporterOptions {
  /** The Redis URL the process uses: lines name its address only. */
  url: string;
  log: LogSink;
  /** Other errors' lines carry their stack trace. @default false */
  verbose?: boolean;
  /** @default the system clock */
  clock?: OutageClock;
}

interface Outage {
  since: number;
  cause: string;
  reminders: number;
  timer?: unknown;
}

/**
 * Says one line when Redis becomes unreachable (address, cause, since when), a reminder at growing
 * intervals while it lasts, and one line when it is back. Connection errors in between are the
 * outage's echo and are swallowed; any other error is one line, said again at most once a minute.
 */
export class RedisOutageReporter {
  readonly address: string;
  private readonly log: LogSink;
  private readonly verbose: boolean;
  private readonly clock: OutageClock;
  private outage: Outage | undefined;
  private backAt: number | undefined;
  private closedAt: number | undefined;
  private stopped = false;
  private readonly connections: { status?: unknown; isCluster?: unknown }[] = [];
  private readonly said = new Map<string, { at: number; repeats: number }>();

  constructor(options: OutageReporterOptions) {
    this.address = redisAddress(options.url);
    this.log = options.log;
    this.verbose = options.verbose ?? false;
    this.clock = options.clock ?? systemClock;
  }

  /** When the current outage began (ms since the epoch); undefined while Redis is reachable. */
  get downSince(): number | undefined {
    return this.outage?.since;
  }

  /** Takes a connection's (or a Cluster's) errors and recoveries: every connection of the process. */
  watch(connection: EventEmitter, source = 'redis connection'): void {
    this.connections.push(connection as { status?: unknown; isCluster?: unknown });
    connection.on('error', (error: unknown) => this.report(source, error));
    connection.on('node error', (error: unknown) => this.report(source, error));
    connection.on('close', () => {
      if (this.outage === undefined) this.closedAt ??= this.clock.now();
    });
    connection.on('ready', () => this.reachable());
  }

  /** An `error` listener for a BullMQ worker or queue (or anything else), naming it in its lines. */
  readonly listener = (source: string): ((error: unknown) => void) => {
    return (error) => this.report(source, error);
  };

  /** An error from `source`: an outage's start or echo, or one line of its own. */
  report(source: string, error: unknown): void {
    if (this.stopped) return;
    if (isOutageError(error)) {
      this.unreachable(causeOf(error));
      return;
    }
    this.other(source, error);
  }

  /** Redis answered again (a connection is ready): ends the outage with one line. */
  reachable(): void {
    this.closedAt = undefined;
    const outage = this.outage;
    if (outage === undefined) return;
    this.outage = undefined;
    this.clock.clearTimeout(outage.timer);
    const now = this.clock.now();
    this.backAt = now;
    if (this.stopped) return;
    const downFor = now - outage.since;
    this.log.info(`Redis at ${this.address} is back after ${formatDuration(downFor)}`, {
      event: 'redis_back',
      redis: this.address,
      down_for_ms: downFor,
    });
  }

  /** Says nothing more (the process is shutting down) and drops the reminder timer. */
  stop(): void {
    this.stopped = true;
    if (this.outage) this.clock.clearTimeout(this.outage.timer);
  }

  private unreachable(cause: string): void {
    if (this.outage !== undefined) {
      this.outage.cause = cause;
      return;
    }
    const now = this.clock.now();
    if (this.backAt !== undefined && now - this.backAt < ECHO_GRACE_MS) return;
    // A connection that answers says Redis is there: the error is a command the outage cut off, or
    // a connection of a BullMQ worker still catching up (the liveness check covers one stuck for good).
    // Not a Cluster's: it stays ready while the master of the deployment's slot is gone.
    if (this.connections.some((connection) => connection.status === 'ready' && connection.isCluster !== true)) return;
    const since = this.closedAt ?? now;
    this.closedAt = undefined;
    this.outage = { since, cause, reminders: 0 };
    this.log.error(
      `Redis at ${this.address} is unreachable (${cause}) since ${new Date(since).toISOString()}; retrying in the background`,
      { event: 'redis_down', redis: this.address, code: cause, since: new Date(since).toISOString() },
    );
    this.scheduleReminder(this.outage);
  }

  private scheduleReminder(outage: Outage): void {
    const due = outage.since + reminderDueMs(outage.reminders);
    outage.timer = this.clock.setTimeout(
      () => {
        if (this.outage !== outage || this.stopped) return;
        outage.reminders++;
        const downFor = this.clock.now() - outage.since;
        this.log.warn(
          `Redis at ${this.address} is still unreachable after ${formatDuration(downFor)} (${outage.cause}); retrying in the background`,
          {
            event: 'redis_still_down',
            redis: this.address,
            code: outage.cause,
            since: new Date(outage.since).toISOString(),
            down_for_ms: downFor,
          },
        );
        this.scheduleReminder(outage);
      },
      Math.max(0, due - this.clock.now()),
    );
  }

  // Any other error: one line per source and message, then at most one a minute with a count.
  private other(source: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const key = `${source}\n${message}`;
    const now = this.clock.now();
    const last = this.said.get(key);
    if (last !== undefined && now - last.at < REPEAT_EVERY_MS) {
      last.repeats++;
      return;
    }
    if (this.said.size > 1000) this.said.clear();
    this.said.set(key, { at: now, repeats: 0 });
    const again =
      last && last.repeats > 0 ? ` (${last.repeats} more like it in the last ${formatDuration(now - last.at)})` : '';
    const stack = this.verbose && error instanceof Error ? error.stack : undefined;
    this.log.warn(`${source}: ${message}${again}`, { event: 'error', source, stack });
  }
}
