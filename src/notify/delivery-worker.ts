// The worker that delivers each ended task's webhooks and notifier announcements from the outbox, with retries.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import type { LoadedConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import {
  deliverNotification,
  notifierSchedule,
  NotifyJobSchema,
  pendingNotifierState,
  type NotifyAttempt,
} from './notifier-delivery.js';
import { NOTIFY_JOB, relayOutbox, webhookMessageId, type WebhookJob } from './outbox-relay.js';
import type { TaskKeys } from '../tasks/keys.js';
import { NOTIFIER_PREFIX } from '../tasks/record.js';
import { setDeliveryField } from '../tasks/store.js';
import { taskSigningKey, UNSIGNED_WEBHOOK_ERROR, verifyWebhookDelivery } from '../tasks/signing.js';
import { escapeControls } from '../text/escape.js';
import { fetchPortProblem, maskUrlCredentials } from './http-url.js';
import { HAND_BACK_LIMIT_MS, handBackDelayMs } from '../redis/hand-back.js';
import { deliverWebhook, nextRetryDelayMs, WEBHOOK_RETRY_SCHEDULE_MS } from './webhook-delivery.js';
import { resolveWebhookSecret, webhookHeaders } from './webhook-signature.js';

/**
 * The BullMQ queue that holds webhook and notifier deliveries; executor names may not take it.
 * `callbacks` is its name in Redis since the first version (jobs queued then still deliver).
 */
export const DELIVERY_QUEUE = 'callbacks';

const WebhookJobSchema = z.object({
  task_id: z.string().min(1),
  url: z.url(),
  index: z.number().int().nonnegative(),
  msg_id: z.string().min(1),
  body: z.string(),
  signature: z.string().max(128).optional(),
}) satisfies z.ZodType<WebhookJob>;

/**
 * Whether a webhook job is as a worker of this deployment wrote it: its signature (over the task,
 * URL, place and body) holds, its body is the JSON it was signed as, and its webhook-id is the
 * task's own, so that a copy of it is dropped by receivers as a redelivery.
 */
function isSignedWebhook(key: string, d: WebhookJob): boolean {
  if (d.msg_id !== webhookMessageId(d.task_id, d.index)) return false;
  let body: unknown;
  try {
    body = JSON.parse(d.body);
  } catch {
    return false;
  }
  // The bytes POSTed must be what was signed: no duplicate keys or other forms of the same JSON.
  if (JSON.stringify(body) !== d.body) return false;
  return verifyWebhookDelivery(key, { task_id: d.task_id, url: d.url, index: d.index, body }, d.signature);
}

/** The deployment's webhook secret (resolveWebhookSecret): the environment's, else the config's. */
export function webhookSecret(config: LoadedConfig): string | undefined {
  return resolveWebhookSecret(config.defaults.webhook_secret);
}

class RetryableDelivery extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableDelivery';
  }
}

export interface DeliveryWorkerOptions {
  config: LoadedConfig;
  redis: RedisClient;
  keys: TaskKeys;
  /** Deliveries in flight at once. @default 16 */
  concurrency?: number;
  onLog?: (line: string) => void;
  /** Takes the queue's and worker's errors (a process's outage reporter). @default one line each to onLog */
  onError?: (source: string) => (error: Error) => void;
}

export interface RunningDeliveries {
  queue: Queue;
  /** Relays the outbox now (after a task ended); also runs every few seconds on its own. */
  relay(): Promise<void>;
  close(): Promise<void>;
}

/** How often the outbox is swept for entries a dead worker left behind. */
const RELAY_SWEEP_MS = 2000;
/** How long a closing worker lets command notifiers under way run on before it stops them. */
const CLOSE_GRACE_MS = 10_000;
/**
 * The longest a closing worker waits for the attempts under way: the grace, or the longest an
 * HTTP attempt may take (a webhook's or a gateway's timeout), and a few seconds to record it.
 */
function closeLimitMs(config: LoadedConfig): number {
  const timeouts = Object.values(config.notifiers).map((n) => (n.type === 'openclaw' ? n.timeoutMs : 0));
  return Math.max(CLOSE_GRACE_MS, config.defaults.webhook_timeout, ...timeouts) + 5000;
}

/** When a notifier stopped by a closing worker is run again (by another worker, or this one anew). */
const HANDED_BACK_MS = 1000;

/**
 * Starts the deliverer: a BullMQ worker on the callbacks queue. Webhooks are POSTed signed the
 * Standard Webhooks way, retried on Svix's schedule (Retry-After honoured), stopped by a 410,
 * never redirected; every redelivery carries the same webhook-id. Notifiers wake an OpenClaw
 * agent (retried on their own schedule) or run a command (once); a final failure is recorded on
 * the task and said in one line.
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<RunningDeliveries> {
  const { config, redis, keys } = options;
  const log = options.onLog ?? (() => {});
  const schedule = config.defaults.webhook_retry_schedule ?? WEBHOOK_RETRY_SCHEDULE_MS;
  const queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: config.redis.prefix });
  const shutdown = new AbortController();
  const concurrency = options.concurrency ?? 16;
  // Each command notifier running waits on it: as many listeners as deliveries at once.
  setMaxListeners(concurrency + 10, shutdown.signal);
  const onError = options.onError ?? ((source: string) => (error: Error) => log(`${source}: ${error.message}`));
  queue.on('error', onError('callbacks queue'));
  const worker = new Worker(DELIVERY_QUEUE, (job: Job, token?: string) => deliver(job, token), {
    connection: redis,
    prefix: config.redis.prefix,
    concurrency,
    // A delivery cut off by a stopped or killed worker stalls and is retried by the next one, as
    // soon as the worker's lock settings say; BullMQ's default would fail it for good on its second
    // stall. A redelivery carries the same webhook-id, so stalls are harmless to count.
    lockDuration: config.worker.lock_duration,
    stalledInterval: config.worker.stalled_interval,
    maxStalledCount: 1_000_000,
    settings: {
      backoffStrategy: (attemptsMade, type, error, job) => {
        const retryAfterMs = error instanceof RetryableDelivery ? error.retryAfterMs : undefined;
        const name = (job?.data as { name?: unknown } | undefined)?.name;
        const delays = type === 'notify' && typeof name === 'string' ? notifierSchedule(config, name) : schedule;
        return nextRetryDelayMs(attemptsMade, retryAfterMs, Math.random, delays) ?? -1;
      },
    },
  });
  worker.on('error', onError('callbacks worker'));

  // A webhook's attempt: signed, recorded on the task, retried on the schedule.
  async function deliver(job: Job, token: string | undefined): Promise<void> {
    if (job.name === NOTIFY_JOB) return notify(job, token);
    const parsed = WebhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid delivery job data');
    const d = parsed.data;
    const attempt = job.attemptsMade + 1;
    // A delivery that may never be made: recorded and said once, not retried.
    const refuse = async (error: string): Promise<never> => {
      const recorded = { url: d.url, state: 'failed', attempts: attempt, error, at: new Date().toISOString() };
      await setDeliveryField(redis, keys, d.task_id, `wh:${d.index}`, JSON.stringify(recorded));
      sayNotDelivered(error);
      throw new UnrecoverableError(error);
    };
    const sayNotDelivered = (error: string) =>
      log(
        `webhook ${escapeControls(maskUrlCredentials(d.url))}: task ${escapeControls(d.task_id.slice(0, 8))} not delivered: ${error}`,
      );
    // With a signing key, only what a worker of this deployment wrote is POSTed.
    const key = taskSigningKey(config);
    if (key !== undefined && !isSignedWebhook(key, d)) return refuse(UNSIGNED_WEBHOOK_ERROR);
    // A URL of an earlier version on a port fetch refuses: no attempt could ever get through.
    const badPort = fetchPortProblem(d.url);
    if (badPort !== undefined) return refuse(badPort);
    let headers: Record<string, string>;
    try {
      headers = webhookHeaders(webhookSecret(config), d.msg_id, Math.floor(Date.now() / 1000), d.body);
    } catch (signing) {
      // No attempt can be signed until the secret is fixed.
      return refuse(`not signed: ${describeError(signing)}`);
    }
    const outcome = await deliverWebhook(d.url, d.body, headers, { timeoutMs: config.defaults.webhook_timeout });
    const exhausted = outcome.kind === 'retry' && attempt > schedule.length;
    const state =
      outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'gone' ? 'gone' : exhausted ? 'failed' : 'retrying';
    const error = outcome.kind === 'retry' ? outcome.error : undefined;
    const recorded = {
      url: d.url,
      state,
      attempts: attempt,
      status: 'status' in outcome ? outcome.status : undefined,
      error,
      at: new Date().toISOString(),
    };
    await setDeliveryField(redis, keys, d.task_id, `wh:${d.index}`, JSON.stringify(recorded));
    if (outcome.kind === 'delivered') return;
    if (outcome.kind === 'gone') {
      sayNotDelivered('it answered 410 Gone; not retrying');
      throw new UnrecoverableError(`${maskUrlCredentials(d.url)} answered 410 Gone; not retrying`);
    }
    if (exhausted) {
      sayNotDelivered(`gave up after ${attempt} attempts: ${outcome.error}`);
      throw new UnrecoverableError(`gave up after ${attempt} attempts: ${outcome.error}`);
    }
    throw new RetryableDelivery(outcome.error, outcome.retryAfterMs);
  }

  // A notifier's attempt: its state goes on the task; a final failure is said in one line.
  async function notify(job: Job, token: string | undefined): Promise<void> {
    const parsed = NotifyJobSchema.safeParse(job.data);
    if (!parsed.success) {
      log(
        `notifier job ${job.id ?? '?'} is malformed and was dropped: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
      throw new UnrecoverableError('malformed notifier job data (written straight into Redis?): dropped');
    }
    const n = parsed.data;
    let attempt: NotifyAttempt;
    try {
      attempt = await deliverNotification(config, n, job.attemptsMade + 1, { signal: shutdown.signal });
    } catch (error) {
      attempt = {
        state: {
          ...pendingNotifierState(config, n.name),
          state: 'failed',
          attempts: job.attemptsMade + 1,
          error: `internal error: ${describeError(error)}`,
          at: new Date().toISOString(),
        },
        retry: false,
      };
    }
    // Stopped by this worker's shutdown: handed back (no attempt spent) for the next worker.
    if (attempt.abandoned) {
      await job.moveToDelayed(Date.now() + HANDED_BACK_MS, token);
      throw new DelayedError();
    }
    // Workers on several hosts may have different notifiers and tokens: one that lacks what this
    // one needs leaves it to one that has it, for a while (its state says what it waits for).
    const waited = Date.now() - job.timestamp;
    if (attempt.lacks !== undefined && waited < HAND_BACK_LIMIT_MS) {
      const state = {
        ...attempt.state,
        state: 'retrying' as const,
        error: `${attempt.state.error} (waiting for a worker with ${attempt.lacks})`,
      };
      await setDeliveryField(redis, keys, n.task_id, `${NOTIFIER_PREFIX}${n.name}`, JSON.stringify(state));
      await job.moveToDelayed(Date.now() + handBackDelayMs(waited), token);
      throw new DelayedError();
    }
    await setDeliveryField(redis, keys, n.task_id, `${NOTIFIER_PREFIX}${n.name}`, JSON.stringify(attempt.state));
    if (attempt.state.state === 'delivered') return;
    const error = attempt.state.error ?? attempt.state.state;
    if (attempt.retry) throw new RetryableDelivery(error, attempt.retryAfterMs);
    log(`notifier ${n.name}: task ${n.task_id.slice(0, 8)} not announced: ${error}`);
    throw new UnrecoverableError(error);
  }

  let relaying: Promise<void> | undefined;
  const relay = () => {
    relaying ??= relayOutbox(redis, keys, queue, config, log)
      .then(
        () => undefined,
        (error: unknown) => log(`outbox relay failed: ${String(error)}`),
      )
      .finally(() => {
        relaying = undefined;
      });
    return relaying;
  };
  const sweep = setInterval(() => void relay(), RELAY_SWEEP_MS);
  void relay();
  await worker.waitUntilReady();
  return {
    queue,
    relay,
    async close() {
      clearInterval(sweep);
      // Attempts under way end and are recorded before the worker goes: an attempt cut off would
      // be made again by the next worker, and a gateway that heard it would wake its agent twice.
      // An HTTP attempt ends at its timeout; command notifiers still running after the grace are
      // stopped (not left behind without their timeout) and handed back.
      // Bounded all the same: with Redis gone, recording an attempt waits for it, and the process
      // is about to exit (what is left active is found stalled and made again, as before).
      const stopping = setTimeout(() => shutdown.abort(), CLOSE_GRACE_MS);
      const given = new AbortController();
      await Promise.race([
        worker.close(),
        sleep(closeLimitMs(config), undefined, { signal: given.signal }).catch(() => undefined),
      ]);
      given.abort();
      clearTimeout(stopping);
      shutdown.abort();
      await queue.close();
    },
  };
}
