/**
 * Redis keys of our own, beside BullMQ's `<prefix>:<queue>:…` keys. Executor (queue) names cannot
 * start with `_`, so `<prefix>:_…` never collides with a queue's keys.
 */
export class TaskKeys {
  constructor(readonly prefix: string) {}

  /** Hash: the task record (executor, times, handle, shipped offsets, outcome). */
  record(taskId: string): string {
    return `${this.prefix}:_task:${taskId}`;
  }

  /** Stream: the task's output. */
  log(taskId: string): string {
    return `${this.prefix}:_log:${taskId}`;
  }

  /** String: until when (ms) an executor's Claude tasks wait for the account's usage limit. */
  limitHold(executor: string): string {
    return `${this.prefix}:_limit:${executor}`;
  }

  /**
   * String with a short TTL: a host's heartbeat, refreshed by every worker of a local executor on
   * it. Gone means the host's workers stopped answering: its local tasks are out of everyone's reach.
   */
  hostHeartbeat(hostId: string): string {
    return `${this.prefix}:_host:${hostId}`;
  }

  /**
   * String with a short TTL (`worker.presence_ttl`): one worker process's presence, JSON of its
   * executor, host, pid, version, slots and running count; refreshed by its beat, deleted on close.
   */
  workerPresence(workerId: string): string {
    return `${this.prefix}:_worker:${workerId}`;
  }

  /** Set: the ids of the workers that announced themselves for an executor (pruned when read). */
  executorWorkers(executor: string): string {
    return `${this.prefix}:_workers:${executor}`;
  }

  /** String with a short TTL: some worker of the executor beat lately (one read for dispatch). */
  executorServing(executor: string): string {
    return `${this.prefix}:_serving:${executor}`;
  }

  /** String, kept: when (ms) a worker of the executor last beat or closed — "no worker for 12m". */
  executorServed(executor: string): string {
    return `${this.prefix}:_served:${executor}`;
  }

  /** String: the diff of a task's worktree against its base, kept when it ended. */
  diff(taskId: string): string {
    return `${this.prefix}:_diff:${taskId}`;
  }

  /** Sorted set: task ids scored by creation time, for `list`. */
  byCreated(): string {
    return `${this.prefix}:_index:created`;
  }

  /** Pub/sub channel: task ids whose stop was just requested. */
  stopChannel(): string {
    return `${this.prefix}:_stop`;
  }

  /** Pub/sub channel: task ids that have just ended (a hint for `wait`; the record is the truth). */
  endedChannel(): string {
    return `${this.prefix}:_ended`;
  }

  /**
   * List: completions whose webhooks and notifiers still have to be queued (the outbox). A key of
   * its own since notifiers: relays of earlier versions, which read `_outbox` and would drop the
   * notifiers of an entry, never see these.
   */
  outbox(): string {
    return `${this.prefix}:_announce`;
  }

  /** List: the outbox of earlier versions (webhooks only), still relayed. */
  legacyOutbox(): string {
    return `${this.prefix}:_outbox`;
  }

  /** Sorted set: task ids at score 0, for prefix lookup with ZRANGEBYLEX. */
  ids(): string {
    return `${this.prefix}:_index:ids`;
  }

  /** Set: the tasks that run after this one (`--after`), to settle when it ends. */
  dependents(taskId: string): string {
    return `${this.prefix}:_after:${taskId}`;
  }

  /** Sorted set: blocked task ids by creation time, swept in case a release was missed. */
  blocked(): string {
    return `${this.prefix}:_index:blocked`;
  }

  /** Set: the concurrency keys with tasks that have not ended, for the sweep. */
  concurrencyKeys(): string {
    return `${this.prefix}:_index:concurrency`;
  }

  /** Set: the tasks holding a turn of concurrency key `key` (running, or between retries). */
  concurrencyHolders(key: string): string {
    return `${this.prefix}:_conc:${key}:holders`;
  }

  /** Sorted set: the tasks in line for a turn of `key` (taken, or `cancel-running`), first lowest. */
  concurrencyWaiters(key: string): string {
    return `${this.prefix}:_conc:${key}:waiters`;
  }

  /** Hash: when each waiter of `key` last looked for a turn (ms, Redis's clock). */
  concurrencyLooks(key: string): string {
    return `${this.prefix}:_conc:${key}:looks`;
  }

  /** Sorted set: every task of `key` that has not ended, by creation time (for replace-queued). */
  concurrencyTasks(key: string): string {
    return `${this.prefix}:_conc:${key}:tasks`;
  }

  /** Hash: a schedule (its cron, the task it makes, its last firing). */
  schedule(name: string): string {
    return `${this.prefix}:_schedule:${name}`;
  }

  /** Set: the names of the schedules. */
  schedules(): string {
    return `${this.prefix}:_index:schedules`;
  }

  /** String: held by the worker sweeping for unsettled ends (see sweepWaitingTasks). */
  sweepLock(): string {
    return `${this.prefix}:_lock:sweep`;
  }
}
