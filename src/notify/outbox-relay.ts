// Moves outbox entries into the delivery queue, once each, whichever worker relays them.
import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { LoadedConfig } from '../config/config.js';
import type { TaskKeys } from '../tasks/keys.js';
import { NOTIFIER_PREFIX } from '../tasks/record.js';
import { setDeliveryField } from '../tasks/store.js';
import { pendingNotifierState, type NotifyJob } from './notifier-delivery.js';
import { OutboxEntrySchema, type OutboxEntry } from './outbox-entry.js';

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
}

/** The job names in the callbacks queue. */
export const WEBHOOK_JOB = 'deliver';
export const NOTIFY_JOB = 'notify';

/** Relays every entry of the outbox (and of earlier versions' outbox); returns how many. */
export async function relayOutbox(
  redis: RedisClient,
  keys: TaskKeys,
  queue: Queue,
  config: LoadedConfig,
): Promise<number> {
  let relayed = 0;
  for (const list of [keys.outbox(), keys.legacyOutbox()]) {
    for (;;) {
      const entries = await redis.lrange(list, 0, 99);
      if (entries.length === 0) break;
      for (const raw of entries) {
        const parsed = OutboxEntrySchema.safeParse(safeJson(raw));
        if (parsed.success) await queueDeliveries(redis, keys, queue, config, parsed.data);
        await redis.lrem(list, 1, raw);
        relayed++;
      }
    }
  }
  return relayed;
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
  await Promise.all([
    ...entry.urls.map((url, index) =>
      queue.add(
        WEBHOOK_JOB,
        {
          task_id: entry.task_id,
          url,
          index,
          msg_id: `msg_${entry.task_id.replace(/-/g, '')}_${index}`,
          body,
        } satisfies WebhookJob,
        { jobId: `${entry.task_id}-cb${index}`, attempts: 1_000, backoff: { type: 'webhook' }, ...kept },
      ),
    ),
    ...(event === undefined
      ? []
      : entry.notify.map((name) =>
          queue.add(
            NOTIFY_JOB,
            {
              task_id: entry.task_id,
              name,
              event,
              session: entry.session,
              signature: entry.signatures && Object.hasOwn(entry.signatures, name) ? entry.signatures[name] : undefined,
            } satisfies NotifyJob,
            { jobId: `${entry.task_id}-nt-${name}`, attempts: 1_000, backoff: { type: 'notify' }, ...kept },
          ),
        )),
  ]);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
