// Moves outbox entries into the delivery queue, once each, whichever worker relays them.
import type { Queue } from 'bullmq';
import { isRedisConnectionError, type RedisClient } from '../redis/connection.js';
import { LuaScript } from '../redis/lua-script.js';
import type { LoadedConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import type { TaskKeys } from '../tasks/keys.js';
import { NOTIFIER_PREFIX } from '../tasks/record.js';
import { setDeliveryField } from '../tasks/store.js';
import { pendingNotifierState, type NotifyJob } from './notifier-delivery.js';
import { OutboxEntrySchema, type OutboxEntry } from './outbox-entry.js';
import { describeIssue } from '../text/zod-issues.js';
import { escapeControls, quoteInput } from '../text/escape.js';

// Any worker moves the outbox into the callbacks queue: one job per webhook URL and one per
// notifier, whose ids are fixed per task and target, so that relaying the same entry twice (two
// workers, or a crash before LREM) adds each job once.

/** A webhook's delivery job. */
export interface WebhookJob {
  task_id: string;
  url: string;
  index: number;
  msg_id: string;
  body: string;
  /** The delivery's signature (task-signing.ts), when the deployment signs. */
  signature?: string;
}

/** A webhook delivery's `webhook-id`: fixed per task and URL, so that receivers drop redeliveries. */
export function webhookMessageId(taskId: string, index: number): string {
  return `msg_${taskId.replace(/-/g, '')}_${index}`;
}

/** The job names in the callbacks queue. */
export const WEBHOOK_JOB = 'deliver';
export const NOTIFY_JOB = 'notify';

/** How many entries the dead-letter list keeps, newest first. */
export const OUTBOX_DEAD_LETTERS_KEPT = 1000;

/**
 * List: outbox entries that could not be queued, newest first, each JSON of the entry as it was
 * (`entry`), why (`error`) and when (`at`); at most {@link OUTBOX_DEAD_LETTERS_KEPT}. Under the
 * prefix, so that whatever deletes a prefix's keys deletes it too.
 */
export function outboxDeadLetterKey(keys: TaskKeys): string {
  return `${keys.outbox()}:dead`;
}

// Takes the entry out of its list and files it under the dead letters, only if it was still there
// (two relays meeting it file it once).
const DEAD_LETTER_SCRIPT = new LuaScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
`);

/**
 * Relays every entry of the outbox (and of earlier versions' outbox); returns how many. An entry
 * that cannot be queued (malformed, or refused by the queue) moves to the dead letters with one
 * line to `log`, and the rest are relayed all the same; a lost connection to Redis stops the pass.
 */
export async function relayOutbox(
  redis: RedisClient,
  keys: TaskKeys,
  queue: Queue,
  config: LoadedConfig,
  log: (line: string) => void = () => {},
): Promise<number> {
  let relayed = 0;
  for (const list of [keys.outbox(), keys.legacyOutbox()]) {
    for (;;) {
      const entries = await redis.lrange(list, 0, 99);
      if (entries.length === 0) break;
      for (const raw of entries) {
        const json = safeJson(raw);
        const parsed = OutboxEntrySchema.safeParse(json);
        let problem: string;
        if (parsed.success) {
          try {
            await queueDeliveries(redis, keys, queue, config, parsed.data);
            await redis.lrem(list, 1, raw);
            relayed++;
            continue;
          } catch (error) {
            // Redis gone, or an answer of its own (loading, out of memory, read-only after a
            // failover): the entry stays for the next pass.
            if (mayPass(error)) throw error;
            problem = describeError(error);
          }
        } else {
          problem = json === undefined ? 'not JSON' : describeIssue(parsed.error.issues[0]!, json);
        }
        await fileDeadLetter(redis, keys, list, raw, problem, log);
      }
    }
  }
  return relayed;
}

// Moves one entry that cannot be queued to the dead letters, and says so in one line.
async function fileDeadLetter(
  redis: RedisClient,
  keys: TaskKeys,
  list: string,
  raw: string,
  problem: string,
  log: (line: string) => void,
): Promise<void> {
  const dead = outboxDeadLetterKey(keys);
  const letter = JSON.stringify({ entry: raw, error: problem, at: new Date().toISOString() });
  const moved = await DEAD_LETTER_SCRIPT.run(redis, [list, dead], [raw, letter, OUTBOX_DEAD_LETTERS_KEPT]);
  if (moved !== 1) return;
  const taskId = (safeJson(raw) as { task_id?: unknown } | undefined)?.task_id;
  const task = typeof taskId === 'string' ? `task ${quoteInput(taskId)}` : 'a task';
  log(
    `outbox: the end of ${task} could not be queued (${escapeControls(problem)}): its webhooks and notifiers ` +
      `may not be sent; the entry was moved to ${dead} — read it with \`redis-cli LRANGE ${dead} 0 -1\``,
  );
}

// Marks each delivery pending, then adds its job.
async function queueDeliveries(
  redis: RedisClient,
  keys: TaskKeys,
  queue: Queue,
  config: LoadedConfig,
  entry: OutboxEntry,
): Promise<void> {
  const body = JSON.stringify(entry.body);
  // Before the add, and only if unset: a delivery that already ran must not read `pending` again.
  for (const [i, url] of entry.urls.entries()) {
    await setDeliveryField(
      redis,
      keys,
      entry.task_id,
      `wh:${i}`,
      JSON.stringify({ url, state: 'pending', attempts: 0 }),
      true,
    );
  }
  for (const name of entry.notify) {
    await setDeliveryField(
      redis,
      keys,
      entry.task_id,
      `${NOTIFIER_PREFIX}${name}`,
      JSON.stringify(pendingNotifierState(config, name)),
      true,
    );
  }
  const kept = { removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 7 * 86_400 } };
  const event = entry.event;
  // Each job with its delivery's field and the state that field takes if the job cannot be added.
  const jobs = [
    ...entry.urls.map((url, index) => ({
      field: `wh:${index}`,
      state: { url, state: 'failed', attempts: 0 },
      add: () =>
        queue.add(
          WEBHOOK_JOB,
          {
            task_id: entry.task_id,
            url,
            index,
            msg_id: webhookMessageId(entry.task_id, index),
            body,
            signature: entry.webhook_signatures?.[index],
          } satisfies WebhookJob,
          { jobId: `${entry.task_id}-cb${index}`, attempts: 1_000, backoff: { type: 'webhook' }, ...kept },
        ),
    })),
    ...(event === undefined
      ? []
      : entry.notify.map((name) => ({
          field: `${NOTIFIER_PREFIX}${name}`,
          state: { ...pendingNotifierState(config, name), state: 'failed' },
          add: () =>
            queue.add(
              NOTIFY_JOB,
              {
                task_id: entry.task_id,
                name,
                event,
                session: entry.session,
                signature:
                  entry.signatures && Object.hasOwn(entry.signatures, name) ? entry.signatures[name] : undefined,
              } satisfies NotifyJob,
              { jobId: `${entry.task_id}-nt-${name}`, attempts: 1_000, backoff: { type: 'notify' }, ...kept },
            ),
        }))),
  ];
  const added = await Promise.allSettled(jobs.map((job) => job.add()));
  const refused = jobs.flatMap((job, i) => {
    const outcome = added[i]!;
    return outcome.status === 'rejected' ? [{ ...job, reason: outcome.reason as unknown }] : [];
  });
  if (refused.length === 0) return;
  // Redis gone or refusing for now: nothing is recorded, and the entry is relayed again on the
  // next pass (jobs added meanwhile keep their fixed ids, so none is added twice).
  const lost = refused.find((job) => mayPass(job.reason));
  if (lost) throw lost.reason;
  // A delivery whose job the queue refused never runs: it reads failed, not pending for good.
  for (const job of refused) {
    const error = `not queued: ${describeError(job.reason)}`;
    const state = { ...job.state, error, at: new Date().toISOString() };
    await setDeliveryField(redis, keys, entry.task_id, job.field, JSON.stringify(state));
  }
  throw refused[0]!.reason;
}

/**
 * Whether an error may pass with time: a lost connection, or an error Redis answered (LOADING,
 * OOM, READONLY, a script's). Only what is refused before Redis is asked (BullMQ's own checks of a
 * job, say an id with `:`) is the entry's fault for good, and moves it to the dead letters.
 */
function mayPass(error: unknown): boolean {
  return isRedisConnectionError(error) || (error instanceof Error && error.name === 'ReplyError');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
