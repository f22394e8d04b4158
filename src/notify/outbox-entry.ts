// What an ended task's outbox entry holds: its webhook URLs and body, its notifiers and their event.
import { z } from 'zod';
import { buildCompletionPayload } from './completion-record.js';
import type { LoadedConfig } from '../config/config.js';
import type { TaskRequest } from '../tasks/request.js';
import type { TaskRecord } from '../tasks/record.js';
import type { EndedStatus } from '../tasks/status.js';
import { signAnnouncement, signWebhookDelivery, taskSigningKey } from '../tasks/signing.js';
import { buildTaskEndEvent, TaskEndEventSchema } from './task-end-event.js';

// The outbox holds, for each ended task, who still has to hear of it: its webhooks and its
// notifiers. The entry is written in the atomic step that ends the task (task-finish.ts), so a
// worker dying right after loses nothing; any worker relays it into the callbacks queue.

/** What of a task's request decides who hears of its end. */
export type AnnouncedRequest = Pick<TaskRequest, 'callbackUrl' | 'notify' | 'notifySession'>;

export const OutboxEntrySchema = z.object({
  /** A UUID, as every task id is: it makes job ids and Redis keys, which may not hold `:`. */
  task_id: z.uuid('expected a task id, a UUID'),
  /** Webhook URLs, each POSTed `body`. */
  urls: z.array(z.url()),
  body: z.record(z.string(), z.unknown()),
  /** Notifier names whose `on` has the task's status. */
  notify: z.array(z.string()).default([]),
  event: TaskEndEventSchema.optional(),
  /** The OpenClaw session key the task asked to wake. */
  session: z.string().optional(),
  /** Per notifier, the announcement's signature (task-signing.ts), when the deployment signs. */
  signatures: z.record(z.string(), z.string().max(128)).optional(),
  /** Per URL, in order, its delivery's signature (task-signing.ts), when the deployment signs. */
  webhook_signatures: z.array(z.string().max(128)).optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/** The webhook URLs a task's completion goes to: its own `--callback`, then `defaults.webhook_url`. */
export function webhookUrls(callbackUrl: string | undefined, config: LoadedConfig): string[] {
  return [...new Set([callbackUrl, config.defaults.webhook_url].filter((u): u is string => Boolean(u)))];
}

/** The notifiers of a task: those it was enqueued with (none when it names none). */
export function taskNotifiers(request: AnnouncedRequest): string[] {
  return request.notify ?? [];
}

/** Whether anyone is to hear of the task's end (so that the outbox is worth relaying at once). */
export function isAnnounced(request: AnnouncedRequest, config: LoadedConfig): boolean {
  return webhookUrls(request.callbackUrl, config).length > 0 || taskNotifiers(request).length > 0;
}

/**
 * The outbox entry of an ended task (as JSON), or undefined when no webhook and no notifier is
 * to hear of it. A notifier whose `on` leaves out the status is skipped; one this config does not
 * know is kept, so that its delivery is recorded as failed rather than silently dropped. With a
 * signing key each notifier's announcement and each webhook's delivery is signed. `refused`: the task was refused as
 * unsigned: the request's own webhook and notifiers are ignored, and its name and command too.
 */
export function buildOutboxEntry(
  config: LoadedConfig,
  record: TaskRecord & { outcome: EndedStatus },
  request: AnnouncedRequest,
  options: { refused?: boolean } = {},
): string | undefined {
  // A refused task is announced to the deployment's own webhook and default notifiers only.
  const announced: AnnouncedRequest = options.refused ? { notify: config.defaults.notify } : request;
  const urls = webhookUrls(announced.callbackUrl, config);
  const notify = taskNotifiers(announced).filter((name) => config.notifiers[name]?.on.includes(record.outcome) ?? true);
  if (urls.length === 0 && notify.length === 0) return undefined;
  const event = notify.length > 0 ? buildTaskEndEvent(record, options) : undefined;
  const session = notify.length > 0 ? announced.notifySession : undefined;
  const key = taskSigningKey(config);
  const signatures =
    key === undefined || event === undefined
      ? undefined
      : Object.fromEntries(
          notify.map((name) => [name, signAnnouncement(key, { task_id: record.id, name, event, session })]),
        );
  // A refused task's name came with its unsigned request: left out, as announcements leave it out.
  const body = urls.length > 0 ? buildCompletionPayload(options.refused ? { ...record, name: undefined } : record) : {};
  const webhookSignatures =
    key === undefined || urls.length === 0
      ? undefined
      : urls.map((url, index) => signWebhookDelivery(key, { task_id: record.id, url, index, body }));
  const entry: OutboxEntry = {
    task_id: record.id,
    urls,
    body,
    notify,
    event,
    session,
    signatures,
    webhook_signatures: webhookSignatures,
  };
  return JSON.stringify(entry);
}
