import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import type { TaskClient } from '../../src/index.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const TOKEN = `token-${randomUUID()}`;

// The chart routes' answers to bad input; their numbers are checked against records in task-page.test.ts.
describe('chart and log-file routes over real HTTP', () => {
  let h: Harness;
  let client: TaskClient;
  let dashboard: RunningDashboard;
  let taskId: string;

  const get = async (route: string) => {
    const response = await fetch(`${dashboard.url}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
    dashboard = await startDashboard({ config: h.config(), port: 0, token: TOKEN, home: h.home });
    taskId = (
      await client.enqueue({
        executor: 'local',
        payload: { type: 'shell_command', command: 'echo waiting', args: [], env: {}, workingDir: '/tmp' },
      })
    ).id;
  });
  afterAll(async () => {
    await dashboard.close();
    await h.cleanup();
  });

  it.each([
    ['/api/executors/local/timeline?hours=soon', /^Expected `hours` to be .*number.*, got `soon`$/],
    ['/api/executors/local/timeline?hours=49', /`hours`/],
    ['/api/executors/local/timeline?hour=6', /`hour`/],
    ['/api/timelines?hours=0', /`hours`/],
    ['/api/stats/claude-cost?days=0', /`days`/],
    ['/api/tasks/TASK/history?runs=1', /`runs`/],
  ])('answers %s with 400 and one line naming the parameter', async (route, message) => {
    const answer = await get(route.replace('TASK', taskId));
    expect(answer.status).toBe(400);
    const { error } = JSON.parse(answer.text) as { error: string };
    expect(error).toMatch(message);
    expect(error).not.toContain('\n');
  });

  it('answers an unknown executor and an unknown task as the other routes do', async () => {
    const executor = await get('/api/executors/nowhere/timeline');
    expect(executor.status).toBe(400);
    expect((JSON.parse(executor.text) as { error: string }).error).toMatch(/nowhere/);
    for (const route of ['/history', '/logs/file']) {
      const answer = await get(`/api/tasks/${randomUUID()}${route}`);
      expect(answer.status, route).toBe(404);
      expect(answer.type).toMatch(/^application\/json/);
    }
  });

  it('answers a task that has not run with itself alone, no median, and an empty log file', async () => {
    const history = JSON.parse((await get(`/api/tasks/${taskId}/history`)).text) as Record<string, unknown>;
    expect(history).toMatchObject({ task_id: taskId, median_ms: null, median_of: 0, capped: false });
    expect(history.runs).toEqual([
      { task_id: taskId, status: 'queued', executor: 'local', duration_ms: null, started_at: null },
    ]);
    const file = await get(`/api/tasks/${taskId}/logs/file`);
    expect([file.status, file.type, file.text]).toEqual([200, 'text/plain; charset=utf-8', '']);
    const timeline = JSON.parse((await get('/api/executors/local/timeline')).text) as {
      tasks: { task_id: string; started_at: string | null }[];
      queue_depth: { depth: number }[];
    };
    expect(timeline.tasks.map((t) => [t.task_id, t.started_at])).toEqual([[taskId, null]]);
    expect(timeline.queue_depth.at(-1)!.depth).toBe(1);
  });

  it("answers every configured executor's timeline from one read, each as its own route answers it", async () => {
    const all = JSON.parse((await get('/api/timelines')).text) as { executor: string; tasks: unknown[] }[];
    expect(all.map((t) => t.executor)).toEqual(h.config().executors.map((e) => e.name));
    for (const timeline of all) {
      const one = JSON.parse((await get(`/api/executors/${timeline.executor}/timeline`)).text) as { tasks: unknown[] };
      expect(timeline.tasks, timeline.executor).toEqual(one.tasks);
    }
    expect(all.find((t) => t.executor === 'local')!.tasks).toHaveLength(1);
  });
});
