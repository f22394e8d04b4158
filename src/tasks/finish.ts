// Ending a task: one atomic step that records its end and queues the announcement of it.
import type { RedisClient } from '../redis/connection.js';
import type { LoadedConfig } from '../config/config.js';
import { END_TAG, type EndMarker } from '../logs/log-stream.js';
import { buildOutboxEntry, isAnnounced } from '../notify/outbox-entry.js';
import { LuaScript } from '../redis/lua-script.js';
import type { TaskKeys } from './keys.js';
import { parseRecordHash, type TaskRecord } from './record.js';
import { describePayload, type TaskRequest } from './request.js';
import { taskSigningKey, verifyTaskRequest } from './signing.js';
import type { EndedStatus } from './status.js';

/**
 * Ends a task exactly once: sets `finished_at` only if unset, and in the same atomic step writes
 * the outcome, appends the end marker to the log, starts the retention clock on both keys and,
 * when webhooks are due, puts the completion into the outbox (so a worker that dies right after
 * this step cannot lose the webhook: any worker relays the outbox into the callbacks queue), and
 * announces the task id on the ended channel for `wait`.
 * Returns whether this call ended it (false: an earlier one had), the record hash after it, and
 * whether tasks wait for it (`--after`), so that most ends need no settling round trip.
 */
const FINISH_SCRIPT = new LuaScript(`
if redis.call('HSETNX', KEYS[1], 'finished_at', ARGV[1]) == 0 then return {0, redis.call('HGETALL', KEYS[1])} end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 't', ARGV[3], 'd', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[6]) end
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {1, redis.call('HGETALL', KEYS[1]), redis.call('EXISTS', KEYS[4])}
`);

export interface TaskEnd {
  outcome: EndedStatus;
  exitCode: number | null;
  signal: string | null;
  error?: string;
  finishedAt: number;
}

/** What the end of a task is announced with: the task as known when it ended. */
export interface TaskAnnouncement {
  config: LoadedConfig;
  record: TaskRecord;
  request: TaskRequest;
  /**
   * Refused as unsigned: announced to the deployment's own webhook and notifiers only. Left out,
   * it is checked here: with a signing key, a request that does not verify (read back from Redis
   * by a cancel or a lost task's sweep) is announced as refused too, never signed as its own.
   */
  refused?: boolean;
}

/**
 * Ends a task (see FINISH_SCRIPT). With `announce`, its webhooks and notifiers go into the outbox
 * in the same step, built from the record as it is now (start time, pid, attempt), not as it was
 * when the caller read it.
 */
export async function finishTask(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  end: TaskEnd,
  options: { retentionMs: number; maxLogEntries: number; announce?: TaskAnnouncement },
): Promise<{ ended: boolean; hash: Record<string, string>; hasDependents: boolean }> {
  const outboxEntry = options.announce ? await outboxEntryOf(redis, keys, taskId, end, options.announce) : undefined;
  // updated_at is when the record changed: now, though the task may have ended earlier (seen late).
  const fields: string[] = ['outcome', end.outcome, 'updated_at', String(Math.max(Date.now(), end.finishedAt))];
  if (end.exitCode !== null) fields.push('exit_code', String(end.exitCode));
  if (end.signal) fields.push('signal', end.signal);
  if (end.error) fields.push('error', end.error);
  const marker: EndMarker = {
    status: end.outcome,
    exit_code: end.exitCode,
    signal: end.signal,
    error: end.error ?? null,
  };
  const ttlSeconds = Math.max(1, Math.ceil(options.retentionMs / 1000));
  const reply = (await FINISH_SCRIPT.run(
    redis,
    [keys.record(taskId), keys.log(taskId), keys.outbox(), keys.dependents(taskId)],
    [
      String(end.finishedAt),
      String(options.maxLogEntries),
      END_TAG,
      JSON.stringify(marker),
      String(ttlSeconds),
      outboxEntry ?? '',
      keys.endedChannel(),
      taskId,
      ...fields,
    ],
  )) as [number, string[], number?];
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < reply[1].length; i += 2) hash[reply[1][i]!] = reply[1][i + 1]!;
  return { ended: reply[0] === 1, hash, hasDependents: reply[2] === 1 };
}

// The outbox entry of the ending task, or undefined when no webhook and no notifier is to hear of it.
async function outboxEntryOf(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  end: TaskEnd,
  known: TaskAnnouncement,
): Promise<string | undefined> {
  const { config, request } = known;
  const key = taskSigningKey(config);
  const refused = known.refused ?? (key !== undefined && !verifyTaskRequest(key, taskId, request, request.signature));
  if (!isAnnounced(refused ? { notify: config.defaults.notify } : request, config)) return undefined;
  const current = parseRecordHash(await redis.hgetall(keys.record(taskId))) ?? known.record;
  const ended = {
    ...current,
    ...end,
    ...announcedIdentity(config, taskId, request, refused),
    signal: end.signal ?? undefined,
    exitCode: end.exitCode ?? undefined,
  };
  return buildOutboxEntry(config, ended, request, { refused });
}

/**
 * What an announcement calls the task: from its request (verified where signing is on), never from
 * the record hash, which anyone who can write into Redis can change while the task runs — the
 * record gives only times, pid and cost. A refused request's executor is named only when this
 * deployment has one by that name (its name and command are left out further on).
 */
function announcedIdentity(
  config: LoadedConfig,
  taskId: string,
  request: TaskRequest,
  refused: boolean,
): Pick<TaskRecord, 'id' | 'name' | 'summary' | 'taskType' | 'executor'> {
  const known = !refused || config.executors.some((executor) => executor.name === request.executor);
  return {
    id: taskId,
    name: request.name,
    summary: describePayload(request.payload),
    taskType: request.payload.type,
    executor: known ? request.executor : UNKNOWN_EXECUTOR,
  };
}

const UNKNOWN_EXECUTOR = 'an executor this deployment does not have';
