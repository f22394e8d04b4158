// Jobs a worker hands back, unspent, for a worker on another host whose config has what they need.

/** How long a job is handed back before the worker that holds it gives up on it. */
export const HAND_BACK_LIMIT_MS = 10 * 60_000;

const DELAY_MS = { min: 250, max: 30_000 };

/**
 * When a job handed back is handed out again: a quarter of how long it has waited, between 0.25 s
 * and 30 s — soon while a worker that has what it needs may be just starting, rarely once none has.
 */
export function handBackDelayMs(waitedMs: number): number {
  return Math.min(Math.max(Math.round(waitedMs / 4), DELAY_MS.min), DELAY_MS.max);
}
