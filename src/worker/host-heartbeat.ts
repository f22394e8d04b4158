// A host's heartbeat: one short-lived key per host, refreshed by every worker of a local executor
// there, and read by workers elsewhere before they touch a local task of that host.
import type { Redis } from 'ioredis';
import type { HostHeartbeat } from '../executors/local/local-executor.js';
import type { TaskKeys } from '../tasks/keys.js';

/**
 * Keeps `hostId`'s heartbeat alive for `ttlMs`: now, every third of it, and the moment the
 * connection is back after an outage. Returns the stop; the key then lapses by itself (other
 * workers of the host may still beat).
 */
export function startHostHeartbeat(redis: Redis, keys: TaskKeys, hostId: string, ttlMs: number): () => void {
  const key = keys.hostHeartbeat(hostId);
  const beat = () => void redis.set(key, String(Date.now()), 'PX', ttlMs).catch(() => undefined);
  beat();
  const timer = setInterval(beat, heartbeatPeriod(ttlMs));
  timer.unref();
  redis.on('ready', beat);
  return () => {
    clearInterval(timer);
    redis.off('ready', beat);
  };
}

/**
 * Reads hosts' heartbeats (kept alive by `startHostHeartbeat` for `ttlMs`) on the connection
 * `connection()` returns at each look: a worker connects after it has made its executor.
 */
export function hostHeartbeats(connection: () => Redis, keys: TaskKeys, ttlMs: number): HostHeartbeat {
  return {
    ttlMs,
    periodMs: heartbeatPeriod(ttlMs),
    alive: async (hostId) => (await connection().exists(keys.hostHeartbeat(hostId))) === 1,
  };
}

// A third of the TTL: two beats may be late before the key lapses.
function heartbeatPeriod(ttlMs: number): number {
  return Math.max(50, Math.floor(ttlMs / 3));
}
