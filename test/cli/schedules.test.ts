import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShellPayload, fireSchedule, getSchedule, TaskClient, toTaskJson } from '../../src/index.js';
import { TICK_ATTEMPTS } from '../../src/schedules/schedule-store.js';
import { tickTaskId } from '../../src/schedules/schedule-firing.js';
import { makeRepo } from '../helpers/git-repo.js';
import { createHarness, eventually, type CliResult, type Harness } from '../helpers/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// Issue 20: a schedule is a BullMQ job scheduler on `_schedules`; every worker takes its ticks and
// each tick makes one ordinary task. Ticks here come every 2 s (6 fields, seconds first). The
// tick-driven cases run concurrently (they wait on ticks, not on the CPU), each on its own schedule.
const EVERY_2S = '*/2 * * * * *';
// A deadline for a hung case only: on a loaded 2-core machine CLI runs take seconds each.
const TIMEOUT = 120_000;

interface TaskJson {
  task_id: string;
  status: string;
  name: string | null;
  labels: string[];
  schedule: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface ScheduleJson {
  name: string;
  cron: string;
  tz: string;
  overlap: string;
  paused: boolean;
  next_run_at: string | null;
  executor: string;
  summary: string;
  fired: number;
  last_task_id: string | null;
  last_result: string | null;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// `eventually`, checking about four times a second: several cases poll at once on a small machine.
const poll = <T>(check: () => Promise<T | undefined>, what: string, deadlineMs = 30_000) =>
  eventually(
    async () => {
      const value = await check();
      if (value === undefined) await pause(200);
      return value;
    },
    what,
    deadlineMs,
  );
const ms = (iso: string | null) => (iso === null ? Number.NaN : Date.parse(iso));
const byCreation = (a: TaskJson, b: TaskJson) => ms(a.created_at) - ms(b.created_at);

describe('schedules: cron ticks make ordinary tasks, once each, on real workers', () => {
  let h: Harness;
  let redis: Redis;
  let client: TaskClient;
  // A private Redis (AOF) for the restart case, with a worker of its own.
  let server: RedisServer | undefined;
  let privateEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = createHarness();
    server = await startRedisServer();
    privateEnv = { REDIS_URL: server.url };
    // Its own home, so that its spool is not the other workers'.
    const home = mkdtempSync(path.join(h.dir, 'private-home-'));
    await Promise.all([
      // Three worker processes on the shared Redis, all taking ticks of `_schedules`.
      h.startWorker(),
      h.startWorker(),
      h.startWorker(),
      h.startWorker('local', { ...privateEnv, HOME: home, OPENCLAW_AGENT_HOME: home }),
    ]);
    redis = h.redis();
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
    await server?.destroy();
  });

  function json<T>(r: CliResult): T {
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  }
  async function add(name: string, words: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
    const r = await h.cli(['schedule', 'add', name, ...words], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    return r;
  }
  // The schedule's tasks as `list --label schedule:NAME --json` prints them, oldest first.
  async function tasksOf(name: string, env?: NodeJS.ProcessEnv): Promise<TaskJson[]> {
    const r = await h.cli(['list', '--label', `schedule:${name}`, '--json', '--limit', '500'], { env });
    return json<TaskJson[]>(r).sort(byCreation);
  }
  // The same through the library: cheap enough to poll.
  async function tasksVia(via: TaskClient, name: string): Promise<TaskJson[]> {
    const views = await via.list({ label: `schedule:${name}`, limit: 500 });
    return views.map((view) => toTaskJson(view) as unknown as TaskJson).sort(byCreation);
  }
  async function atLeast(name: string, count: number, via = client): Promise<TaskJson[]> {
    return poll(
      async () => {
        const tasks = await tasksVia(via, name);
        return tasks.length >= count ? tasks : undefined;
      },
      `${count} tasks of schedule ${name}`,
      30_000,
    );
  }
  async function scheduleOf(name: string, env?: NodeJS.ProcessEnv): Promise<ScheduleJson | undefined> {
    return json<ScheduleJson[]>(await h.cli(['schedule', 'list', '--json'], { env })).find((s) => s.name === name);
  }
  async function status(id: string): Promise<TaskJson & Record<string, unknown>> {
    return json(await h.cli(['status', id, '--json']));
  }

  // The tick jobs of one schedule in the `_schedules` queue (BullMQ names them repeat:NAME:MILLIS).
  async function tickJobs(name: string) {
    const q = `${h.prefix}:_schedules`;
    const [wait, active, prioritized, delayed, completed, failed] = await Promise.all([
      redis.lrange(`${q}:wait`, 0, -1),
      redis.lrange(`${q}:active`, 0, -1),
      redis.zrange(`${q}:prioritized`, 0, -1),
      redis.zrange(`${q}:delayed`, 0, -1),
      redis.zrange(`${q}:completed`, 0, -1),
      redis.zrange(`${q}:failed`, 0, -1),
    ]);
    const mine = (ids: string[]) => ids.filter((id) => id.startsWith(`repeat:${name}:`));
    return {
      inFlight: mine([...wait, ...active, ...prioritized]),
      delayed: mine(delayed),
      completed: mine(completed),
      failed: mine(failed),
    };
  }
  // After rm or pause: no tick of the schedule is due any more, and none is being handled.
  async function settled(name: string): Promise<void> {
    await poll(async () => {
      const jobs = await tickJobs(name);
      return jobs.inFlight.length === 0 && jobs.delayed.length === 0 ? true : undefined;
    }, `no tick of ${name} in flight`);
  }

  it.concurrent(
    'bad schedule input is one line on stderr with exit 2 (3 for an unknown name or executor) and writes nothing',
    async () => {
      // An existing schedule (its next tick far away) for the duplicate case.
      await add('kept', ['--cron', '0 0 1 1 *', '--', 'run', '-e', 'local', '-c', 'echo kept']);
      const keptBefore = await redis.hgetall(`${h.prefix}:_schedule:kept`);
      const never = 'echo never-made';
      const run = ['--', 'run', '-e', 'local', '-c', never];
      const cases: [string[], number, RegExp][] = [
        [['bad', '--cron', '61 * * * *', ...run], 2, /invalid cron pattern `61 \* \* \* \*`/],
        [['bad', '--cron', '* * * *', ...run], 2, /Expected a cron pattern of 5 fields .* got `\* \* \* \*`/],
        [['bad', '--cron', '0 3 * * *', '--tz', 'Mars/Olympus', ...run], 2, /unknown time zone `Mars\/Olympus`/],
        [['bad', '--cron', '0 3 * * *', '--', 'run', '-e', 'nowhere', '-c', never], 3, /nowhere/],
        [['bad', '--cron', '0 3 * * *', '--', 'status', 'x'], 2, /give the task as a `run` or `start` command/],
        [['bad', '--cron', '0 3 * * *'], 2, /give the task as a `run` or `start` command/],
        [['bad', ...run], 2, /missing --cron/],
        [['b a d', '--cron', '0 3 * * *', ...run], 2, /Expected a schedule name of letters/],
        [['kept', '--cron', '0 4 * * *', ...run], 2, /a schedule named "kept" exists/],
        [['bad', '--cron', '0 3 * * *', '--', 'run', '-e', 'local', '--after', 'abcdef12', '-c', never], 2, /--after/],
        [['bad', '--cron', '0 3 * * *', '--', 'run', '-e', 'local', '--follow', '-c', never], 2, /--follow/],
        [['bad', '--cron', '0 3 * * *', '--overlap', 'sometimes', ...run], 2, /overlap/],
      ];
      for (const [args, code, pattern] of cases) {
        const r = await h.cli(['schedule', 'add', ...args]);
        const what = `schedule add ${args.join(' ')}`;
        expect(r.exitCode, `${what}: ${r.stderr}`).toBe(code);
        expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
        expect(r.stderr, what).toMatch(pattern);
        expect(r.stdout, what).toBe('');
      }
      for (const verb of ['pause', 'resume', 'rm']) {
        const r = await h.cli(['schedule', verb, 'nope']);
        expect(r.exitCode, verb).toBe(3);
        expect(r.stderr.trim().split('\n'), verb).toHaveLength(1);
        expect(r.stderr).toMatch(/no schedule named "nope"/);
      }
      // Nothing written: no schedule hash, name, job scheduler or tick of them, and no task.
      // (Other cases run meanwhile, so this looks at what these commands would have written.)
      for (const name of ['bad', 'b a d', 'nope']) {
        expect(await redis.exists(`${h.prefix}:_schedule:${name}`), name).toBe(0);
        expect(await redis.sismember(`${h.prefix}:_index:schedules`, name), name).toBe(0);
        expect(await redis.zscore(`${h.prefix}:_schedules:repeat`, name), name).toBeNull();
        expect(await tickJobs(name), name).toEqual({ inFlight: [], delayed: [], completed: [], failed: [] });
      }
      expect(await redis.hgetall(`${h.prefix}:_schedule:kept`)).toEqual(keptBefore);
      const made = await client.list({ limit: 10_000 });
      expect(made.filter((view) => view.record.summary.includes('never-made'))).toEqual([]);

      // --replace is the way to change one.
      expect(await redis.zscore(`${h.prefix}:_schedules:repeat`, 'kept')).not.toBeNull();
      await add('kept', ['--cron', '0 4 * * *', '--replace', '--', 'run', '-e', 'local', '-c', 'echo replaced']);
      expect(await scheduleOf('kept')).toMatchObject({ cron: '0 4 * * *', summary: 'echo replaced', fired: 0 });
      expect(await h.cli(['schedule', 'rm', 'kept'])).toMatchObject({ exitCode: 0 });
      expect(await redis.exists(`${h.prefix}:_schedule:kept`)).toBe(0);
      expect(await redis.zscore(`${h.prefix}:_schedules:repeat`, 'kept')).toBeNull();
    },
    TIMEOUT,
  );

  it.concurrent(
    'a tick handed out again after its task was made but not noted counts that task, late or behind a running one',
    async () => {
      // Far-off ticks: only the calls below fire this schedule.
      const name = 'redelivered';
      await add(name, ['--cron', '0 0 1 1 *', '--overlap', 'skip', '--', 'run', '-e', 'local', '-c', 'echo tick']);
      const sleeper = (await h.cli(['run', '-e', 'local', '--', 'sleep', '60'])).stdout.trim();
      const key = `${h.prefix}:_schedule:${name}`;
      try {
        // The first hand-out makes the tick's task and notes it; the second finds the note.
        const tick = `repeat:${name}:${Date.now()}`;
        const made = await fireSchedule(client, name, tick);
        expect(made).toEqual({ kind: 'started', taskId: tickTaskId(h.prefix, tick) });
        // As if that worker had died before its note: the last tick's task is one still running.
        await redis.hset(key, 'last_task', sleeper, 'fired', '0');
        expect(await fireSchedule(client, name, tick)).toEqual(made);
        expect(await redis.hmget(key, 'last_task', 'fired', 'last_result')).toEqual([
          tickTaskId(h.prefix, tick),
          '1',
          'started',
        ]);
        // A tick whose task was made in time, handed out again past LATE_TICK_MS, counts it too.
        const late = `repeat:${name}:${Date.now() - 15 * 60_000}`;
        const lateId = tickTaskId(h.prefix, late);
        await client.enqueue({ executor: 'local', payload: buildShellPayload({ cmd: 'echo late' }), id: lateId });
        expect(await fireSchedule(client, name, late)).toEqual({ kind: 'started', taskId: lateId });
        expect(await redis.hget(key, 'last_task')).toBe(lateId);
        // Its ticks are tried again when they fail on the way.
        const schedules = new Queue('_schedules', { connection: redis, prefix: h.prefix });
        const scheduler = await schedules.getJobScheduler(name);
        await schedules.close();
        expect(scheduler?.template?.opts).toMatchObject({ attempts: TICK_ATTEMPTS });
      } finally {
        await h.cli(['kill', sleeper]);
        await h.cli(['schedule', 'rm', name]);
      }
    },
    TIMEOUT,
  );

  it.concurrent(
    'a schedule whose task no longer reads says so at its tick and can still be removed',
    async () => {
      const name = 'garbled';
      await add(name, ['--cron', '0 0 1 1 *', '--', 'run', '-e', 'local', '-c', 'echo never']);
      const key = `${h.prefix}:_schedule:${name}`;
      // As an older or newer version, or a hand in Redis, might have left it.
      await redis.hset(key, 'template', JSON.stringify({ executor: 'local', payload: { type: 'teleport' } }));
      const result = await fireSchedule(client, name, `repeat:${name}:${Date.now()}`);
      expect(result).toMatchObject({
        kind: 'failed',
        error: expect.stringMatching(/^its task does not read as a task/),
      });
      expect(await redis.hget(key, 'last_result')).toMatch(
        /^failed: its task does not read as a task of this version: remove it with `openclaw-agent schedule rm garbled` and add it again$/,
      );
      expect(await h.cli(['schedule', 'rm', name])).toMatchObject({
        exitCode: 0,
        stdout: 'Schedule garbled removed.\n',
      });
      expect(await redis.exists(key)).toBe(0);
      await settled(name);
    },
    TIMEOUT,
  );

  it.concurrent(
    "gives each tick's task a git worktree of its own with --worktree, as `run --worktree` does",
    async () => {
      const repo = makeRepo(path.join(h.dir, 'scheduled-app'));
      const name = 'worktreed';
      await add(name, ['--cron', EVERY_2S, '--', 'run', '-e', 'local', '-w', repo, '--worktree', '-c', 'pwd']);
      const [first] = await atLeast(name, 1);
      expect((await h.cli(['schedule', 'rm', name])).exitCode).toBe(0);
      await settled(name);
      expect(await h.cli(['wait', '--label', `schedule:${name}`, '--timeout', '30s'])).toMatchObject({ exitCode: 0 });
      const task = await status(first!.task_id);
      const worktree = (task.git as { worktree: string; repo: string } | null)?.worktree;
      expect(task.git).toMatchObject({ repo, base: 'HEAD' });
      expect(worktree).toBeDefined();
      expect(worktree).not.toBe(repo);
      // It ran there, not in the checkout.
      expect((await h.logText(first!.task_id)).stdout).toBe(`${worktree}\n`);
    },
    TIMEOUT,
  );

  it.concurrent(
    'a */2-second schedule makes exactly one task per tick with three workers taking ticks, and none after rm',
    async () => {
      const name = 'every2';
      const added = await add(name, ['--cron', EVERY_2S, '--', 'run', '-e', 'local', '-c', `echo out-of-${name}`]);
      expect(added.stdout).toMatch(
        /^Schedule every2 added: "\*\/2 \* \* \* \* \*" UTC on local: echo out-of-every2 — next in .* UTC\)\n$/,
      );
      await atLeast(name, 4);
      expect(await h.cli(['schedule', 'rm', name])).toMatchObject({
        exitCode: 0,
        stdout: 'Schedule every2 removed.\n',
      });
      await settled(name);
      expect(await h.cli(['wait', '--label', `schedule:${name}`, '--timeout', '20s'])).toMatchObject({ exitCode: 0 });
      expect(await redis.exists(`${h.prefix}:_schedule:${name}`)).toBe(0);

      const tasks = await tasksOf(name);
      const ids = tasks.map((t) => t.task_id);
      expect(new Set(ids).size).toBe(ids.length);
      // Each task's id derives from one tick job (repeat:every2:MILLIS): find that tick among the
      // 2-second ticks up to its creation. Distinct tasks, distinct ticks: no tick made two.
      const tickOf = new Map<string, number>();
      for (const t of tasks) {
        const latest = Math.floor(ms(t.created_at) / 2000) * 2000;
        for (let tick = latest; tick > latest - 60_000 && !tickOf.has(t.task_id); tick -= 2000) {
          if (tickTaskId(h.prefix, `repeat:${name}:${tick}`) === t.task_id) tickOf.set(t.task_id, tick);
        }
        expect(tickOf.get(t.task_id), `the tick of ${t.task_id}`).toBeDefined();
        expect(t).toMatchObject({ status: 'completed', name, schedule: name, labels: [`schedule:${name}`] });
      }
      expect(new Set(tickOf.values()).size).toBe(tasks.length);
      // In Redis, each tick job (the queue keeps the last 100 of all schedules) was handled once,
      // without a stall, and made the task whose id it derives.
      const jobs = await tickJobs(name);
      expect(jobs.failed).toEqual([]);
      expect(jobs.completed.length).toBeGreaterThan(0);
      expect(new Set(jobs.completed).size).toBe(jobs.completed.length);
      for (const jobId of jobs.completed) {
        const job = await redis.hgetall(`${h.prefix}:_schedules:${jobId}`);
        const taskId = tickTaskId(h.prefix, jobId);
        expect(JSON.parse(job.returnvalue ?? 'null'), jobId).toEqual({ kind: 'started', taskId });
        expect([job.atm, job.stc ?? '0'], `${jobId} handled once`).toEqual(['1', '0']);
        expect(tickOf.get(taskId), jobId).toBe(Number(jobId.split(':').at(-1)));
      }
      expect((await h.cli(['logs', ids[0]!])).stdout).toBe(`out-of-${name}\n`);
      for (const id of ids) expect(await h.logText(id), id).toEqual({ stdout: `out-of-${name}\n`, ends: 1 });

      // Removed: no tick makes a task any more.
      await pause(4500);
      expect((await tasksVia(client, name)).map((t) => t.task_id)).toEqual(ids);
      expect(await getSchedule(client, name)).toBeUndefined();
    },
    TIMEOUT,
  );

  it.concurrent(
    '--overlap skip skips ticks while the last task runs; the default queue overlap runs them side by side',
    async () => {
      // Each task runs until the test opens its gate, so a tick's task outlasts ticks however slow the machine.
      const gated = (gate: string) => ['--', 'run', '-e', 'local', '-c', `until [ -e ${gate} ]; do sleep 0.1; done`];
      const skipping = (async () => {
        const gate = path.join(h.dir, 'skipper-gate');
        await add('skipper', ['--cron', EVERY_2S, '--overlap', 'skip', ...gated(gate)]);
        const [first] = await atLeast('skipper', 1);
        // While the first task runs, the ticks after it are skipped and recorded as such.
        await poll(
          async () => ((await getSchedule(client, 'skipper'))?.lastResult?.startsWith('skipped') ? true : undefined),
          'a skipped tick',
        );
        const [listed, table] = await Promise.all([scheduleOf('skipper'), h.cli(['schedule', 'list'])]);
        expect(listed).toMatchObject({ overlap: 'skip', last_task_id: first!.task_id, fired: 1 });
        expect(listed!.last_result).toMatch(
          new RegExp(`^skipped: task ${first!.task_id} of the last tick is (queued|running) \\(--overlap skip\\)$`),
        );
        expect(table.stdout).toMatch(/^skipper .* skipped: task .* skip +until \[ -e /m);
        expect((await tasksVia(client, 'skipper')).map((t) => t.task_id)).toEqual([first!.task_id]);
        // Once the first task has ended, the next tick makes the second.
        writeFileSync(gate, '');
        await atLeast('skipper', 2);
        await h.cli(['schedule', 'rm', 'skipper']);
        await settled('skipper');
        expect(await h.cli(['wait', '--label', 'schedule:skipper', '--timeout', '30s'])).toMatchObject({ exitCode: 0 });

        const tasks = await tasksOf('skipper');
        expect(tasks[0]!.task_id).toBe(first!.task_id);
        for (const [i, t] of tasks.entries()) {
          expect(t.status, t.task_id).toBe('completed');
          if (i === 0) continue;
          const before = tasks[i - 1]!;
          // Never two at once: each was made, and started, after the one before it had finished.
          expect(ms(t.created_at), t.task_id).toBeGreaterThanOrEqual(ms(before.finished_at));
          expect(ms(t.started_at), t.task_id).toBeGreaterThanOrEqual(ms(before.finished_at));
        }
      })();
      const queueing = (async () => {
        const gate = path.join(h.dir, 'stacker-gate');
        await add('stacker', ['--cron', EVERY_2S, ...gated(gate)]);
        expect(await scheduleOf('stacker')).toMatchObject({ overlap: 'queue' });
        // queue: a later tick's task runs while the first one still does.
        const running = await poll(async () => {
          const now = (await tasksVia(client, 'stacker')).filter((t) => t.status === 'running');
          return now.length >= 2 ? now : undefined;
        }, 'two stacker tasks running at once');
        await h.cli(['schedule', 'rm', 'stacker']);
        await settled('stacker');
        writeFileSync(gate, '');
        expect(await h.cli(['wait', '--label', 'schedule:stacker', '--timeout', '30s'])).toMatchObject({ exitCode: 0 });
        const [a, b] = (await tasksOf('stacker')).filter((t) => running.some((r) => r.task_id === t.task_id));
        expect(ms(b!.started_at)).toBeLessThan(ms(a!.finished_at));
      })();
      await Promise.all([skipping, queueing]);
    },
    TIMEOUT,
  );

  it.concurrent(
    'a paused schedule makes no task and shows no next run; resumed, it ticks again',
    async () => {
      const name = 'pauser';
      await add(name, ['--cron', EVERY_2S, '--', 'run', '-e', 'local', '-c', 'echo p']);
      await atLeast(name, 1);
      expect(await h.cli(['schedule', 'pause', name])).toMatchObject({
        exitCode: 0,
        stdout: 'Schedule pauser paused.\n',
      });
      await settled(name);
      const before = (await tasksVia(client, name)).length;
      expect(await scheduleOf(name)).toMatchObject({ paused: true, next_run_at: null });
      expect((await h.cli(['schedule', 'list'])).stdout).toMatch(/^pauser +\*\/2 \* \* \* \* \* UTC +local +paused /m);
      // Two ticks' worth of time, and no task.
      await pause(4500);
      expect((await tasksVia(client, name)).length).toBe(before);

      expect(await h.cli(['schedule', 'resume', name])).toMatchObject({
        exitCode: 0,
        stdout: 'Schedule pauser resumed.\n',
      });
      const resumed = (await scheduleOf(name))!;
      expect(resumed).toMatchObject({ paused: false });
      expect(ms(resumed.next_run_at)).toBeGreaterThan(0);
      expect((await h.cli(['schedule', 'list'])).stdout).toMatch(/^pauser +\*\/2 \* \* \* \* \* UTC +local +in /m);
      await atLeast(name, before + 1);
      await h.cli(['schedule', 'rm', name]);
      await settled(name);
    },
    TIMEOUT,
  );

  it.concurrent(
    "a schedule's task is an ordinary task: logs, status and kill work on it, and the template may name it",
    async () => {
      const name = 'ordinary';
      await add(name, [
        '--cron',
        EVERY_2S,
        '--',
        'run',
        '-e',
        'local',
        '--name',
        'nightly-build',
        '--label',
        'extra',
        '-c',
        'echo up; sleep 300',
      ]);
      const [task] = await atLeast(name, 1);
      await h.cli(['schedule', 'rm', name]);
      await settled(name);
      const id = task!.task_id;
      await poll(async () => ((await h.logText(id)).stdout === 'up\n' ? true : undefined), 'the task to print up');
      expect((await h.cli(['logs', id])).stdout).toBe('up\n');
      expect(await status(id)).toMatchObject({
        status: 'running',
        name: 'nightly-build',
        labels: ['extra', `schedule:${name}`],
        schedule: name,
      });
      expect((await h.cli(['status', id])).stdout).toMatch(/^ {3}Schedule: ordinary$/m);
      expect(await h.cli(['kill', id, '--grace', '0'])).toMatchObject({ exitCode: 0, stdout: `Task ${id} killed.\n` });
      expect(await status(id)).toMatchObject({ status: 'killed', error: 'killed on request' });
      await h.cli(['kill', '--label', `schedule:${name}`, '--grace', '0']);
    },
    TIMEOUT,
  );

  it.concurrent(
    'a schedule of a start command makes a Claude Code task at each tick, and a paused one can be removed',
    async () => {
      const name = 'reviewer';
      const added = await add(name, [
        '--cron',
        EVERY_2S,
        '--json',
        '--',
        'start',
        '-e',
        'local',
        '-w',
        h.dir,
        '-p',
        'turns:1',
      ]);
      expect(JSON.parse(added.stdout)).toMatchObject({ name, task_type: 'claude_code', summary: 'turns:1', fired: 0 });
      const [task] = await atLeast(name, 1);
      expect(await h.cli(['schedule', 'pause', name])).toMatchObject({ exitCode: 0 });
      expect(await h.cli(['schedule', 'rm', name])).toMatchObject({
        exitCode: 0,
        stdout: `Schedule ${name} removed.\n`,
      });
      await settled(name);
      expect(await redis.exists(`${h.prefix}:_schedule:${name}`)).toBe(0);
      expect(await h.cli(['wait', '--label', `schedule:${name}`, '--timeout', '30s'])).toMatchObject({ exitCode: 0 });
      expect(await status(task!.task_id)).toMatchObject({
        status: 'completed',
        task_type: 'claude_code',
        prompt: 'turns:1',
        name,
        schedule: name,
      });
    },
    TIMEOUT,
  );

  it.concurrent(
    'a schedule survives a Redis restart between ticks: the worker reconnects and later ticks make tasks',
    async () => {
      const name = 'survivor';
      const env = privateEnv;
      await add(name, ['--cron', EVERY_2S, '--', 'run', '-e', 'local', '-c', 'echo alive'], env);
      const beforeRestart = await TaskClient.connect(h.config(), server!.url);
      try {
        await atLeast(name, 1, beforeRestart);
      } finally {
        await beforeRestart.close();
      }

      await server!.stop('SIGTERM');
      await server!.start();

      const after = await TaskClient.connect(h.config(), server!.url);
      try {
        const before = new Set((await tasksVia(after, name)).map((t) => t.task_id));
        const [listed] = json<ScheduleJson[]>(await h.cli(['schedule', 'list', '--json'], { env }));
        expect(listed).toMatchObject({ name, paused: false, cron: EVERY_2S });
        expect(listed!.next_run_at).not.toBeNull();
        const fresh = await poll(
          async () => {
            const made = (await tasksVia(after, name)).filter((t) => !before.has(t.task_id));
            return made.filter((t) => t.status === 'completed').length >= 2 ? made : undefined;
          },
          'two ticks after the restart to make completed tasks',
          30_000,
        );
        expect((await h.cli(['logs', fresh[0]!.task_id], { env })).stdout).toBe('alive\n');
        expect((await h.cli(['schedule', 'rm', name], { env })).exitCode).toBe(0);
      } finally {
        await after.close();
      }
    },
    TIMEOUT,
  );
});

describe('schedules across hosts: a worker whose config lacks the executor leaves the tick to one that has it', () => {
  let h: Harness;

  beforeAll(() => {
    h = createHarness({ extraExecutors: '  - name: far\n    type: local\n' });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it(
    'hands the tick out again, without failing it, until a worker with the executor makes its task',
    { timeout: TIMEOUT },
    async () => {
      // The other host's config: the same Redis and prefix, without `far`.
      const near = path.join(h.dir, 'near.yaml');
      writeFileSync(near, readFileSync(h.configPath, 'utf8').replace('  - name: far\n    type: local\n', ''));
      expect(readFileSync(near, 'utf8')).not.toContain('far');
      await h.startWorker('local', { OPENCLAW_AGENT_CONFIG: near });
      const add = await h.cli([
        'schedule',
        'add',
        'far',
        '--cron',
        '* * * * * *',
        '--',
        'run',
        '-e',
        'far',
        '-c',
        'true',
      ]);
      expect(add.exitCode, add.stderr).toBe(0);
      const queue = new Queue('_schedules', { connection: h.redis(), prefix: h.prefix });
      try {
        // A tick the near worker took and handed back: delayed again, though it was due.
        const handedBack = await poll(async () => {
          const delayed = await queue.getDelayed();
          return delayed.find((job) => Number(job.id!.split(':').at(-1)) < Date.now() - 1000)?.id;
        }, 'a tick handed back by the worker without the executor');
        const client = await h.client();
        expect(await client.list({ label: 'schedule:far' })).toEqual([]);
        expect((await getSchedule(client, 'far'))?.lastResult).toBeUndefined();
        await h.startWorker('far');
        // The tick that was due before any worker could make it makes its task, as later ones do.
        const made = tickTaskId(h.prefix, handedBack);
        await poll(async () => ((await client.views([made]))[0] ? true : undefined), `the task of tick ${handedBack}`);
        await poll(async () => {
          const tasks = await client.list({ label: 'schedule:far' });
          return tasks.length >= 3 ? tasks : undefined;
        }, 'three tasks of schedule far');
        expect((await getSchedule(client, 'far'))?.lastResult).toBe('started');
      } finally {
        await queue.close();
      }
      expect((await h.cli(['schedule', 'rm', 'far'])).exitCode).toBe(0);
    },
  );
});

describe('schedule add with --config after the command', () => {
  let h: Harness;

  beforeAll(() => {
    h = createHarness({ extraExecutors: '  - name: crib\n    type: local\n' });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('checks its task against that file, not the one the environment names', { timeout: TIMEOUT }, async () => {
    const elsewhere = path.join(h.dir, 'elsewhere.yaml');
    writeFileSync(elsewhere, readFileSync(h.configPath, 'utf8').replace('  - name: crib\n    type: local\n', ''));
    expect(readFileSync(elsewhere, 'utf8')).not.toContain('crib');
    const env = { OPENCLAW_AGENT_CONFIG: elsewhere };
    const config = ['--config', h.configPath];
    const add = await h.cli(
      ['schedule', 'add', 'nightly', ...config, '--cron', '0 3 * * *', '--', 'run', '-e', 'crib', '--', 'true'],
      { env },
    );
    expect(add.exitCode, add.stderr).toBe(0);
    const [listed] = JSON.parse(
      (await h.cli(['schedule', 'list', '--json', ...config], { env })).stdout,
    ) as ScheduleJson[];
    expect(listed).toMatchObject({ name: 'nightly', executor: 'crib' });
    expect((await h.cli(['schedule', 'rm', 'nightly', ...config], { env })).exitCode).toBe(0);
  });
});
