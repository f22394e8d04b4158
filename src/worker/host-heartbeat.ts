// A host's heartbeat: one short-lived key per host, refreshed by every worker of a local executor
// there, read by workers elsewhere before they touch a local task of that host, and swept for:
// the running local tasks of a host whose heartbeat is gone end lost.
import type { RedisClient } from '../redis/connection.js';
import type { LoadedConfig } from '../config/config.js';
import { appendSystemLine } from '../logs/log-stream.js';
import { silentHostError, type HostHeartbeat } from '../executors/local/local-executor.js';
import { finishTask } from '../tasks/finish.js';
import type { TaskKeys } from '../tasks/keys.js';
import { parseRecordHash, type TaskRecord } from '../tasks/record.js';
import type { TaskRequest } from '../tasks/request.js';
import { settleTaskEnd } from '../tasks/settle.js';
import { readKeptRequest } from '../tasks/store.js';

/**
 * Keeps `hostId`'s heartbeat alive for `ttlMs`: now, every third of it, and the moment the
 * connection is back after an outage. Returns the stop; the key then lapses by itself (other
 * workers of the host may still beat).
 */
export function startHostHeartbeat(redis: RedisClient, keys: TaskKeys, hostId: string, ttlMs: number): () => void {
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
export function hostHeartbeats(connection: () => RedisClient, keys: TaskKeys, ttlMs: number): HostHeartbeat {
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

/** What `endSilentHostTasks` works with: a local worker's connection, config and host. */
export interface SilentHostSweep {
  redis: RedisClient;
  keys: TaskKeys;
  config: LoadedConfig;
  hostId: string;
  heartbeat: HostHeartbeat;
  /** Hosts seen without a heartbeat on the last sweep: gone only when seen so twice. */
  suspects: Set<string>;
  /** Called for each task ended here (completion record, webhooks), as for any end. */
  onEnded?: (record: TaskRecord, request: TaskRequest) => Promise<void>;
}

/**
 * Ends `lost`, at once, the running local tasks (`activeIds`, the executor's active jobs) of other
 * hosts whose heartbeat is gone on two sweeps in a row: without this their jobs would wait for the
 * dead workers' locks to lapse (`worker.lock_duration`) first. The jobs settle when next taken.
 * Returns the ids ended.
 */
export async function endSilentHostTasks(sweep: SilentHostSweep, activeIds: readonly string[]): Promise<string[]> {
  const { redis, keys } = sweep;
  const byHost = new Map<string, string[]>();
  // One round trip for all of them, not one per task: this runs every third of the heartbeat TTL.
  const reads = activeIds.length === 0 ? [] : await hostsAndOutcomes(redis, keys, activeIds);
  activeIds.forEach((id, i) => {
    const [host, outcome] = reads[i] ?? [];
    if (!host || host === sweep.hostId || outcome) return;
    byHost.set(host, [...(byHost.get(host) ?? []), id]);
  });
  const ended: string[] = [];
  for (const [host, ids] of byHost) {
    if (await sweep.heartbeat.alive(host)) {
      sweep.suspects.delete(host);
      continue;
    }
    if (!sweep.suspects.has(host)) {
      sweep.suspects.add(host);
      continue;
    }
    const error = silentHostError(host, sweep.hostId, sweep.heartbeat.ttlMs);
    for (const id of ids) if (await endLost(sweep, id, error)) ended.push(id);
  }
  for (const host of sweep.suspects) if (!byHost.has(host)) sweep.suspects.delete(host);
  return ended;
}

// Each task's recorded host and outcome, in the order of `ids` (a pipeline; a failed read reads as none).
async function hostsAndOutcomes(
  redis: RedisClient,
  keys: TaskKeys,
  ids: readonly string[],
): Promise<(readonly (string | null)[])[]> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.record(id), 'h:host', 'outcome');
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => (error ? [] : (value as (string | null)[])));
}

// Ends one task lost with `error` in its log, announced like any end; false when it had ended.
async function endLost(sweep: SilentHostSweep, taskId: string, error: string): Promise<boolean> {
  const { redis, keys, config } = sweep;
  const record = parseRecordHash(await redis.hgetall(keys.record(taskId)));
  if (record === undefined || record.outcome !== undefined) return false;
  const request = await readKeptRequest(redis, keys, taskId);
  await appendSystemLine(redis, keys, taskId, error, config.logs.max_entries);
  const { ended, hash, hasDependents } = await finishTask(
    redis,
    keys,
    taskId,
    { outcome: 'lost', exitCode: null, signal: null, error, finishedAt: Date.now() },
    {
      retentionMs: config.retention,
      maxLogEntries: config.logs.max_entries,
      announce: request && { config, record, request },
    },
  );
  if (!ended) return false;
  const latest = parseRecordHash(hash);
  if (hasDependents || latest?.concurrency !== undefined) await settleTaskEnd({ redis, keys, config }, taskId, latest);
  if (latest && request) await sweep.onEnded?.(latest, request).catch(() => undefined);
  return true;
}
