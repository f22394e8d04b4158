// A schedule's tick: one ordinary task, made once however often the tick is handed out.
import { createHash } from 'node:crypto';
import { findExecutor, type LoadedConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { describeError } from '../errors.js';
import { handBackDelayMs } from '../redis/hand-back.js';
import { LuaScript } from '../redis/lua-script.js';
import type { TaskClient } from '../tasks/client.js';
import { isEndedStatus } from '../tasks/status.js';
import { escapeControls } from '../text/escape.js';
import { taskSigningKey, UNSIGNED_SCHEDULE_ERROR, verifySchedule } from '../tasks/signing.js';
import { parseTemplate, type ScheduleTemplate } from './schedule-store.js';

/**
 * Notes a tick's result on the schedule's hash, only while the schedule exists (`cron` is set): a
 * schedule removed while its tick ran is not brought back as a stub. KEYS: the schedule hash;
 * ARGV: the count to add to `fired`, then field/value pairs.
 */
const NOTE_TICK = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 'cron') == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '0' then redis.call('HINCRBY', KEYS[1], 'fired', ARGV[1]) end
return 1
`);

/**
 * What a tick did: made task `taskId`, skipped it (overlap, late), found no schedule, or left it to
 * a worker whose config has what the task names (`elsewhere`: this one lacks `lacks`, such as
 * `executor "far"`; hand it out again in `retryInMs`).
 */
export type TickResult =
  | { kind: 'started'; taskId: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'gone' }
  | { kind: 'elsewhere'; lacks: string; retryInMs: number }
  | { kind: 'failed'; error: string };

/**
 * The task id of a tick: a UUID v4 made from the tick's BullMQ job id, so that a tick handed out
 * twice (a worker died while making it) makes the same task, once.
 */
export function tickTaskId(prefix: string, tickJobId: string): string {
  const hex = createHash('sha256').update(`${prefix}\n${tickJobId}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** How late a tick may be taken and still make its task (a worker restarting, a busy Redis). */
export const LATE_TICK_MS = 10 * 60_000;

/** When a tick was due: BullMQ names a scheduler's jobs `repeat:<scheduler>:<millis>`. */
export function tickTime(tickJobId: string): number | undefined {
  const millis = Number(tickJobId.slice(tickJobId.lastIndexOf(':') + 1));
  return tickJobId.startsWith('repeat:') && Number.isSafeInteger(millis) && millis > 0 ? millis : undefined;
}

/**
 * Makes the task of one tick of schedule `name` (named after it, labelled `schedule:<name>`), or
 * skips the tick while the last one's task has not ended and the schedule says `--overlap skip`,
 * or when it comes more than LATE_TICK_MS late.
 * The schedule's hash records the result for `schedule list`.
 */
export async function fireSchedule(client: TaskClient, name: string, tickJobId: string): Promise<TickResult> {
  const key = client.keys.schedule(name);
  const hash = await client.redis.hgetall(key);
  const template = parseTemplate(hash.template);
  if (hash.cron === undefined || hash.paused === '1') return { kind: 'gone' };
  // The tick's result, noted on the schedule's hash for `schedule list`.
  const started = async (taskId: string): Promise<TickResult> => {
    await NOTE_TICK.run(
      client.redis,
      [key],
      ['1', 'last_task', taskId, 'last_fired_at', String(Date.now()), 'last_result', 'started'],
    );
    return { kind: 'started', taskId };
  };
  const failed = async (error: string): Promise<TickResult> => {
    await NOTE_TICK.run(
      client.redis,
      [key],
      ['0', 'last_fired_at', String(Date.now()), 'last_result', `failed: ${error}`],
    );
    return { kind: 'failed', error };
  };
  const skipped = async (reason: string): Promise<TickResult> => {
    await NOTE_TICK.run(client.redis, [key], ['0', 'last_result', reason, 'last_skipped_at', String(Date.now())]);
    return { kind: 'skipped', reason };
  };
  if (template === undefined) {
    // Altered in Redis, or kept from a version whose template this one does not read: said on
    // the schedule (`schedule list` omits it; `schedule rm` removes it).
    return failed(
      `its task does not read as a task of this version: remove it with \`openclaw-agent schedule rm ${name}\` and add it again`,
    );
  }
  const signingKey = taskSigningKey(client.config);
  if (signingKey !== undefined && !verifySchedule(signingKey, name, template, hash.signature)) {
    return failed(UNSIGNED_SCHEDULE_ERROR);
  }
  const id = tickTaskId(client.prefix, tickJobId);
  if (hash.last_task === id) return { kind: 'started', taskId: id };
  // Handed out again after an earlier hand-out made its task but stopped before noting it (its
  // worker died, or Redis went): that task counts, whatever the time or the last tick's task now.
  if ((await client.redis.exists(client.keys.record(id))) === 1) return started(id);
  // Workers on several hosts may know different executors and notifiers: one that lacks what the
  // task names leaves the tick to one that has it (its enqueue would refuse the task).
  const lacks = lackedByConfig(client.config, template);
  // A tick no worker took in time (all were down) is skipped, not run hours late.
  const due = tickTime(tickJobId);
  const late = due === undefined ? 0 : Date.now() - due;
  if (late > LATE_TICK_MS) {
    const why = lacks ? `no worker with ${lacks} in its config took it in time` : 'no worker took it in time';
    return skipped(`skipped: the tick of ${new Date(due!).toISOString()} came ${formatDuration(late)} late (${why})`);
  }
  if (lacks) {
    return { kind: 'elsewhere', lacks, retryInMs: handBackDelayMs(late) };
  }
  if (hash.overlap === 'skip' && hash.last_task !== undefined) {
    const last = (await client.views([hash.last_task]))[0];
    if (last !== undefined && !isEndedStatus(last.status)) {
      return skipped(`skipped: task ${hash.last_task} of the last tick is ${last.status} (--overlap skip)`);
    }
  }
  let taskId: string;
  try {
    ({ id: taskId } = await client.enqueue({
      ...template,
      name: template.name ?? name,
      labels: [...template.labels.filter((label) => label !== `schedule:${name}`), `schedule:${name}`],
      schedule: name,
      id,
      // Checked when the schedule was added, maybe by an earlier version: it runs as it did then.
      replayed: true,
    }));
  } catch (error) {
    // Made already by an earlier hand-out of this tick: that one counts (and notes it).
    if ((await client.redis.exists(client.keys.record(id))) === 1) return { kind: 'started', taskId: id };
    return failed(describeError(error));
  }
  return started(taskId);
}

// What of the schedule's task this worker's config does not have: its executor, or a notifier.
function lackedByConfig(config: LoadedConfig, template: ScheduleTemplate): string | undefined {
  if (findExecutor(config, template.executor) === undefined) return `executor "${escapeControls(template.executor)}"`;
  const notifier = template.notify?.find((name) => !Object.hasOwn(config.notifiers, name));
  return notifier === undefined ? undefined : `notifier "${escapeControls(notifier)}"`;
}
