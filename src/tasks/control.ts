// Acting on tasks: kill, wait for their end, retry as a new task, clean up what they left.
import { UserFacingError, TaskNotFoundError } from '../errors.js';
import { hostRunner } from '../git/host-runner.js';
import { removeTaskWorktree, type TaskGit } from '../git/task-worktree.js';
import { createExecutor } from '../executors/create-executor.js';
import type { CleanedUp } from '../executors/executor.js';
import type { TaskClient } from './client.js';
import type { TaskView } from './record.js';
import { isEndedStatus, isWaitingStatus } from './status.js';
import { endWaitingTask } from './settle.js';
import { requestStop, type StopKind } from './stop.js';
import { taskWordKeys } from './search.js';
import { removeCompletionRecord } from '../notify/completion-record.js';

export type KillResult =
  | { kind: 'already-ended'; view: TaskView }
  | { kind: 'cancelled'; view: TaskView }
  | { kind: 'stop-requested'; view: TaskView };

/**
 * Kills a task. A task that has not started (blocked, scheduled, queued) leaves its queue and ends
 * `cancelled`, and the tasks that run after it are cancelled too; a running one gets a durable stop
 * request that its worker acts on (SIGTERM to the process group, the grace period, SIGKILL).
 */
export async function killTask(
  client: TaskClient,
  idOrPrefix: string,
  graceMs: number,
  kind: StopKind = 'killed',
  reason?: string,
): Promise<KillResult> {
  const view = await client.get(idOrPrefix);
  if (isEndedStatus(view.status)) return { kind: 'already-ended', view };
  const id = view.record.id;
  if (isWaitingStatus(view.status)) {
    // Not started: its job leaves the queue, and what waited on it is settled.
    if ((await endWaitingTask(client, view.record, reason)) === 'ended') {
      return { kind: 'cancelled', view: await client.get(id) };
    }
    // A worker took it in the meantime: stop it like a running task.
  }
  await requestStop(client.redis, client.keys, id, {
    kind,
    graceMs,
    reason: reason ?? (kind === 'killed' ? 'killed on request' : 'timed out'),
  });
  return { kind: 'stop-requested', view };
}

export class WaitTimeoutError extends UserFacingError {
  constructor(pending: string[]) {
    super('WAIT_TIMEOUT', `not ended within the --timeout: ${pending.join(', ')}`);
  }
}

/** How often `wait` re-reads every task it waits for, in case an end notice was missed. */
const WAIT_RECHECK_MS = 5000;

/**
 * Resolves when every task has ended, with their final views in the order given. Listens on the
 * ended channel (each task's end is announced in the step that ends it) and re-reads only the
 * tasks announced, so waiting on thousands of tasks costs a read per ended task, not per log line.
 * Everything is re-read at the start (after subscribing, so no end is missed) and every few
 * seconds (a notice lost with a dropped connection only delays the answer). Rejects with
 * {@link WaitTimeoutError} when `timeoutMs` passes first, and with the signal's reason when it aborts.
 */
export async function waitForTasks(
  client: TaskClient,
  ids: string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<TaskView[]> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const done = new Map<string, TaskView>();
  const pending = new Set(ids);
  const announced = new Set<string>();
  let wake: (() => void) | undefined;
  const unsubscribe = await client.onTaskEnded((id) => {
    if (!pending.has(id)) return;
    announced.add(id);
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    let everything = true;
    for (;;) {
      options.signal?.throwIfAborted();
      const check = [...(everything ? pending : announced)];
      announced.clear();
      if (check.length > 0) {
        const views = await client.views(check);
        const found = new Set(views.map((view) => view.record.id));
        const gone = check.find((id) => !found.has(id));
        if (gone) throw new TaskNotFoundError(gone);
        for (const view of views) {
          if (!isEndedStatus(view.status)) continue;
          done.set(view.record.id, view);
          pending.delete(view.record.id);
        }
      }
      if (pending.size === 0) return ids.map((id) => done.get(id)!);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitTimeoutError([...pending]);
      everything = await new Promise<boolean>((resolve) => {
        // An end announced, or the wait cancelled, while the views were read: no pause.
        if (announced.size > 0 || options.signal?.aborted) {
          resolve(false);
          return;
        }
        const timer = setTimeout(
          () => {
            wake = undefined;
            resolve(true);
          },
          Math.min(remaining, WAIT_RECHECK_MS),
        );
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve(false);
        };
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}

/** How often `pause --wait` looks at the executor's running tasks. */
const IDLE_POLL_MS = 500;

/**
 * Resolves when no task of the executor runs (for `pause --wait`), with how many ran when it was
 * called. Rejects with {@link WaitTimeoutError} when `timeoutMs` passes first.
 */
export async function waitForIdleExecutor(
  client: TaskClient,
  executor: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const queue = client.queue(client.executorConfig(executor).name);
  for (;;) {
    options.signal?.throwIfAborted();
    const running = await queue.getActiveCount();
    if (running === 0) return;
    if (Date.now() >= deadline) throw new WaitTimeoutError([`${running} task(s) of executor "${executor}"`]);
    await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
  }
}

/** Enqueues a new task with the same request as an earlier one. */
export async function retryTask(client: TaskClient, idOrPrefix: string): Promise<{ id: string; executor: string }> {
  const view = await client.get(idOrPrefix);
  const request = await client.request(view);
  if (!request) {
    throw new UserFacingError(
      'TASK_NOT_FOUND',
      `the request of task ${view.record.id} is no longer kept (its retention passed); enqueue it anew`,
    );
  }
  // The same notifiers (none stays none), less those the config no longer has.
  const notify = (request.notify ?? []).filter((name) => Object.hasOwn(client.config.notifiers, name));
  const wakesOpenClaw = notify.some((name) => client.config.notifiers[name]?.type === 'openclaw');
  return client.enqueue({
    executor: request.executor,
    payload: request.payload,
    labels: request.labels,
    name: request.name,
    timeoutMs: request.timeoutMs,
    callbackUrl: request.callbackUrl,
    notify,
    notifySession: wakesOpenClaw ? request.notifySession : undefined,
    retries: request.retries,
    backoffMs: request.backoffMs,
    // Its place in line and its key, not its dependencies or start time: those were met or passed.
    priority: request.priority,
    concurrencyKey: request.concurrencyKey,
    concurrencyLimit: request.concurrencyLimit,
    onLimit: request.onLimit,
    limitWaits: request.limitWaits,
    // A request checked when it was made, maybe by an earlier version: it runs again as it did.
    replayed: true,
  });
}

/**
 * Removes an ended task entirely: its job, record, log, index entries, and what it left where it
 * ran: local spool directories on this host, remote task directories over SSH, containers (with
 * their anonymous volumes) on the engine.
 */
export async function cleanupTask(
  client: TaskClient,
  idOrPrefix: string,
  options: { deleteBranch?: boolean } = {},
): Promise<{
  id: string;
  removedDirs: string[];
  removedContainers: string[];
  worktree?: 'removed' | 'gone' | 'in-use';
}> {
  const view = await client.get(idOrPrefix);
  const id = view.record.id;
  if (!isEndedStatus(view.status)) {
    throw new UserFacingError(
      'INVALID_INPUT',
      `task ${id} is ${view.status}; kill it first (\`openclaw-agent kill ${id.slice(0, 8)}\`)`,
    );
  }
  // Its worktree first (the branch too with deleteBranch): the record says where it is.
  const worktree = view.record.git
    ? await removeWorktreeOf(client, view.record.executor, view.record.git, options.deleteBranch ?? false)
    : undefined;
  const job = await client.queue(view.record.executor).getJob(id);
  await job?.remove().catch(() => {});
  const executorConfig = client.config.executors.find((e) => e.name === view.record.executor);
  let removed: CleanedUp = { dirs: [], containers: [] };
  if (executorConfig) {
    const executor = createExecutor(executorConfig);
    try {
      removed = await executor.cleanup({
        taskId: id,
        executor: executorConfig,
        runs: view.record.attempt,
        handle: view.record.handle,
      });
    } finally {
      await executor.close?.();
    }
  }
  // The original tool's completion file, where a worker on this host wrote it.
  try {
    removeCompletionRecord(id);
  } catch {
    // A file we may not remove (another user's home, a directory in its place) keeps the task's
    // record from nothing: the sweep or its owner removes it.
  }
  await client.forget(id, undefined, taskWordKeys(client.keys.prefix, view.record));
  return { id, removedDirs: removed.dirs, removedContainers: removed.containers, worktree };
}

// Removes a task's worktree on its executor's host.
async function removeWorktreeOf(
  client: TaskClient,
  executor: string,
  git: TaskGit,
  deleteBranch: boolean,
): Promise<'removed' | 'gone' | 'in-use' | undefined> {
  const config = client.config.executors.find((e) => e.name === executor);
  const runner = config ? hostRunner(config) : undefined;
  if (runner === undefined) return undefined;
  try {
    return await removeTaskWorktree(runner, git, deleteBranch);
  } finally {
    runner.close();
  }
}
