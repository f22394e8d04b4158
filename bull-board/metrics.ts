// The dashboard's /metrics for Prometheus: queues, workers, stuck queues, ended tasks, run times, webhook deliveries.
import { DELIVERY_QUEUE } from '../src/notify/delivery-worker.js';
import type { TaskClient } from '../src/tasks/client.js';
import { ENDED_STATUSES, type EndedStatus } from '../src/tasks/status.js';
import { readOldestQueuedAge } from '../src/tasks/oldest-queued.js';

// `/metrics` in the Prometheus text format. Queue figures come from BullMQ; ended tasks and the
// duration histogram cover the task records still kept (the retention window), read in pages.

/** Upper bounds (seconds) of the duration histogram's buckets. */
export const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400];
const ENDED = ENDED_STATUSES;
const PAGE = 1000;

interface Sample {
  labels?: Record<string, string>;
  value: number;
  suffix?: string;
}

function family(name: string, type: 'gauge' | 'histogram', help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const sample of samples) {
    const labels = Object.entries(sample.labels ?? {});
    const rendered = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
    lines.push(`${name}${sample.suffix ?? ''}${rendered} ${formatValue(sample.value)}`);
  }
  return lines.join('\n');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : 'NaN';
}

/** Counts of ended tasks by status and their durations, from the kept records. */
async function endedTasks(client: TaskClient): Promise<{ byStatus: Map<EndedStatus, number>; durations: number[] }> {
  const byStatus = new Map<EndedStatus, number>(ENDED.map((s) => [s, 0]));
  const durations: number[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const ids = await client.redis.zrange(client.keys.byCreated(), offset, offset + PAGE - 1);
    if (ids.length === 0) break;
    const pipeline = client.redis.pipeline();
    for (const id of ids) pipeline.hmget(client.keys.record(id), 'outcome', 'started_at', 'finished_at');
    for (const [, fields] of (await pipeline.exec()) ?? []) {
      const [outcome, started, finished] = (fields ?? []) as (string | null)[];
      if (!outcome || !byStatus.has(outcome as EndedStatus)) continue;
      byStatus.set(outcome as EndedStatus, byStatus.get(outcome as EndedStatus)! + 1);
      if (started && finished) durations.push(Math.max(0, Number(finished) - Number(started)) / 1000);
    }
    if (ids.length < PAGE) break;
  }
  return { byStatus, durations };
}

// One sample per host with workers of `executor`: how many.
function workersByHost(executor: string, workers: readonly { host: string }[]): Sample[] {
  const byHost = new Map<string, number>();
  for (const w of workers) byHost.set(w.host, (byHost.get(w.host) ?? 0) + 1);
  return [...byHost].map(([host, value]) => ({ labels: { executor, host }, value }));
}

/** The whole exposition. */
export async function renderMetrics(client: TaskClient): Promise<string> {
  const executors = client.config.executors.map((e) => e.name);
  const [counts, services] = await Promise.all([
    Promise.all(
      executors.map(async (name) => {
        const queue = client.queue(name);
        const [jobs, workers, oldestMs] = await Promise.all([
          queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active'),
          queue.getWorkersCount().catch(() => 0),
          readOldestQueuedAge(client.redis, client.prefix, name),
        ]);
        return { name, jobs, workers, oldestMs };
      }),
    ),
    client.executorWorkers(executors),
  ]);
  const callbacks = await client
    .queue(DELIVERY_QUEUE)
    .getJobCounts('failed', 'delayed', 'waiting', 'active', 'completed');
  const { byStatus, durations } = await endedTasks(client);

  const buckets = DURATION_BUCKETS.map((le) => ({ le, count: durations.filter((d) => d <= le).length }));
  const histogram: Sample[] = [
    ...buckets.map(({ le, count }) => ({ suffix: '_bucket', labels: { le: String(le) }, value: count })),
    { suffix: '_bucket', labels: { le: '+Inf' }, value: durations.length },
    { suffix: '_sum', value: Math.round(durations.reduce((a, b) => a + b, 0) * 1000) / 1000 },
    { suffix: '_count', value: durations.length },
  ];
  const depth = (j: Record<string, number>) => (j.waiting ?? 0) + (j.delayed ?? 0) + (j.prioritized ?? 0);
  return `${[
    family(
      'openclaw_queue_depth',
      'gauge',
      'Tasks waiting in each executor queue (waiting, delayed and prioritized jobs).',
      counts.map((c) => ({ labels: { executor: c.name }, value: depth(c.jobs) })),
    ),
    family(
      'openclaw_tasks_running',
      'gauge',
      'Tasks running on each executor (active jobs).',
      counts.map((c) => ({ labels: { executor: c.name }, value: c.jobs.active ?? 0 })),
    ),
    family(
      'openclaw_workers',
      'gauge',
      'Workers connected to each executor queue.',
      counts.map((c) => ({ labels: { executor: c.name }, value: c.workers })),
    ),
    family(
      'openclaw_workers_live',
      'gauge',
      'Worker processes announcing themselves for each executor (their beat within worker.presence_ttl); 0: nobody serves it.',
      executors.map((name) => ({ labels: { executor: name }, value: services.get(name)?.workers.length ?? 0 })),
    ),
    family(
      'openclaw_workers_live_by_host',
      'gauge',
      'Live worker processes of each executor on each host.',
      executors.flatMap((name) => workersByHost(name, services.get(name)?.workers ?? [])),
    ),
    family(
      'openclaw_oldest_queued_seconds',
      'gauge',
      'How long the oldest task waiting to be taken in each executor queue has waited (0 when none waits).',
      counts.map((c) => ({ labels: { executor: c.name }, value: Math.round(c.oldestMs / 100) / 10 })),
    ),
    family(
      'openclaw_tasks_ended',
      'gauge',
      'Ended tasks whose records are still kept (retention), by status.',
      ENDED.map((status) => ({ labels: { status }, value: byStatus.get(status) ?? 0 })),
    ),
    family(
      'openclaw_task_duration_seconds',
      'histogram',
      'Run time of the ended tasks still kept (retention), from start to end.',
      histogram,
    ),
    family(
      'openclaw_webhook_delivery_failures',
      'gauge',
      'Webhook and notifier deliveries that gave up (failed jobs kept in the callbacks queue).',
      [{ value: callbacks.failed ?? 0 }],
    ),
    family(
      'openclaw_webhook_deliveries_retrying',
      'gauge',
      'Webhook and notifier deliveries waiting for their next attempt after a failed one.',
      [{ value: callbacks.delayed ?? 0 }],
    ),
    family(
      'openclaw_webhook_deliveries_completed',
      'gauge',
      'Webhook and notifier deliveries that succeeded (completed jobs kept in the callbacks queue).',
      [{ value: callbacks.completed ?? 0 }],
    ),
  ].join('\n')}\n`;
}
