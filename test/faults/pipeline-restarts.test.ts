import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Dependencies and concurrency turns live in Redis: they survive Redis restarting under running
// tasks (AOF), and nothing runs twice or out of order (issue 20).

type TaskJson = { task_id: string; status: string; started_at: string | null; finished_at: string | null };

describe('pipelines across a Redis restart', () => {
  let server: RedisServer;
  let h: Harness;
  let markers: string;

  beforeAll(async () => {
    server = await startRedisServer();
    process.env.REDIS_URL = server.url;
    h = createHarness({ extraExecutors: '  - name: other\n    type: local\n' });
    markers = path.join(h.dir, 'markers');
    mkdirSync(markers);
    await Promise.all([h.startWorker('local'), h.startWorker('other')]);
  });
  afterAll(async () => {
    if (!server.running) await server.start();
    await h.cleanup();
    await server.destroy();
    delete process.env.REDIS_URL;
  });

  // Each run of a task appends a line to its marker file: the line count is the run count.
  const marked = (name: string, tail: string) => `echo run >> ${path.join(markers, name)}; ${tail}`;
  const runsOf = (name: string) => readFileSync(path.join(markers, name), 'utf8').split('\n').filter(Boolean).length;
  async function run(args: string[]): Promise<string> {
    const r = await h.cli(['run', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  async function status(id: string): Promise<TaskJson | undefined> {
    const r = await h.cli(['status', id, '--json']);
    return r.exitCode === 0 ? (JSON.parse(r.stdout) as TaskJson) : undefined;
  }
  const time = (iso: string | null) => Date.parse(iso ?? 'x');

  it('a blocked task and a task waiting for its turn both run once, in order, after Redis restarts', async () => {
    // A and C run until the test opens the gate (after the restart): a loaded machine's slow CLI
    // calls cannot outlast them, as they outlasted a `sleep 6` once.
    const gate = path.join(h.dir, 'gate');
    const untilGate = `while [ ! -e ${gate} ]; do sleep 0.1; done`;
    const a = await run(['-e', 'local', '--', 'sh', '-c', marked('a', untilGate)]);
    const b = await run(['-e', 'other', '--after', a, '--', 'sh', '-c', marked('b', 'echo b')]);
    const c = await run(['-e', 'local', '--concurrency-key', 'deploy', '--', 'sh', '-c', marked('c', untilGate)]);
    // C holds the key's turn before D comes: else the other executor's worker, quicker than this
    // one's on a loaded machine, could give it to D, which would run at once instead of waiting.
    await eventually(async () => ((await status(c))?.status === 'running' ? true : undefined), 'c running');
    const d = await run(['-e', 'other', '--concurrency-key', 'deploy', '--', 'sh', '-c', marked('d', 'echo d')]);
    expect((await status(b))?.status).toBe('blocked');
    expect((await status(d))?.status).toBe('queued');
    // A clean restart (AOF fsynced at shutdown) while A and C run, B is blocked and D waits in line.
    await server.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await server.start();
    writeFileSync(gate, '');
    const final = async (id: string) =>
      eventually(
        async () => {
          const task = await status(id);
          return task && !['blocked', 'scheduled', 'queued', 'running'].includes(task.status) ? task : undefined;
        },
        `task ${id} to end`,
        90_000,
      );
    const [ta, tb, tc, td] = [await final(a), await final(b), await final(c), await final(d)];
    expect([ta.status, tb.status, tc.status, td.status]).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(time(tb.started_at)).toBeGreaterThanOrEqual(time(ta.finished_at));
    expect(time(td.started_at)).toBeGreaterThanOrEqual(time(tc.finished_at));
    expect(['a', 'b', 'c', 'd'].map(runsOf)).toEqual([1, 1, 1, 1]);
  }, 150_000);
});
