// One notifier delivery job: tell one notifier of a task's end, record how it went, retry or give up.
import { z } from 'zod';
import type { LoadedConfig } from '../config/config.js';
import type { NotifierState } from '../tasks/record.js';
import { runCommandNotifier } from './command-notifier.js';
import { taskSigningKey, UNSIGNED_ANNOUNCEMENT_ERROR, verifyAnnouncement } from '../tasks/signing.js';
import { notifierSecretEnv, notifierTarget, type NotifierConfig } from './notifier-config.js';
import { postWake } from './openclaw-wake.js';
import { formatWakeText, TaskEndEventSchema } from './task-end-event.js';

/** A notifier's delivery job in the callbacks queue: who, and the task's end as it may be told. */
export const NotifyJobSchema = z.object({
  task_id: z.string().min(1),
  name: z.string().min(1),
  event: TaskEndEventSchema,
  session: z.string().optional(),
  /** The announcement's signature, when the deployment signs (task-signing.ts). */
  signature: z.string().max(128).optional(),
});
export type NotifyJob = z.infer<typeof NotifyJobSchema>;

/**
 * One attempt's result: the state to record, and whether (and not before when) to try again.
 * `abandoned`: the worker is shutting down and stopped it; nothing is recorded and the next
 * worker makes the attempt.
 */
export interface NotifyAttempt {
  state: Omit<NotifierState, 'name'>;
  retry: boolean;
  retryAfterMs?: number;
  abandoned?: boolean;
  /**
   * What this worker's config or environment lacks to make the attempt (the notifier, its token):
   * a worker on another host may have it, so the job is handed back rather than failed at once.
   */
  lacks?: string;
}

/** The state a notifier's delivery starts in, before its first attempt. */
export function pendingNotifierState(config: LoadedConfig, name: string): Omit<NotifierState, 'name'> {
  const notifier = config.notifiers[name];
  return {
    type: notifier?.type ?? 'command',
    target: notifier ? notifierTarget(notifier) : '-',
    state: 'pending',
    attempts: 0,
  };
}

/** Delays between attempts of a notifier: its retry schedule; none for commands. */
export function notifierSchedule(config: LoadedConfig, name: string): readonly number[] {
  const notifier = config.notifiers[name];
  return notifier?.type === 'openclaw' ? notifier.retrySchedule : [];
}

/**
 * Makes attempt number `attempt` (1 for the first) of one notifier's announcement. An OpenClaw
 * wake is retried on no answer, 408, 429 and 5xx until its schedule runs out; a refusal, a
 * missing token and a command's failure are final. Never throws for a failed delivery.
 */
export async function deliverNotification(
  config: LoadedConfig,
  job: NotifyJob,
  attempt: number,
  options: { signal?: AbortSignal } = {},
): Promise<NotifyAttempt> {
  const notifier: NotifierConfig | undefined = config.notifiers[job.name];
  const at = new Date().toISOString();
  if (!notifier) {
    const where = config.sourcePath ?? 'the built-in config';
    const error = `no notifier "${job.name}" in this worker's config (${where}) — add it under \`notifiers:\` and restart the worker`;
    return {
      state: { type: 'command', target: '-', state: 'failed', attempts: attempt, error, at },
      retry: false,
      lacks: `the notifier "${job.name}"`,
    };
  }
  const base = { type: notifier.type, target: notifierTarget(notifier), attempts: attempt, at };
  // With a signing key, only what a worker of this deployment wrote is told.
  const key = taskSigningKey(config);
  if (
    key !== undefined &&
    !verifyAnnouncement(
      key,
      { task_id: job.task_id, name: job.name, event: job.event, session: job.session },
      job.signature,
    )
  ) {
    return { state: { ...base, state: 'failed', error: UNSIGNED_ANNOUNCEMENT_ERROR }, retry: false };
  }
  if (notifier.type === 'command') {
    const outcome = await runCommandNotifier(notifier, job.event, {
      secretEnv: notifierSecretEnv(config.notifiers),
      signal: options.signal,
    });
    if (outcome.kind === 'delivered') return { state: { ...base, state: 'delivered', exit_code: 0 }, retry: false };
    if (outcome.kind === 'stopped') return { state: { ...base, state: 'pending' }, retry: false, abandoned: true };
    return { state: { ...base, state: 'failed', exit_code: outcome.exitCode, error: outcome.error }, retry: false };
  }
  const token = process.env[notifier.tokenEnv];
  if (!token) {
    return {
      state: {
        ...base,
        state: 'failed',
        error: `${notifier.tokenEnv} is not set in the worker's environment — set it to the gateway's hooks.token`,
      },
      retry: false,
      lacks: notifier.tokenEnv,
    };
  }
  const outcome = await postWake(notifier, token, {
    text: formatWakeText(job.event),
    mode: notifier.mode,
    ...(notifier.agentId !== undefined ? { agentId: notifier.agentId } : {}),
    ...(job.session !== undefined ? { sessionKey: job.session } : {}),
  });
  if (outcome.kind === 'delivered')
    return { state: { ...base, state: 'delivered', status: outcome.status, outcome: outcome.outcome }, retry: false };
  if (outcome.kind === 'failed')
    return { state: { ...base, state: 'failed', status: outcome.status, error: outcome.error }, retry: false };
  const exhausted = attempt > notifier.retrySchedule.length;
  const error = exhausted ? `gave up after ${attempt} attempts: ${outcome.error}` : outcome.error;
  return {
    state: { ...base, state: exhausted ? 'failed' : 'retrying', status: outcome.status, error },
    retry: !exhausted,
    retryAfterMs: outcome.retryAfterMs,
  };
}
