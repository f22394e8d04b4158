// One webhook POST: how it went, and when to try again.
import { InvalidInputError, describeError } from '../errors.js';
import { maskUrlCredentials } from './http-url.js';

/**
 * What one POST attempt came to. `delivered` (2xx) and `gone` (410: the receiver asks us to stop)
 * are final; `retry` covers everything else — redirects, 429, 5xx, other 4xx, network errors and
 * timeouts — with the HTTP status when there was one and the receiver's `Retry-After` in ms.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number };

export interface DeliverWebhookOptions {
  /**
   * Milliseconds to wait for the response headers before giving up on the attempt.
   * @default 10000
   */
  timeoutMs?: number;
}

/**
 * Delays between attempts, as Svix retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
 * Entry `i` is the wait after attempt `i + 1` failed.
 */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** Attempts in total before giving up: the first one plus one per schedule entry. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_SCHEDULE_MS.length + 1;

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_RETRY_AFTER_MS = 86_400_000;
const JITTER = 0.2;
const HTTP_DATE = /^(mon|tue|wed|thu|fri|sat|sun)/i;

/**
 * Turns a `Retry-After` value (delta-seconds or an HTTP date) into milliseconds from `now`,
 * capped at 24 h. A date in the past gives 0; anything unparseable gives undefined.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  const text = value?.trim() ?? '';
  let ms: number | undefined;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else if (HTTP_DATE.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) ms = Math.max(0, at - now);
  }
  return ms === undefined ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * Makes one POST of `body` to `url` and classifies the answer; it never retries or follows
 * redirects (a redirect could carry the signed payload somewhere the user did not configure).
 * Throws {@link InvalidInputError} only for a URL that is not absolute http(s) or a bad timeout;
 * every failure of the attempt itself is returned as a `retry` outcome.
 */
export async function deliverWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: DeliverWebhookOptions = {},
): Promise<DeliveryOutcome> {
  const target = requireHttpUrl(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidInputError(`Expected \`timeoutMs\` to be a positive number of milliseconds, got \`${timeoutMs}\``);
  }

  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      body,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { kind: 'retry', error: describeFetchError(error, timeoutMs) };
  }
  // The body is never read; cancelling it frees the connection without waiting for a slow sender.
  await response.body?.cancel().catch(() => undefined);
  return classifyResponse(response);
}

// Maps an answered request to an outcome; only 2xx and 410 stop the retries.
function classifyResponse(response: Response): DeliveryOutcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };

  let error = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    error = location
      ? `HTTP ${status}: redirect to ${location} not followed — configure the final URL instead`
      : `HTTP ${status}: redirect without a Location header not followed`;
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return retryAfterMs === undefined ? { kind: 'retry', status, error } : { kind: 'retry', status, error, retryAfterMs };
}

// Says what went wrong before any response: our timeout, or the network error undici hides in `cause`.
export function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `timed out after ${timeoutMs}ms`;
  const cause = error instanceof Error ? error.cause : undefined;
  // undici quotes the URL, which a task of an earlier version may have given with a password.
  return `request failed: ${maskUrlCredentials(describeError(cause ?? error))}`;
}

// Rejects URLs that no retry could ever reach, so they surface as a configuration error at once.
function requireHttpUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new InvalidInputError(`Expected the webhook URL to be an absolute http(s) URL, got \`${url}\``);
  }
  return parsed;
}

/**
 * How long to wait before the next attempt, or undefined when the schedule is exhausted.
 *
 * @param attemptsMade - attempts already made, counting the first (BullMQ's `attemptsMade`):
 *   1 after the first failure, {@link WEBHOOK_MAX_ATTEMPTS} when there is nothing left to try.
 * @param retryAfterMs - the receiver's `Retry-After`; the delay is never shorter than this.
 * @param random - source of jitter in [0, 1), `Math.random` by default; the delay is the
 *   schedule entry ±20%.
 */
export function nextRetryDelayMs(
  attemptsMade: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
  schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS,
): number | undefined {
  if (!Number.isSafeInteger(attemptsMade) || attemptsMade < 1) {
    throw new InvalidInputError(
      `Expected \`attemptsMade\` to be a whole number of at least 1, got \`${attemptsMade}\``,
    );
  }
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return undefined;
  const delay = Math.round(base * (1 + (random() * 2 - 1) * JITTER));
  return retryAfterMs !== undefined && retryAfterMs > delay ? retryAfterMs : delay;
}
