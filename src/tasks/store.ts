// Writes to task records: a new task, a run's start, its end, deliveries' states.
import type { RedisClient } from '../redis/connection.js';
import { LIMIT_FIELDS } from '../claude/usage-limit.js';
import { LuaScript } from '../redis/lua-script.js';
import type { TaskEnd } from './finish.js';
import type { TaskKeys } from './keys.js';
import { TaskRequestSchema, type TaskRequest } from './request.js';
import { stopOrEndOf, type StopRequest } from './stop.js';
import {
  handleFields,
  initialRecordFields,
  parseRecordHash,
  type AttemptSummary,
  type ExecutorType,
  type TaskRecord,
} from './record.js';

/**
 * A new task's record, its place in the two indexes and its search entries, in one atomic step;
 * answers whether a worker serves its executor (its serving and last-served keys, see
 * worker-roster.ts), so that dispatch learns it in the same round trip.
 * KEYS: record, by-created index, id index, word list, the executor's serving and served keys,
 * then one set per word; ARGV: id, creation time, the number of field/value words that follow,
 * those, then the words in KEYS' order. Sent whole (EVAL) every time, never by SHA: a NOSCRIPT
 * answer would have it sent again after the queue's job, which must never reach Redis before its
 * record (Redis keeps the compiled script). No transaction object either: ioredis builds one by
 * copying every script the queue defined.
 */
const RECORD_NEW_TASK_SOURCE = `
local id, created, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + n))
redis.call('ZADD', KEYS[2], created, id)
redis.call('ZADD', KEYS[3], 0, id)
for i = 7, #KEYS do
  redis.call('ZADD', KEYS[i], created, id)
  redis.call('ZADD', KEYS[4], 0, ARGV[n + i - 3])
end
return redis.call('MGET', KEYS[5], KEYS[6])
`;

/**
 * Writes a new task's record and index entries (see RECORD_NEW_TASK_SOURCE), and resolves to the
 * MGET of `executor`'s serving and served keys. The command is written to the connection before
 * this returns, so a command sent next on it runs after.
 */
export function recordNewTask(
  redis: RedisClient,
  keys: TaskKeys,
  id: string,
  createdAt: number,
  fields: Readonly<Record<string, string>>,
  search: { wordsKey: string; words: readonly string[]; wordKeys: readonly string[] },
  executor: string,
): Promise<unknown> {
  const pairs = Object.entries(fields).flat();
  const scriptKeys = [
    keys.record(id),
    keys.byCreated(),
    keys.ids(),
    search.wordsKey,
    keys.executorServing(executor),
    keys.executorServed(executor),
    ...search.wordKeys,
  ];
  return redis.eval(
    RECORD_NEW_TASK_SOURCE,
    scriptKeys.length,
    ...scriptKeys,
    id,
    createdAt,
    pairs.length,
    ...pairs,
    ...search.words,
  );
}

/**
 * Claims a new task's first run for a launch ahead (launch-ahead.ts): the launching mark and the
 * handle (the spool directory and host) on its record. Not when the record is missing or has a
 * stop request or an end, when the executor is paused or has tasks waiting (the task would
 * overtake them), or when a worker of another host serves the executor (it could take the job,
 * only to hand it back to this host). Sent whole, like the record's script and right after it,
 * before the job: a worker that takes the job finds the run claimed, on this host.
 * KEYS: record, the queue's meta, wait and prioritized keys, the executor's worker set; ARGV: the
 * time, this host, the prefix of presence keys, then field/value pairs. Returns 1 when claimed.
 */
const CLAIM_LAUNCH_AHEAD_SOURCE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local found = redis.call('HMGET', KEYS[1], 'stop_kind', 'outcome', 'launching_at')
if found[1] or found[2] or found[3] then return 0 end
if redis.call('HEXISTS', KEYS[2], 'paused') == 1 then return 0 end
if redis.call('LLEN', KEYS[3]) > 0 or redis.call('ZCARD', KEYS[4]) > 0 then return 0 end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  local presence = redis.call('GET', ARGV[3] .. worker)
  if presence and cjson.decode(presence).host ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'launching_at', ARGV[1], unpack(ARGV, 4))
return 1
`;

/**
 * Claims the first run of a task just recorded for a launch ahead (see CLAIM_LAUNCH_AHEAD_SOURCE);
 * resolves to whether it was claimed. Written to the connection before this returns.
 */
export function claimLaunchAhead(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  queue: { executor: string; meta: string; wait: string; prioritized: string },
  handle: { dir: string; host: string },
): Promise<boolean> {
  const pairs = Object.entries(handleFields(handle)).flat();
  return redis
    .eval(
      CLAIM_LAUNCH_AHEAD_SOURCE,
      5,
      keys.record(taskId),
      queue.meta,
      queue.wait,
      queue.prioritized,
      keys.executorWorkers(queue.executor),
      String(Date.now()),
      handle.host,
      keys.workerPresence(''),
      ...pairs,
    )
    .then((claimed) => claimed === 1);
}

/**
 * Gives back a launch-ahead claim whose launch did not happen (CLAIM_LAUNCH_AHEAD_SOURCE's
 * mark and handle), so that the task shows as queued until a worker starts it. Only while the
 * claim is as made (the handle's directory, no pid) and the job still waits in the queue: a
 * worker that took the job meanwhile owns the mark. KEYS: record, the queue's wait and
 * prioritized keys; ARGV: the task id, the claimed directory, then the handle's field names.
 */
const RELEASE_LAUNCH_AHEAD_SOURCE = `
local found = redis.call('HMGET', KEYS[1], ARGV[3], 'attempt_started_at')
if found[1] ~= ARGV[2] or found[2] then return 0 end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) and not redis.call('LPOS', KEYS[2], ARGV[1]) then return 0 end
redis.call('HDEL', KEYS[1], 'launching_at', unpack(ARGV, 3))
return 1
`;

/** Gives back the claim of a launch ahead that launched nothing (see RELEASE_LAUNCH_AHEAD_SOURCE). */
export function releaseLaunchAhead(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  queue: { wait: string; prioritized: string },
  handle: { dir: string; host: string },
): Promise<boolean> {
  const fields = Object.keys(handleFields(handle));
  return redis
    .eval(
      RELEASE_LAUNCH_AHEAD_SOURCE,
      3,
      keys.record(taskId),
      queue.wait,
      queue.prioritized,
      taskId,
      handle.dir,
      ...fields,
    )
    .then((released) => released === 1);
}

/** The record as a worker finds it; rebuilt from the job's request when Redis lost it in a crash. */
export async function loadTaskRecord(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  request: TaskRequest,
  executorType: ExecutorType,
): Promise<TaskRecord> {
  const key = keys.record(taskId);
  const existing = parseRecordHash(await redis.hgetall(key));
  if (existing) return existing;
  await redis.hset(key, initialRecordFields(taskId, request, executorType));
  return parseRecordHash(await redis.hgetall(key))!;
}

/** The tasks among `taskIds` whose record has no end yet; a task with no record has ended (or was never made). */
export async function unendedTasks(
  redis: RedisClient,
  keys: TaskKeys,
  taskIds: readonly string[],
): Promise<Set<string>> {
  const rows = await Promise.all(taskIds.map((id) => redis.hmget(keys.record(id), 'created_at', 'finished_at')));
  return new Set(taskIds.filter((_, i) => rows[i]![0] !== null && rows[i]![1] === null));
}

/**
 * Marks a run as launching, before the executor launches anything: `launching_at` and the handle
 * it is about to create (a spool or remote directory, a container name). Nothing is written when
 * a stop request or an end is on the record; either is returned (the fields of
 * STOP_OR_END_FIELDS). One script, so a kill is either seen here or finds the mark.
 */
const MARK_LAUNCHING_SCRIPT = new LuaScript(`
local found = redis.call('HMGET', KEYS[1], 'stop_kind', 'stop_grace_ms', 'stop_reason', 'outcome')
if found[1] or found[4] then return found end
redis.call('HSETNX', KEYS[1], 'launching_at', ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return found
`);

/**
 * Records that a run is about to be launched, with the handle its executor is about to create,
 * unless a stop was requested or the task has ended: then nothing is written and that is
 * returned, and the launch must not happen. A worker that takes the job over after this one died
 * finds the handle, so whatever was launched is re-attached (and stopped), never left running.
 */
export async function markTaskLaunching(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  handle: Record<string, string>,
): Promise<{ request?: StopRequest; outcome?: string }> {
  const args = [String(Date.now())];
  for (const [field, value] of Object.entries(handleFields(handle))) args.push(field, value);
  const found = (await MARK_LAUNCHING_SCRIPT.run(redis, [keys.record(taskId)], args)) as (string | null)[];
  return stopOrEndOf(found);
}

/**
 * Both start times are set once (marking again, after the spawn or on re-attach, keeps the
 * clock); then the handle fields. Returns this run's start time, then the fields of
 * STOP_OR_END_FIELDS: a stop requested while the run was launched is seen in the same step.
 */
const MARK_STARTED_SCRIPT = new LuaScript(`
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[1])
redis.call('HSETNX', KEYS[1], 'attempt_started_at', ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HMGET', KEYS[1], 'attempt_started_at', 'stop_kind', 'stop_grace_ms', 'stop_reason', 'outcome')
`);

/**
 * Records that a run has started: the task's first start time (kept across retries), this run's
 * start time, its pid and the executor's handle. Returns this run's start time, and any stop
 * request or end on the record.
 */
export async function markTaskStarted(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  handle: Record<string, string>,
  pid?: number,
  /** When the run started, if before now (a run launched ahead). @default now */
  launchedAt?: number,
): Promise<{ startedAt: number; request?: StopRequest; outcome?: string }> {
  const now = String(Date.now());
  const fields: Record<string, string> = { ...handleFields(handle), updated_at: now };
  if (pid !== undefined) fields.pid = String(pid);
  const args = [String(launchedAt ?? now)];
  for (const [field, value] of Object.entries(fields)) args.push(field, value);
  const [startedAt, ...stopOrEnd] = (await MARK_STARTED_SCRIPT.run(redis, [keys.record(taskId)], args)) as (
    string | null
  )[];
  return { startedAt: Number(startedAt), ...stopOrEndOf(stopOrEnd) };
}

/**
 * Starts a new run (a retry, or a resume after a usage limit): forgets the last run's handle and
 * output offsets and any wait it ended, and says `note` in the log.
 */
export async function beginAttempt(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  run: number,
  note: string,
): Promise<void> {
  const key = keys.record(taskId);
  // The last run's handle, offsets, pid and Claude progress (a retry is a new Claude run).
  const stale = Object.keys(await redis.hgetall(key)).filter(
    (f) =>
      f.startsWith('h:') ||
      f.startsWith('c:') ||
      f.startsWith('cc:') ||
      f === 'pid' ||
      f === 'launching_at' ||
      f === LIMIT_FIELDS.until,
  );
  const multi = redis.multi();
  if (stale.length > 0) multi.hdel(key, ...stale);
  multi
    .hset(key, { attempt: String(run), updated_at: String(Date.now()) })
    .xadd(keys.log(taskId), '*', 't', 's', 'd', `${note}\n`);
  await multi.exec();
}

/** Appends a run's end to the attempt history; the task itself may go on with a retry. */
export async function recordAttemptEnd(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  attempt: number,
  end: Omit<TaskEnd, 'finishedAt'>,
  /** When the attempt's process ended. @default now */
  finishedAt: number = Date.now(),
): Promise<void> {
  const key = keys.record(taskId);
  const record = parseRecordHash(await redis.hgetall(key));
  const history = (record?.attempts ?? []).filter((a) => a.attempt !== attempt);
  const startedAt = record?.attemptStartedAt;
  const summary: AttemptSummary = {
    attempt,
    outcome: end.outcome,
    exit_code: end.exitCode,
    started_at: startedAt === undefined ? null : new Date(startedAt).toISOString(),
    finished_at: new Date(finishedAt).toISOString(),
    error: end.error ?? null,
  };
  await redis
    .multi()
    .hset(key, { attempts_log: JSON.stringify([...history, summary]), updated_at: String(Date.now()) })
    .hdel(key, 'attempt_started_at', 'launching_at')
    .exec();
}

/** Sets one field of a record that still exists (`onlyIfUnset`: and lacks it); returns whether it did. */
const SET_DELIVERY_FIELD_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] == '1' then return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`);

/**
 * Records a webhook's or notifier's delivery state on its task. A record that expired or was
 * cleaned up meanwhile is not brought back as a hash without a TTL.
 */
export async function setDeliveryField(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  field: string,
  value: string,
  onlyIfUnset = false,
): Promise<boolean> {
  return (
    (await SET_DELIVERY_FIELD_SCRIPT.run(redis, [keys.record(taskId)], [field, value, onlyIfUnset ? '1' : '0'])) === 1
  );
}

/** The record field holding the request as enqueued (JSON); never shown, it holds env values. */
export const REQUEST_FIELD = 'request';

/** The request a task was enqueued with, as kept on its record; undefined when unreadable or gone. */
export async function readKeptRequest(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
): Promise<TaskRequest | undefined> {
  const kept = await redis.hget(keys.record(taskId), REQUEST_FIELD);
  if (kept === null) return undefined;
  try {
    const parsed = TaskRequestSchema.safeParse(JSON.parse(kept));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
