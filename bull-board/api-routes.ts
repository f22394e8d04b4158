// The dashboard's /api routes: enqueue, list, show, follow, diff, wait for, kill and retry tasks;
// pause and resume executors; add, show, pause, resume and remove schedules.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  apiFieldName,
  ApiCreateScheduleBodySchema,
  ApiCreateTaskBodySchema,
  taskPayloadOf,
  type ApiExecutor,
  type ApiScheduleTaskBody,
} from '../src/api/contract.js';
import { requireTime } from '../src/config/duration.js';
import { InvalidInputError, TaskNotFoundError, UserFacingError } from '../src/errors.js';
import { continueTask } from '../src/claude/continuation.js';
import {
  addSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  requireScheduleName,
  resumeSchedule,
  scheduleJson,
} from '../src/schedules/schedule-store.js';
import type { EnqueueInput, TaskClient } from '../src/tasks/client.js';
import { killTask, retryTask, waitForTasks, WaitTimeoutError } from '../src/tasks/control.js';
import { toTaskJson } from '../src/tasks/record.js';
import { readTaskDiff } from '../src/git/task-diff.js';
import { searchTasks } from '../src/tasks/search.js';
import { TASK_STATUSES, isEndedStatus } from '../src/tasks/status.js';
import { parseInput } from './http-errors.js';
import { registerInsightRoutes } from './insight-routes.js';
import { resumePoint, sendLogTail, streamLog } from './log-events.js';
import { acceptEmptyJsonBodies } from './optional-body.js';

// The REST API under /api. Bodies and queries are parsed by zod; failures are one line with a
// 4xx status (see http-errors.ts), and every task leaves as toTaskJson: env values never do.

const DEFAULT_GRACE_MS = 10_000;

const ListQuerySchema = z.object({
  status: z.enum(TASK_STATUSES).optional(),
  executor: z.string().min(1).optional(),
  type: z.enum(['claude_code', 'shell_command']).optional(),
  label: z.string().min(1).optional(),
  q: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

const LogQuerySchema = z.object({
  tail: z.coerce.number().int().min(0).max(100_000).optional(),
  view: z.enum(['raw', 'transcript']).default('raw'),
  after: z.string().max(40).optional(),
});

const KillBodySchema = z.strictObject({ grace_ms: z.number().int().min(0).max(3_600_000).optional() }).default({});
const WaitQuerySchema = z.strictObject({ timeout_ms: z.coerce.number().int().min(0).max(60_000).default(30_000) });
const IdParamsSchema = z.object({ id: z.string().min(1).max(100) });
const NameParamsSchema = z.object({ name: z.string().min(1).max(100) });
/** Pause and resume take no options: an empty body or none. */
const EmptyBodySchema = z.strictObject({}).default({});

/** A task body as the library's enqueue input; `at` is read as an ISO 8601 time. */
function enqueueInputOf(
  body: ApiScheduleTaskBody & { after?: string[]; after_any?: boolean; delay_ms?: number; at?: string },
): Omit<EnqueueInput, 'worktree' | 'id'> {
  return {
    executor: body.executor,
    payload: taskPayloadOf(body.payload, body.workdir),
    labels: body.labels,
    name: body.name,
    timeoutMs: body.timeout_ms,
    retries: body.retries,
    backoffMs: body.backoff_ms,
    callbackUrl: body.callback_url,
    notify: body.notify,
    notifySession: body.notify_session,
    onLimit: body.on_limit,
    limitWaits: body.limit_waits,
    after: body.after,
    afterAny: body.after_any,
    delayMs: body.delay_ms,
    runAt: body.at === undefined ? undefined : requireTime('`at`', body.at),
    priority: body.priority,
    concurrencyKey: body.concurrency_key,
    concurrencyLimit: body.concurrency_limit,
    onConflict: body.on_conflict,
  };
}

// A task body as the library's enqueue input; `continue` takes the ended task's session, workspace,
// executor and worktree (continuation.ts), as `start --continue` and MCP's `continue` do.
async function createInputOf(
  client: TaskClient,
  body: z.output<typeof ApiCreateTaskBodySchema>,
): Promise<EnqueueInput> {
  const input: EnqueueInput = { ...enqueueInputOf(body), worktree: body.worktree, id: body.id };
  if (body.continue === undefined || input.payload.type !== 'claude_code') return input;
  const earlier = await client.get(body.continue).catch((error: unknown) => {
    throw error instanceof TaskNotFoundError ? new InvalidInputError(`\`continue\`: ${error.message}`) : error;
  });
  const continued = continueTask(earlier, input.payload, body);
  return {
    ...input,
    payload: continued.payload,
    executor: continued.executor,
    worktree: continued.worktree ?? body.worktree,
  };
}

export async function registerApiRoutes(app: FastifyInstance, client: TaskClient): Promise<void> {
  const idOf = (request: FastifyRequest) => parseInput(IdParamsSchema, request.params).id;

  app.post('/api/tasks', async (request, reply) => {
    const body = parseInput(ApiCreateTaskBodySchema, request.body ?? {});
    const created = await client.enqueue(await createInputOf(client, body), apiFieldName);
    return reply.code(201).send({
      task_id: created.id,
      executor: created.executor,
      ...(created.conflicts ? { conflicts: created.conflicts } : {}),
      ...(created.warning !== undefined ? { warning: created.warning } : {}),
    });
  });

  app.get('/api/tasks', async (request) => {
    const query = parseInput(ListQuerySchema, request.query);
    const page = await searchTasks(client, {
      status: query.status,
      executor: query.executor,
      taskType: query.type,
      label: query.label,
      q: query.q,
      limit: query.limit,
      cursor: query.cursor,
    });
    const now = Date.now();
    return { tasks: page.views.map((view) => toTaskJson(view, now)), next_cursor: page.nextCursor ?? null };
  });

  app.get('/api/tasks/:id', async (request) => toTaskJson(await client.get(idOf(request))));

  app.get('/api/tasks/:id/logs', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = parseInput(LogQuerySchema, request.query);
    const view = await client.get(idOf(request));
    const transcript = query.view === 'transcript';
    if (query.tail !== undefined) return sendLogTail(client, view, query.tail, transcript, reply);
    const afterId = resumePoint(request, query.after);
    await streamLog(client, view, request, reply, { afterId, transcript });
    return reply;
  });

  // What a worktree task changed against its base: a unified diff as text.
  app.get('/api/tasks/:id/diff', async (request, reply) => {
    const diff = await readTaskDiff(client, await client.get(idOf(request)));
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(diff);
  });

  app.get('/api/tasks/:id/wait', async (request) => {
    const { timeout_ms: timeoutMs } = parseInput(WaitQuerySchema, request.query);
    const view = await client.get(idOf(request));
    if (isEndedStatus(view.status)) return { done: true, task: toTaskJson(view) };
    try {
      const [ended] = await waitForTasks(client, [view.record.id], { timeoutMs });
      return { done: true, task: toTaskJson(ended!) };
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      return { done: false, task: toTaskJson(await client.get(view.record.id)) };
    }
  });

  const executorsJson = (names: readonly string[]): Promise<ApiExecutor[]> => client.executorStates(names);
  app.get('/api/executors', async () => executorsJson(client.config.executors.map((e) => e.name)));

  // Kill, retry, pause and resume take an optional body or none: an empty JSON body is none.
  await app.register(async (bodyless) => {
    acceptEmptyJsonBodies(bodyless);

    bodyless.post('/api/tasks/:id/kill', async (request) => {
      const { grace_ms: graceMs } = parseInput(KillBodySchema, request.body ?? {});
      const result = await killTask(client, idOf(request), graceMs ?? DEFAULT_GRACE_MS);
      return { task_id: result.view.record.id, result: result.kind, status: result.view.status };
    });

    bodyless.post('/api/tasks/:id/retry', async (request, reply) => {
      const created = await retryTask(client, idOf(request));
      return reply.code(201).send({ task_id: created.id, executor: created.executor });
    });

    // Pausing stops the executor's workers taking new tasks; running ones go on.
    for (const [action, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const) {
      bodyless.post(`/api/executors/:name/${action}`, async (request) => {
        parseInput(EmptyBodySchema, request.body ?? {});
        const name = client.executorConfig(parseInput(NameParamsSchema, request.params).name).name;
        await client.setExecutorPaused(name, paused);
        return (await executorsJson([name]))[0];
      });
    }
  });

  await registerScheduleRoutes(app, client);
  registerInsightRoutes(app, client);
}

// /api/schedules: named cron patterns, each tick of which makes an ordinary task.
async function registerScheduleRoutes(app: FastifyInstance, client: TaskClient): Promise<void> {
  const nameOf = (request: FastifyRequest) => requireScheduleName(parseInput(NameParamsSchema, request.params).name);

  app.get('/api/schedules', async () => (await listSchedules(client)).map(scheduleJson));

  app.get('/api/schedules/:name', async (request) => {
    const name = nameOf(request);
    const view = await getSchedule(client, name);
    if (!view) throw new UserFacingError('SCHEDULE_NOT_FOUND', `no schedule named "${name}" — see GET /api/schedules`);
    return scheduleJson(view);
  });

  app.post('/api/schedules', async (request, reply) => {
    const body = parseInput(ApiCreateScheduleBodySchema, request.body ?? {});
    const view = await addSchedule(client, {
      name: body.name,
      cron: body.cron,
      tz: body.tz,
      overlap: body.overlap,
      task: enqueueInputOf(body.task),
    });
    return reply.code(201).send(scheduleJson(view));
  });

  // Pause, resume and remove take no body: an empty JSON body is none.
  await app.register(async (bodyless) => {
    acceptEmptyJsonBodies(bodyless);

    bodyless.post('/api/schedules/:name/pause', async (request) => {
      parseInput(EmptyBodySchema, request.body ?? {});
      return scheduleJson(await pauseSchedule(client, nameOf(request)));
    });

    bodyless.post('/api/schedules/:name/resume', async (request) => {
      parseInput(EmptyBodySchema, request.body ?? {});
      return scheduleJson(await resumeSchedule(client, nameOf(request)));
    });

    bodyless.delete('/api/schedules/:name', async (request, reply) => {
      await removeSchedule(client, nameOf(request));
      return reply.code(204).send();
    });
  });
}
