// Signed tasks: an HMAC over each request, which workers check before they run it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LoadedConfig } from '../config/config.js';
import type { TaskRequest } from './request.js';

/**
 * Signed tasks: with a `task_signing_key`, every request the TaskClient enqueues carries an
 * HMAC-SHA256 over its canonical form and its task id, and workers run only jobs whose signature
 * matches. Anyone who can write to Redis could otherwise run commands on every executor.
 */

/** Why a worker refused a job; the task ends `failed` with this error. */
export const UNSIGNED_TASK_ERROR =
  "refused: the task request is not signed with this deployment's task_signing_key (written straight into Redis, or altered)";

/** `OPENCLAW_AGENT_TASK_SIGNING_KEY`, else `task_signing_key`; undefined leaves tasks unsigned. */
export function taskSigningKey(config: LoadedConfig): string | undefined {
  return process.env.OPENCLAW_AGENT_TASK_SIGNING_KEY || config.task_signing_key;
}

// JSON with object keys sorted at every depth and undefined members dropped (as JSON.stringify
// drops them), so the same request signs the same after a round trip through Redis.
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}

/** The hex HMAC-SHA256 of the task id and the request (its own `signature` left out). */
export function signTaskRequest(key: string, id: string, request: TaskRequest): string {
  const signed: Partial<TaskRequest> = { ...request };
  delete signed.signature;
  return createHmac('sha256', key)
    .update(`${id}\n${canonicalJson(signed)}`, 'utf8')
    .digest('hex');
}

/** Whether `signature` is this key's signature of the task id and request, compared in constant time. */
export function verifyTaskRequest(
  key: string,
  id: string,
  request: TaskRequest,
  signature: string | undefined,
): boolean {
  return signature !== undefined && sameHex(signTaskRequest(key, id, request), signature);
}

// Compares a signature with the expected one in constant time.
function sameHex(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Why a notifier's announcement was not sent: it did not come from this deployment. */
export const UNSIGNED_ANNOUNCEMENT_ERROR =
  "refused: the announcement is not signed with this deployment's task_signing_key (written straight into Redis, or altered)";

/**
 * The hex HMAC-SHA256 of what a notifier is to say of a task's end (its name, the event, the
 * session): with a signing key, writing into Redis is not enough to wake an agent either.
 */
export function signAnnouncement(
  key: string,
  announcement: { task_id: string; name: string; event: unknown; session?: string },
): string {
  return createHmac('sha256', key)
    .update(`announce\n${canonicalJson(announcement)}`, 'utf8')
    .digest('hex');
}

/** Whether `signature` is this key's signature of the announcement, compared in constant time. */
export function verifyAnnouncement(
  key: string,
  announcement: { task_id: string; name: string; event: unknown; session?: string },
  signature: string | undefined,
): boolean {
  return signature !== undefined && sameHex(signAnnouncement(key, announcement), signature);
}

/** Why a webhook was not POSTed: its delivery did not come from this deployment. */
export const UNSIGNED_WEBHOOK_ERROR =
  "refused: the webhook delivery is not signed with this deployment's task_signing_key (written straight into Redis, or altered)";

/** What a webhook delivery's signature covers: the task, where it goes, and what it says. */
export interface SignedWebhookDelivery {
  task_id: string;
  url: string;
  index: number;
  body: unknown;
}

/**
 * The hex HMAC-SHA256 of one webhook delivery (its task, URL, place and body): with a signing key,
 * writing into Redis is not enough to have the deliverer POST a body signed with the webhook
 * secret, to any URL.
 */
export function signWebhookDelivery(key: string, webhook: SignedWebhookDelivery): string {
  return createHmac('sha256', key)
    .update(`webhook\n${canonicalJson(webhook)}`, 'utf8')
    .digest('hex');
}

/** Whether `signature` is this key's signature of the webhook delivery, compared in constant time. */
export function verifyWebhookDelivery(
  key: string,
  webhook: SignedWebhookDelivery,
  signature: string | undefined,
): boolean {
  return signature !== undefined && sameHex(signWebhookDelivery(key, webhook), signature);
}

/** Why a schedule's tick made no task: its kept task is not signed with this deployment's key. */
export const UNSIGNED_SCHEDULE_ERROR =
  "refused: the schedule's task is not signed with this deployment's task_signing_key (written straight into Redis, or altered)";

/**
 * The hex HMAC-SHA256 of a schedule's name and the task it makes: a schedule written straight
 * into Redis makes no task where signing is on (its ticks would otherwise be signed by the worker).
 */
export function signSchedule(key: string, name: string, template: unknown): string {
  return createHmac('sha256', key)
    .update(`schedule\n${name}\n${canonicalJson(template)}`, 'utf8')
    .digest('hex');
}

/** Whether `signature` is this key's signature of the schedule, compared in constant time. */
export function verifySchedule(key: string, name: string, template: unknown, signature: string | undefined): boolean {
  return signature !== undefined && sameHex(signSchedule(key, name, template), signature);
}
