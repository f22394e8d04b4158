// The dashboard's chart and log-file routes: a task's earlier runs, an executor's timeline, the
// daily cost of Claude tasks, and a task's whole log as a file. Each read is capped.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readClaudeCost } from '../src/insights/claude-cost.js';
import { readExecutorTimeline, readExecutorTimelines } from '../src/insights/executor-timeline.js';
import { readRunHistory } from '../src/insights/run-history.js';
import { InvalidInputError } from '../src/errors.js';
import type { TaskClient } from '../src/tasks/client.js';
import { describeIssue } from '../src/text/zod-issues.js';
import { sendLogFile } from './log-events.js';

const IdParamsSchema = z.object({ id: z.string().min(1).max(100) });
const NameParamsSchema = z.object({ name: z.string().min(1).max(100) });
const HistoryQuerySchema = z.strictObject({ runs: z.coerce.number().int().min(2).max(50).default(20) });
const TimelineQuerySchema = z.strictObject({ hours: z.coerce.number().int().min(1).max(48).default(6) });
const CostQuerySchema = z.strictObject({ days: z.coerce.number().int().min(1).max(90).default(14) });

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidInputError(describeIssue(result.error.issues[0]!, input));
  return result.data;
}

export function registerInsightRoutes(app: FastifyInstance, client: TaskClient): void {
  const idOf = (request: FastifyRequest) => parse(IdParamsSchema, request.params).id;

  app.get('/api/tasks/:id/logs/file', async (request, reply) =>
    sendLogFile(client, await client.get(idOf(request)), reply),
  );

  app.get('/api/tasks/:id/history', async (request) => {
    const { runs } = parse(HistoryQuerySchema, request.query);
    return readRunHistory(client, await client.get(idOf(request)), { runs });
  });

  app.get('/api/executors/:name/timeline', async (request) => {
    const { hours } = parse(TimelineQuerySchema, request.query);
    const name = client.executorConfig(parse(NameParamsSchema, request.params).name).name;
    return readExecutorTimeline(client, name, { hours });
  });

  // Every configured executor's timeline from one read of the window: what the panel draws.
  app.get('/api/timelines', async (request) => {
    const { hours } = parse(TimelineQuerySchema, request.query);
    return readExecutorTimelines(
      client,
      client.config.executors.map((e) => e.name),
      { hours },
    );
  });

  app.get('/api/stats/claude-cost', async (request) => {
    const { days } = parse(CostQuerySchema, request.query);
    return readClaudeCost(client, { days });
  });
}
