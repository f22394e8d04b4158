// Bull Board inside the dashboard, with each job shown as a task summary that holds no env values.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Job } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readLogTail } from '../src/logs/log-stream.js';
import { DELIVERY_QUEUE } from '../src/notify/delivery-worker.js';
import type { TaskClient } from '../src/tasks/client.js';
import { TASK_TYPE_ICONS, TaskRequestSchema, describePayload, type TaskRequest } from '../src/tasks/request.js';
import { parseRecordHash, type TaskRecord } from '../src/tasks/record.js';
import { sendError } from './http-errors.js';

// Bull Board at /queues: every executor queue and the callbacks queue. Job data is the task
// request, which holds env values, so jobs are shown through a readable summary instead: the
// record's status and exit code, the command or prompt, env keys only, and the recent output.

export const QUEUES_PATH = '/queues';
const SUMMARY_MARK = '__openclaw_summary';
const LIST_OUTPUT_LINES = 5;
const JOB_OUTPUT_LINES = 40;

/** The URL's origin: webhook paths often hold tokens. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Any job data with env values and URL paths taken out: the last guard before data leaves. */
export function redactJobData(data: unknown): unknown {
  if (Array.isArray(data)) return data.map(redactJobData);
  if (data === null || typeof data !== 'object') return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'env' && value !== null && typeof value === 'object') out.env_keys = Object.keys(value);
    else if ((key === 'url' || key === 'callbackUrl') && typeof value === 'string')
      out[key === 'url' ? 'target' : 'callback'] = originOf(value);
    else out[key] = redactJobData(value);
  }
  return out;
}

function describeTask(
  request: TaskRequest | undefined,
  record: TaskRecord | undefined,
  output: string[] | undefined,
): Record<string, unknown> {
  const payload = request?.payload;
  const type = record?.taskType ?? payload?.type;
  const what = record?.summary ?? (payload ? describePayload(payload) : '');
  return {
    [SUMMARY_MARK]: true,
    task: `${type ? TASK_TYPE_ICONS[type] : ''} ${record?.name ?? shorten(what.split('\n')[0] ?? '', 120)}`.trim(),
    type,
    status: record?.outcome ?? (record?.startedAt !== undefined ? 'started' : 'not started'),
    exit_code: record?.exitCode ?? null,
    ...(record?.error ? { error: record.error } : {}),
    [type === 'claude_code' ? 'prompt' : 'command']: shorten(what, 2000),
    workdir: record?.workdir ?? null,
    labels: record?.labels ?? request?.labels ?? [],
    env_keys: record?.envKeys ?? (payload?.type === 'shell_command' ? Object.keys(payload.env) : []),
    timeout_ms: request?.timeoutMs ?? null,
    retries: request?.retries ?? 0,
    ...(request?.callbackUrl ? { callback: originOf(request.callbackUrl) } : {}),
    ...(record?.claude
      ? {
          claude: {
            turns: record.claude.num_turns ?? record.claude.turns,
            cost_usd: record.claude.total_cost_usd,
            subtype: record.claude.subtype,
          },
        }
      : {}),
    task_page: record ? `/tasks/${record.id}` : undefined,
    recent_output: output ?? [],
  };
}

/**
 * A BullMQ adapter whose jobs carry a task summary as their data (list pages and job pages alike)
 * and whose job logs are the task's output.
 */
class TaskQueueAdapter extends BullMQAdapter {
  constructor(
    queue: ReturnType<TaskClient['queue']>,
    private readonly client: TaskClient,
    readOnly: boolean,
  ) {
    super(queue, {
      readOnlyMode: readOnly,
      // A task is run again by the panel's retry (a new task); re-running the job would only re-attach.
      allowRetries: false,
      description: 'Tasks of this executor; the task panel (/) shows them with live logs',
      externalJobUrl: (job) => ({ displayText: 'Task page', href: `/tasks/${encodeURIComponent(String(job.id))}` }),
    });
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    if (job) await this.summarize([job], JOB_OUTPUT_LINES);
    return job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    const jobs = await super.getJobs(...args);
    await this.summarize(jobs, LIST_OUTPUT_LINES);
    return jobs;
  }

  override async getJobLogs(id: string): Promise<string[]> {
    const { entries } = await readLogTail(this.client.redis, this.client.keys, id, 200);
    const text = entries.map((e) => (e.kind === 'output' ? e.text : `[end: ${e.end.status}]\n`)).join('');
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }

  private async summarize(jobs: Job[], lines: number): Promise<void> {
    await Promise.all(
      jobs.map(async (job) => {
        const id = String(job.id);
        const parsed = TaskRequestSchema.safeParse(job.data);
        const [hash, tail] = await Promise.all([
          this.client.redis.hgetall(this.client.keys.record(id)),
          readLogTail(this.client.redis, this.client.keys, id, lines),
        ]);
        const output = tail.entries
          .flatMap((e) => (e.kind === 'output' ? [e.text] : []))
          .join('')
          .split('\n')
          .filter((l, i, all) => l !== '' || i < all.length - 1);
        job.data = describeTask(
          parsed.success ? parsed.data : undefined,
          parseRecordHash(hash),
          output.map((l) => shorten(l, 300)),
        );
      }),
    );
  }
}

function isSummary(data: unknown): boolean {
  return data !== null && typeof data === 'object' && SUMMARY_MARK in data;
}

/** The readable job name: icon and name, or the command or prompt shortened. */
function jobName(job: { name?: string; data?: unknown }): string {
  const data = job.data as { task?: unknown } | undefined;
  return isSummary(job.data) && typeof data?.task === 'string' ? data.task : (job.name ?? '');
}

function stripMark(data: unknown): unknown {
  if (!isSummary(data)) return redactJobData(data);
  const rest: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  delete rest[SUMMARY_MARK];
  return rest;
}

// Bull Board routes that would write job data by hand or re-run a job behind the task record's
// back: adding jobs, editing their data, retrying them. Allowed on the callbacks queue only
// (re-delivering a webhook is what its retry is for). Named by route pattern, as the router
// matched it: `/queues/api/queues/local/%61dd` is the add route all the same.
const GUARDED_ROUTES = new Set(
  [
    '/:queueName/add',
    '/:queueName/:jobId/update-data',
    '/:queueName/:jobId/retry',
    '/:queueName/retry/:queueStatus',
  ].map((route) => `${QUEUES_PATH}/api/queues${route}`),
);

/** Registers Bull Board under /queues. */
export async function registerQueuesBoard(
  app: FastifyInstance,
  client: TaskClient,
  options: { readOnly: boolean },
): Promise<void> {
  const executorQueues = client.config.executors.map((e) => {
    const adapter = new TaskQueueAdapter(client.queue(e.name), client, options.readOnly);
    adapter.setFormatter('data', stripMark);
    adapter.setFormatter('name', jobName);
    return adapter;
  });
  const callbacks = new BullMQAdapter(client.queue(DELIVERY_QUEUE), {
    readOnlyMode: options.readOnly,
    description: 'Completion webhook deliveries (signed, retried)',
  });
  callbacks.setFormatter('data', redactJobData);
  callbacks.setFormatter(
    'name',
    (job: { data?: { task_id?: unknown } }) =>
      `webhook for ${typeof job.data?.task_id === 'string' ? job.data.task_id.slice(0, 8) : '?'}`,
  );

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: [...executorQueues, callbacks],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'openclaw-agent',
        miscLinks: [
          { text: 'Task panel', url: '/' },
          { text: 'Log out', url: '/logout' },
        ],
        hideDocsLink: true,
      },
    },
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !GUARDED_ROUTES.has(route) || request.method === 'GET') return undefined;
    // The queue name as the router decoded it: the very name Bull Board's handler is given.
    if ((request.params as { queueName?: unknown }).queueName === DELIVERY_QUEUE) return undefined;
    return sendError(
      reply,
      403,
      'tasks are not added, edited or re-run through Bull Board: use the task panel (/) or `openclaw-agent retry`',
    );
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUES_PATH });
}
