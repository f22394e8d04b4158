import { rm } from 'node:fs/promises';
import path from 'node:path';
import { OcaError } from './errors.js';
import { buildCompletionPayload } from './completion-record.js';
import { callbackUrls } from './task-callbacks.js';
import { finishTask } from './task-finish.js';
import { TaskRequestSchema } from './task-payload.js';
import { spoolRoot } from './paths.js';
import type { TaskClient } from './task-client.js';
import type { TaskView } from './task-record.js';
import { isEndedStatus } from './task-status.js';
import { requestStop, type StopKind } from './task-stop.js';

export type KillResult =
  | { kind: 'already-ended'; view: TaskView }
  | { kind: 'cancelled'; view: TaskView }
  | { kind: 'stop-requested'; view: TaskView };

/**
 * Kills a task. A queued task leaves its queue and ends `cancelled`; a running one gets a durable
 * stop request that its worker acts on (SIGTERM to the process group, the grace period, SIGKILL).
 */
export async function killTask(client: TaskClient, idOrPrefix: string, graceMs: number, kind: StopKind = 'killed'): Promise<KillResult> {
  const view = await client.get(idOrPrefix);
  if (isEndedStatus(view.status)) return { kind: 'already-ended', view };
  const id = view.record.id;
  if (view.status === 'queued') {
    const job = await client.queue(view.record.executor).getJob(id);
    const parsed = TaskRequestSchema.safeParse(job?.data);
    const removed = job ? await job.remove().then(() => true, () => false) : true;
    if (removed) {
      // A task waiting for a retry has run before: it is killed, not cancelled.
      const retrying = view.record.attempts.length > 0;
      const end = {
        outcome: retrying ? ('killed' as const) : ('cancelled' as const),
        exitCode: null,
        signal: null,
        error: retrying ? `killed while waiting for attempt ${view.record.attempts.length + 1}` : 'cancelled before it started',
        finishedAt: Date.now(),
      };
      const urls = parsed.success ? callbackUrls(parsed.data.callbackUrl, client.config) : [];
      const outboxEntry =
        urls.length > 0
          ? JSON.stringify({ task_id: id, urls, body: buildCompletionPayload({ ...view.record, ...end, signal: undefined, exitCode: undefined }) })
          : undefined;
      await finishTask(client.redis, client.keys, id, end, {
        retentionMs: client.config.retention,
        maxLogEntries: client.config.logs.max_entries,
        outboxEntry,
      });
      return { kind: 'cancelled', view: await client.get(id) };
    }
    // A worker took it in the meantime: stop it like a running task.
  }
  const reason = kind === 'killed' ? 'killed on request' : 'timed out';
  await requestStop(client.redis, client.keys, id, { kind, graceMs, reason });
  return { kind: 'stop-requested', view };
}

export class WaitTimeoutError extends OcaError {
  constructor(pending: string[]) {
    super('WAIT_TIMEOUT', `still running after the --timeout: ${pending.join(', ')}`);
  }
}

/**
 * Resolves when every task has ended, with their final views in the order given. Blocks on the
 * tasks' log streams (every task ends with an end marker), so it wakes as soon as one ends.
 */
export async function waitForTasks(client: TaskClient, ids: string[], options: { timeoutMs?: number } = {}): Promise<TaskView[]> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const done = new Map<string, TaskView>();
  const blocking = client.redis.duplicate();
  blocking.on('error', () => {});
  try {
    for (;;) {
      const pending = ids.filter((id) => !done.has(id));
      // The newest entry id first, then the status: an end marker added after it wakes XREAD.
      const lastIds = await Promise.all(
        pending.map(async (id) => {
          const last = (await client.redis.xrevrange(client.keys.log(id), '+', '-', 'COUNT', 1)) as [string, string[]][];
          return last[0]?.[0] ?? '0';
        }),
      );
      for (const id of pending) {
        const view = await client.get(id);
        if (isEndedStatus(view.status)) done.set(id, view);
      }
      const still = pending.filter((id) => !done.has(id));
      if (still.length === 0) return ids.map((id) => done.get(id)!);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitTimeoutError(still);
      const keys = still.map((id) => client.keys.log(id));
      const from = still.map((id) => lastIds[pending.indexOf(id)]!);
      await blocking.xread('COUNT', 1, 'BLOCK', Math.max(1, Math.min(1000, remaining)), 'STREAMS', ...keys, ...from);
    }
  } finally {
    blocking.disconnect();
  }
}

/** Enqueues a new task with the same request as an earlier one. */
export async function retryTask(client: TaskClient, idOrPrefix: string): Promise<{ id: string; executor: string }> {
  const view = await client.get(idOrPrefix);
  const request = await client.request(view);
  if (!request) {
    throw new OcaError('TASK_NOT_FOUND', `the request of task ${view.record.id} is no longer kept (its retention passed); enqueue it anew`);
  }
  return client.enqueue({
    executor: request.executor,
    payload: request.payload,
    labels: request.labels,
    name: request.name,
    timeoutMs: request.timeoutMs,
    callbackUrl: request.callbackUrl,
    retries: request.retries,
    backoffMs: request.backoffMs,
  });
}

/**
 * Removes an ended task entirely: its job, record, log, index entries and, for a local executor,
 * its spool directories on this host.
 */
export async function cleanupTask(client: TaskClient, idOrPrefix: string): Promise<{ id: string; removedDirs: string[] }> {
  const view = await client.get(idOrPrefix);
  const id = view.record.id;
  if (!isEndedStatus(view.status)) {
    throw new OcaError('INVALID_INPUT', `task ${id} is ${view.status}; kill it first (\`openclaw-agent kill ${id.slice(0, 8)}\`)`);
  }
  const job = await client.queue(view.record.executor).getJob(id);
  await job?.remove().catch(() => {});
  const removedDirs: string[] = [];
  const executor = client.config.executors.find((e) => e.name === view.record.executor);
  if (executor?.type === 'local') {
    const root = spoolRoot(executor.spool_dir);
    for (let attempt = 1; attempt <= Math.max(1, view.record.attempt); attempt++) {
      const dir = path.join(root, attempt === 1 ? id : `${id}.${attempt}`);
      await rm(dir, { recursive: true, force: true });
      removedDirs.push(dir);
    }
  }
  await client.forget(id);
  return { id, removedDirs };
}
