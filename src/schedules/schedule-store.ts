// Schedules: a named cron that makes an ordinary task at each tick. BullMQ's job scheduler keeps
// the ticks (one job per tick, however many workers); our hash keeps the task to make and the
// last firing.
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { InvalidInputError, UserFacingError } from '../errors.js';
import type { EnqueueInput, TaskClient } from '../tasks/client.js';
import { queueOf } from '../tasks/queues.js';
import { signSchedule, taskSigningKey } from '../tasks/signing.js';
import { describePayload, TaskPayloadSchema, TaskRequestSchema } from '../tasks/request.js';
import { quoteInput } from '../text/escape.js';

/** The BullMQ queue whose jobs are the ticks of every schedule (no executor name starts with `_`). */
export const SCHEDULES_QUEUE = '_schedules';
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** What a tick does while the task of the previous one still runs: `skip` it, or `queue` another. */
export const OVERLAP_POLICIES = ['queue', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The task a schedule makes: an enqueue input with its executor and workdir resolved. */
export const ScheduleTemplateSchema = z.object({
  executor: z.string(),
  payload: TaskPayloadSchema,
  labels: z.array(z.string()).default([]),
  name: z.string().optional(),
  timeoutMs: z.number().int().positive().optional(),
  callbackUrl: z.string().optional(),
  notify: z.array(z.string()).optional(),
  notifySession: z.string().optional(),
  retries: z.number().int().min(0).optional(),
  backoffMs: z.number().int().positive().optional(),
  onLimit: z.enum(['wait', 'fail']).optional(),
  limitWaits: z.number().int().min(0).optional(),
  priority: z.number().int().positive().optional(),
  concurrencyKey: z.string().optional(),
  concurrencyLimit: z.number().int().positive().optional(),
  onConflict: z.enum(['queue', 'cancel-running', 'replace-queued']).optional(),
  /** `--worktree` (with its base and `commit`) or `--no-worktree`: each tick's task gets its own. */
  worktree: z.union([z.boolean(), TaskRequestSchema.shape.worktree.unwrap()]).optional(),
});
export type ScheduleTemplate = z.infer<typeof ScheduleTemplateSchema>;

export interface ScheduleInput {
  name: string;
  /** A cron pattern of 5 fields, or 6 with seconds first. */
  cron: string;
  /** The IANA time zone the pattern is read in. @default "UTC" */
  tz?: string;
  /** @default "queue" */
  overlap?: OverlapPolicy;
  /** The task each tick makes; checked as `enqueue` would check it, now. */
  task: EnqueueInput;
}

/** A schedule as `schedule list` and the API show it. */
export interface ScheduleView {
  name: string;
  cron: string;
  tz: string;
  overlap: OverlapPolicy;
  paused: boolean;
  /** The next tick (ms), unless paused. */
  nextRunAt?: number;
  executor: string;
  /** What it runs, in one line (the command or the prompt). */
  summary: string;
  taskType: string;
  createdAt: number;
  fired: number;
  lastTaskId?: string;
  lastFiredAt?: number;
  /** `started`, `skipped: …` or `failed: …`. */
  lastResult?: string;
}

/** Checks a schedule name; bad ones are one line. */
export function requireScheduleName(name: string): string {
  if (!SCHEDULE_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      `Expected a schedule name of letters, digits, "-", "_" and "." (at most 100), got ${quoteInput(name)}`,
    );
  }
  return name;
}

/** The next tick of `cron` in `tz` after `from`; bad patterns and zones are one line. */
export function nextTick(cron: string, tz: string, from = Date.now()): number {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new InvalidInputError(`unknown time zone ${quoteInput(tz)}: give an IANA name like Europe/Prague or UTC`);
  }
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new InvalidInputError(
      `Expected a cron pattern of 5 fields (minute hour day month weekday), or 6 with seconds first, got ${quoteInput(cron)}`,
    );
  }
  try {
    return CronExpressionParser.parse(cron, { tz, currentDate: new Date(from) })
      .next()
      .getTime();
  } catch (error) {
    throw new InvalidInputError(
      `invalid cron pattern ${quoteInput(cron)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

// The template kept for a schedule: what `enqueue` would queue, with its executor and workdir fixed.
async function templateOf(client: TaskClient, task: EnqueueInput): Promise<ScheduleTemplate> {
  if (task.after !== undefined || task.delayMs !== undefined || task.runAt !== undefined || task.id !== undefined) {
    throw new InvalidInputError(
      'a scheduled task starts at its tick: --after, --delay, --at and a task id have no place in it',
    );
  }
  const { executor, request } = await client.prepare(task);
  return ScheduleTemplateSchema.parse({
    executor: executor.name,
    payload: request.payload,
    labels: task.labels ?? [],
    name: task.name,
    timeoutMs: task.timeoutMs,
    callbackUrl: task.callbackUrl,
    notify: request.notify ?? [],
    notifySession: request.notifySession,
    retries: task.retries,
    backoffMs: task.backoffMs,
    onLimit: task.onLimit,
    limitWaits: task.limitWaits,
    priority: task.priority,
    concurrencyKey: task.concurrencyKey,
    concurrencyLimit: task.concurrencyLimit,
    onConflict: task.onConflict,
    worktree: task.worktree,
  });
}

/** How often a tick is tried before it is given up (1 s, then 2 s apart). */
export const TICK_ATTEMPTS = 3;

// Registers the ticks with BullMQ: the first one due at the pattern's next time.
async function startTicks(client: TaskClient, name: string, cron: string, tz: string): Promise<void> {
  await queueOf(client.redis, client.prefix, SCHEDULES_QUEUE).upsertJobScheduler(
    name,
    { pattern: cron, tz },
    {
      name: 'tick',
      data: { schedule: name },
      // A tick that fails on its way (Redis answering an error, a worker's connection lost) is
      // tried again: the tick's task id is fixed, so a second try never makes a second task.
      opts: {
        removeOnComplete: 100,
        removeOnFail: 100,
        attempts: TICK_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1000 },
      },
    },
  );
}

/** Adds a schedule (or replaces one of the same name with `replace`); bad input writes nothing. */
export async function addSchedule(
  client: TaskClient,
  input: ScheduleInput,
  options: { replace?: boolean } = {},
): Promise<ScheduleView> {
  const name = requireScheduleName(input.name);
  const tz = input.tz ?? 'UTC';
  const cron = input.cron.trim();
  nextTick(cron, tz);
  const overlap = input.overlap ?? 'queue';
  if (!OVERLAP_POLICIES.includes(overlap)) {
    throw new InvalidInputError(`Expected --overlap to be skip or queue, got ${quoteInput(String(overlap))}`);
  }
  const template = await templateOf(client, input.task);
  const key = client.keys.schedule(name);
  const earlier = await client.redis.hgetall(key);
  if (!options.replace && earlier.cron !== undefined) {
    throw new InvalidInputError(
      `a schedule named "${name}" exists; remove it first (\`openclaw-agent schedule rm ${name}\`) or pick another name`,
    );
  }
  // Where tasks are signed, so is the task a schedule makes: the worker checks it at each tick.
  const signingKey = taskSigningKey(client.config);
  await client.redis
    .multi()
    .del(key)
    .hset(key, {
      name,
      cron,
      tz,
      overlap,
      template: JSON.stringify(template),
      ...(signingKey !== undefined ? { signature: signSchedule(signingKey, name, template) } : {}),
      created_at: String(Date.now()),
      fired: '0',
      // Replaced, it keeps its history and stays paused if it was.
      ...(earlier.cron !== undefined ? keptFields(earlier) : {}),
    })
    .sadd(client.keys.schedules(), name)
    .exec();
  if (earlier.paused !== '1') await startTicks(client, name, cron, tz);
  return (await getSchedule(client, name))!;
}

// What a replaced schedule keeps of the one before: paused or not, and its firings so far.
function keptFields(earlier: Record<string, string>): Record<string, string> {
  const kept = ['paused', 'fired', 'last_task', 'last_fired_at', 'last_result', 'created_at'];
  return Object.fromEntries(kept.flatMap((field) => (earlier[field] !== undefined ? [[field, earlier[field]]] : [])));
}

/** Every schedule, by name. */
export async function listSchedules(client: TaskClient): Promise<ScheduleView[]> {
  const names = (await client.redis.smembers(client.keys.schedules())).sort();
  const views = await Promise.all(names.map((name) => getSchedule(client, name)));
  return views.filter((view): view is ScheduleView => view !== undefined);
}

/** One schedule, or undefined. */
export async function getSchedule(client: TaskClient, name: string): Promise<ScheduleView | undefined> {
  const hash = await client.redis.hgetall(client.keys.schedule(name));
  const template = parseTemplate(hash.template);
  if (hash.cron === undefined || template === undefined) return undefined;
  const paused = hash.paused === '1';
  const scheduler = paused
    ? undefined
    : await queueOf(client.redis, client.prefix, SCHEDULES_QUEUE).getJobScheduler(name);
  return {
    name,
    cron: hash.cron,
    tz: hash.tz ?? 'UTC',
    overlap: hash.overlap === 'skip' ? 'skip' : 'queue',
    paused,
    nextRunAt: scheduler?.next,
    executor: template.executor,
    // As `list` and `status` show the same task: an argv with its words quoted, a lone word as itself.
    summary: describePayload(template.payload),
    taskType: template.payload.type,
    createdAt: Number(hash.created_at) || 0,
    fired: Number(hash.fired) || 0,
    lastTaskId: hash.last_task,
    lastFiredAt: hash.last_fired_at !== undefined ? Number(hash.last_fired_at) : undefined,
    lastResult: hash.last_result,
  };
}

/** The kept template of a schedule; undefined when unreadable. */
export function parseTemplate(text: string | undefined): ScheduleTemplate | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = ScheduleTemplateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

// The schedule's hash, or a one-line error naming what exists.
async function requireSchedule(client: TaskClient, name: string): Promise<ScheduleView> {
  const view = await getSchedule(client, requireScheduleName(name));
  if (view) return view;
  throw new UserFacingError('SCHEDULE_NOT_FOUND', `no schedule named "${name}" — see \`openclaw-agent schedule list\``);
}

/** Stops a schedule's ticks (kept, to resume); running tasks of it go on. */
export async function pauseSchedule(client: TaskClient, name: string): Promise<ScheduleView> {
  await requireSchedule(client, name);
  await client.redis.hset(client.keys.schedule(name), 'paused', '1');
  await queueOf(client.redis, client.prefix, SCHEDULES_QUEUE).removeJobScheduler(name);
  return (await getSchedule(client, name))!;
}

/** Starts a paused schedule's ticks again, from the pattern's next time. */
export async function resumeSchedule(client: TaskClient, name: string): Promise<ScheduleView> {
  const view = await requireSchedule(client, name);
  await client.redis.hdel(client.keys.schedule(name), 'paused');
  await startTicks(client, name, view.cron, view.tz);
  return (await getSchedule(client, name))!;
}

/**
 * Removes a schedule; the tasks it made stay. One whose task no longer reads (altered in Redis, or
 * kept from a version whose template this one does not know) is removed all the same.
 */
export async function removeSchedule(client: TaskClient, name: string): Promise<void> {
  const exists = await client.redis.hexists(client.keys.schedule(requireScheduleName(name)), 'cron');
  if (!exists) await requireSchedule(client, name);
  await queueOf(client.redis, client.prefix, SCHEDULES_QUEUE).removeJobScheduler(name);
  await client.redis.multi().del(client.keys.schedule(name)).srem(client.keys.schedules(), name).exec();
}

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A schedule as JSON leaves the program (`schedule list --json`, the API, MCP): snake_case, times in ISO 8601. */
export function scheduleJson(view: ScheduleView): Record<string, unknown> {
  return {
    name: view.name,
    cron: view.cron,
    tz: view.tz,
    overlap: view.overlap,
    paused: view.paused,
    next_run_at: isoOrNull(view.nextRunAt),
    executor: view.executor,
    task_type: view.taskType,
    summary: view.summary,
    created_at: isoOrNull(view.createdAt),
    fired: view.fired,
    last_task_id: view.lastTaskId ?? null,
    last_fired_at: isoOrNull(view.lastFiredAt),
    last_result: view.lastResult ?? null,
  };
}
