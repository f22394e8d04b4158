// Wakes an OpenClaw agent through its gateway's wake hook.
import { escapeControls } from '../text/escape.js';
import { describeFetchError, parseRetryAfter } from './webhook-delivery.js';
import type { OpenClawNotifier } from './notifier-config.js';

// An OpenClaw gateway's wake hook: `POST {url}{hooks_path}/wake` with the hooks token puts a
// system event into the agent's main session (or the session named) and, with `mode: now`, runs
// the agent at once. The gateway trusts the text: it is built from our own fields only.

/** The body of a wake request, as the gateway takes it. */
export interface WakeRequest {
  text: string;
  mode: 'now' | 'next-heartbeat';
  agentId?: string;
  sessionKey?: string;
}

/**
 * What one attempt came to: `delivered` (2xx; `outcome` is the gateway's `eventOutcome`),
 * `retry` (no answer, 408, 429 or 5xx, with its `Retry-After`), or `failed` — an answer no retry
 * can change (a refused token, no hooks at that path, a request it rejects).
 */
export type WakeOutcome =
  | { kind: 'delivered'; status: number; outcome?: string }
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number }
  | { kind: 'failed'; status?: number; error: string };

/** The URL a notifier's wake requests go to. */
export function wakeUrl(notifier: OpenClawNotifier): string {
  return `${notifier.url}${notifier.hooksPath}/wake`;
}

/** Makes one wake request; the token is sent, never logged, and never part of an outcome. */
export async function postWake(notifier: OpenClawNotifier, token: string, body: WakeRequest): Promise<WakeOutcome> {
  let response: Response;
  try {
    response = await fetch(wakeUrl(notifier), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(notifier.timeoutMs),
    });
  } catch (error) {
    return { kind: 'retry', error: describeFetchError(error, notifier.timeoutMs) };
  }
  const answer = await readSmallJson(response);
  const status = response.status;
  if (status >= 200 && status < 300) {
    const outcome = typeof answer?.eventOutcome === 'string' ? answer.eventOutcome.slice(0, 40) : undefined;
    return outcome === undefined ? { kind: 'delivered', status } : { kind: 'delivered', status, outcome };
  }
  const said = typeof answer?.error === 'string' ? `: ${shorten(answer.error)}` : '';
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    const error = `HTTP ${status}${said}`;
    return retryAfterMs === undefined
      ? { kind: 'retry', status, error }
      : { kind: 'retry', status, error, retryAfterMs };
  }
  return { kind: 'failed', status, error: refusal(notifier, status, said) };
}

// Says what a refusal means and what to change.
function refusal(notifier: OpenClawNotifier, status: number, said: string): string {
  if (status === 401 || status === 403) {
    return `the gateway refused the hooks token (HTTP ${status}${said}) — set ${notifier.tokenEnv} in the worker's environment to the gateway's hooks.token`;
  }
  if (status === 404) {
    return `no wake hook at ${wakeUrl(notifier)} (HTTP 404) — check hooks.enabled and hooks.path in the gateway's config against hooks_path here`;
  }
  if (status >= 300 && status < 400)
    return `HTTP ${status}: redirect not followed — set url to the gateway's own address`;
  return `the gateway refused the wake request (HTTP ${status}${said})`;
}

/** Bytes of a gateway's answer read at most: it answers a few dozen. */
const ANSWER_MAX_BYTES = 16_384;

// Reads the gateway's small JSON answer; a longer or other answer is not read on (nor parsed).
async function readSmallJson(response: Response): Promise<Record<string, unknown> | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > ANSWER_MAX_BYTES) return undefined;
    }
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

// One line of what the gateway said, escaped and cut to 160 characters.
function shorten(text: string): string {
  const line = escapeControls(text);
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}
