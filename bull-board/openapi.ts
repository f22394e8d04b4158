// The OpenAPI document of the REST API, served at /api/openapi.json.
import { z } from 'zod';
import {
  ApiCreateScheduleBodySchema,
  ApiErrorBodySchema,
  ApiExecutorSchema,
  ApiScheduleSchema,
  ApiTaskSchema,
  ApiCreatedTaskSchema,
  ApiCreateTaskBodySchema,
  ApiKillResultSchema,
  ApiTaskListSchema,
  ApiWaitResultSchema,
} from '../src/api/contract.js';
import { TASK_STATUSES } from '../src/tasks/status.js';

// The OpenAPI 3.1 document of /api, with every body and answer schema derived from the zod
// schemas the server validates with (OpenAPI 3.1 schemas are JSON Schema 2020-12).

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const errors = {
  '400': json('Error', 'Invalid input (one line naming the field)'),
  '401': json('Error', 'No or wrong token'),
  '403': json('Error', 'Read-only dashboard, or a cross-site or CSRF-less browser request'),
  '404': json('Error', 'No task matches the id'),
  '409': json('Error', 'The id prefix matches several tasks'),
  '503': json('Error', 'Redis is unreachable'),
};
const notFound = (what: string) => ({ ...errors, '404': json('Error', what) });
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'A task id or a unique prefix of 6+ characters',
  schema: { type: 'string' },
};
const nameParam = (description: string) => ({
  name: 'name',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const executorParam = nameParam('An executor name from the config');
const scheduleParam = nameParam('A schedule name');
const list = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'array', items: ref(name) } } },
});
const plain = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const query = (name: string, description: string, schema: JsonSchema) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

export function buildOpenApiDocument(version: string): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'openclaw-agent',
      version,
      description:
        'Dispatch Claude Code prompts and shell commands to executors (after other tasks, at a time, by priority, under a concurrency key), follow their output, kill and retry them; pause executors; run tasks on cron schedules. Env values never leave the server: tasks show `env_keys` only.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The dashboard token when it was started with one (for every request); else, for writes, the local secret: the file `local-secret` in the data directory of the user who runs it',
        },
      },
      schemas: {
        CreateTask: schemaOf(ApiCreateTaskBodySchema, 'input'),
        ApiCreatedTask: schemaOf(ApiCreatedTaskSchema, 'output'),
        Task: schemaOf(ApiTaskSchema, 'output'),
        TaskList: schemaOf(ApiTaskListSchema, 'output'),
        KillResult: schemaOf(ApiKillResultSchema, 'output'),
        WaitResult: schemaOf(ApiWaitResultSchema, 'output'),
        Executor: schemaOf(ApiExecutorSchema, 'output'),
        CreateSchedule: schemaOf(ApiCreateScheduleBodySchema, 'input'),
        Schedule: schemaOf(ApiScheduleSchema, 'output'),
        Error: schemaOf(ApiErrorBodySchema, 'output'),
      },
    },
    paths: {
      '/api/tasks': {
        post: {
          summary: 'Enqueue a task (the body `run` and `start` build on the command line)',
          requestBody: { required: true, content: { 'application/json': { schema: ref('CreateTask') } } },
          responses: { '201': json('ApiCreatedTask', 'Enqueued'), ...errors },
        },
        get: {
          summary: 'Tasks, newest first, filtered, one page at a time',
          parameters: [
            query('status', 'Only this status', { type: 'string', enum: [...TASK_STATUSES] }),
            query('executor', 'Only this executor', { type: 'string' }),
            query('type', 'Only this task type', { type: 'string', enum: ['claude_code', 'shell_command'] }),
            query('label', 'Only tasks with this label', { type: 'string' }),
            query('q', 'Words of the name, command, prompt or labels (each also matches as a prefix)', {
              type: 'string',
            }),
            query('limit', 'Page size', { type: 'integer', minimum: 1, maximum: 1000, default: 50 }),
            query('cursor', "The previous page's next_cursor", { type: 'string' }),
          ],
          responses: { '200': json('TaskList', 'One page; next_cursor is null at the end'), ...errors },
        },
      },
      '/api/tasks/{id}': {
        get: { summary: 'One task', parameters: [idParam], responses: { '200': json('Task', 'The task'), ...errors } },
      },
      '/api/tasks/{id}/logs': {
        get: {
          summary: 'The output: Server-Sent Events until the task ends, or the last lines as text with ?tail=N',
          description:
            'SSE: `id` is the log entry id (send it back as Last-Event-ID to resume with no gap and no duplicate), `event` is stdout, stderr, system or end, `data` is the text as a JSON string (for end: {status, exit_code, signal, error}).',
          parameters: [
            idParam,
            query('tail', 'Answer with the last N lines as text/plain instead of a stream', {
              type: 'integer',
              minimum: 0,
            }),
            query('view', "`transcript`: a Claude task's stream-json rendered for people", {
              type: 'string',
              enum: ['raw', 'transcript'],
            }),
            query('after', 'Resume after this entry id (as Last-Event-ID)', { type: 'string' }),
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: 'The log',
              content: {
                'text/event-stream': { schema: { type: 'string' } },
                'text/plain': { schema: { type: 'string' } },
              },
            },
            ...errors,
          },
        },
      },
      '/api/tasks/{id}/wait': {
        get: {
          summary: 'Waits up to timeout_ms (at most 60 s) for the task to end',
          parameters: [
            idParam,
            query('timeout_ms', 'How long to wait in milliseconds', {
              type: 'integer',
              minimum: 0,
              maximum: 60000,
              default: 30000,
            }),
          ],
          responses: { '200': json('WaitResult', 'done is false when the time ran out first'), ...errors },
        },
      },
      '/api/tasks/{id}/kill': {
        post: {
          summary:
            'Kill a task: cancel it if it has not started (blocked, scheduled, queued), else SIGTERM its process group, then SIGKILL after grace_ms',
          parameters: [idParam],
          requestBody: {
            required: false,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { grace_ms: { type: 'integer', minimum: 0, default: 10000 } },
                  additionalProperties: false,
                },
              },
            },
          },
          responses: { '200': json('KillResult', 'What happened'), ...errors },
        },
      },
      '/api/tasks/{id}/retry': {
        post: {
          summary: 'Enqueue a new task with the same request',
          parameters: [idParam],
          responses: { '201': json('ApiCreatedTask', 'The new task'), ...errors },
        },
      },
      '/api/executors': {
        get: {
          summary: 'Configured executors (env keys only), whether each is paused, and the live workers serving each',
          responses: { '200': list('Executor', 'Executors'), ...errors },
        },
      },
      '/api/executors/{name}/pause': {
        post: {
          summary:
            'Pause an executor: its workers take no new task (running ones go on); tasks sent to it wait, queued',
          parameters: [executorParam],
          responses: { '200': json('Executor', 'The executor, paused'), ...errors },
        },
      },
      '/api/executors/{name}/resume': {
        post: {
          summary: 'Resume a paused executor: its workers take tasks again',
          parameters: [executorParam],
          responses: { '200': json('Executor', 'The executor, not paused'), ...errors },
        },
      },
      '/api/schedules': {
        get: {
          summary: 'Every schedule, by name',
          responses: { '200': list('Schedule', 'Schedules'), ...errors },
        },
        post: {
          summary:
            'Add a schedule: a cron pattern whose every tick makes an ordinary task (named after the schedule, labelled schedule:NAME)',
          requestBody: { required: true, content: { 'application/json': { schema: ref('CreateSchedule') } } },
          responses: { '201': json('Schedule', 'Added'), ...errors },
        },
      },
      '/api/schedules/{name}': {
        get: {
          summary: 'One schedule',
          parameters: [scheduleParam],
          responses: { '200': json('Schedule', 'The schedule'), ...notFound('No schedule of that name') },
        },
        delete: {
          summary: 'Remove a schedule; the tasks it made stay',
          parameters: [scheduleParam],
          responses: { '204': { description: 'Removed' }, ...notFound('No schedule of that name') },
        },
      },
      '/api/schedules/{name}/pause': {
        post: {
          summary: 'Pause a schedule: no ticks until resumed (its running tasks go on)',
          parameters: [scheduleParam],
          responses: { '200': json('Schedule', 'The schedule, paused'), ...notFound('No schedule of that name') },
        },
      },
      '/api/schedules/{name}/resume': {
        post: {
          summary: "Resume a paused schedule from its pattern's next time",
          parameters: [scheduleParam],
          responses: {
            '200': json('Schedule', 'The schedule, with its next_run_at'),
            ...notFound('No schedule of that name'),
          },
        },
      },
      // The charts' routes and the log file (insight-routes.ts).
      '/api/tasks/{id}/logs/file': {
        get: {
          summary: 'The whole log as a text file to save (content-disposition: attachment)',
          parameters: [idParam],
          responses: {
            '200': { description: 'The log', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...errors,
          },
        },
      },
      '/api/tasks/{id}/diff': {
        get: {
          summary: 'What a `--worktree` task changed against its base: a unified diff, as text (`openclaw-agent diff`)',
          parameters: [idParam],
          responses: {
            '200': { description: 'The diff', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...errors,
          },
        },
      },
      '/api/tasks/{id}/history': {
        get: {
          summary:
            'The task and its earlier runs (same name, else same command or prompt), oldest first, with the median duration of those that completed',
          parameters: [
            idParam,
            query('runs', 'Runs in the answer, this one included', {
              type: 'integer',
              minimum: 2,
              maximum: 50,
              default: 20,
            }),
          ],
          responses: {
            '200': plain(
              '{task_id, match, runs: [{task_id, status, executor, duration_ms, started_at}], median_ms, median_of, capped}',
            ),
            ...errors,
          },
        },
      },
      '/api/executors/{name}/timeline': {
        get: {
          summary:
            "An executor's tasks of the last hours (a bar each) and its queue depth over time, derived from the records",
          parameters: [
            executorParam,
            query('hours', 'How far back', { type: 'integer', minimum: 1, maximum: 48, default: 6 }),
          ],
          responses: {
            '200': plain(
              '{executor, from, to, tasks: [{task_id, task_type, name, summary, status, created_at, queued_at, started_at, finished_at}], queue_depth: [{at, depth}], capped, scanned}',
            ),
            ...errors,
          },
        },
      },
      '/api/timelines': {
        get: {
          summary:
            "Every configured executor's timeline (as /api/executors/{name}/timeline), from one read of the window",
          parameters: [query('hours', 'How far back', { type: 'integer', minimum: 1, maximum: 48, default: 6 })],
          responses: { '200': plain("[timeline…], one per configured executor, in the config's order"), ...errors },
        },
      },
      '/api/stats/claude-cost': {
        get: {
          summary: 'The cost of Claude tasks per UTC day of their creation, oldest day first',
          parameters: [
            query('days', 'How many days, today included', { type: 'integer', minimum: 1, maximum: 90, default: 14 }),
          ],
          responses: { '200': plain('{days: [{date, cost_usd, tasks}], total_usd, capped, scanned}'), ...errors },
        },
      },
      '/healthz': {
        get: {
          summary: 'Whether the server reaches Redis',
          description:
            'Answers at once, also while Redis is away: from the connection state and a PING that gets 1 s. `since` is when Redis stopped answering.',
          security: [],
          responses: {
            '200': {
              description: 'Redis answers',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['ok', 'redis'],
                    properties: { ok: { type: 'boolean', enum: [true] }, redis: { type: 'string', enum: ['up'] } },
                  },
                },
              },
            },
            '503': {
              description: 'Redis is unreachable (the server keeps retrying in the background)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['ok', 'redis', 'since'],
                    properties: {
                      ok: { type: 'boolean', enum: [false] },
                      redis: { type: 'string', enum: ['down'] },
                      since: { type: 'string', format: 'date-time' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
    },
  };
}
