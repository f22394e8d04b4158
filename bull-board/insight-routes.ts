// The dashboard's chart and log-file routes: a task's earlier runs, an executor's timeline, the
// daily cost of Claude tasks, and a task's whole log as a file. Each read is capped.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readClaudeCost } from '../src/insights/claude-cost.js';
import { readExecutorTimeline, readExecutorTimelines } from '../src/insights/executor-timeline.js';
import { readRunHistory } from '../src/insights/run-history.js';
import type { TaskClient } from '../src/tasks/client.js';
import { parseInput } from './http-errors.js';
import { sendLogFile } from './log-events.js';

const IdParamsSchema = z.object({ id: z.string().min(1).max(100) });
const NameParamsSchema = z.object({ name: z.string().min(1).max(100) });
const HistoryQuerySchema = z.strictObject({ runs: z.coerce.number().int().min(2).max(50).default(20) });
const TimelineQuerySchema = z.strictObject({ hours: z.coerce.number().int().min(1).max(48).default(6) });
const CostQuerySchema = z.strictObject({ days: z.coerce.number().int().min(1).max(90).default(14) });

export function registerInsightRoutes(app: FastifyInstance, client: TaskClient): void {
  const idOf = (request: FastifyRequest) => parseInput(IdParamsSchema, request.params).id;

  app.get('/api/tasks/:id/logs/file', async (request, reply) =>
    sendLogFile(client, await client.get(idOf(request)), reply),
  );

  app.get('/api/tasks/:id/history', async (request) => {
    const { runs } = parseInput(HistoryQuerySchema, request.query);
    return readRunHistory(client, await client.get(idOf(request)), { runs });
  });

  app.get('/api/executors/:name/timeline', async (request) => {
    const { hours } = parseInput(TimelineQuerySchema, request.query);
    const name = client.executorConfig(parseInput(NameParamsSchema, request.params).name).name;
    return readExecutorTimeline(client, name, { hours });
  });

  // Every configured executor's timeline from one read of the window: what the panel draws.
  app.get('/api/timelines', async (request) => {
    const { hours } = parseInput(TimelineQuerySchema, request.query);
    return readExecutorTimelines(
      client,
      client.config.executors.map((e) => e.name),
      { hours },
    );
  });

  app.get('/api/stats/claude-cost', async (request) => {
    const { days } = parseInput(CostQuerySchema, request.query);
    return readClaudeCost(client, { days });
  });
}
