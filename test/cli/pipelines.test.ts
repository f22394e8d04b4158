import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { finishTask } from '../../src/index.js';
import { WAITER_LEASE_MS } from '../../src/tasks/concurrency.js';
import { createHarness, eventually, type CliResult, type Harness } from '../helpers/harness.js';
import { startTimeTexts } from '../helpers/time-text.js';

// Dependencies, start times, priorities, concurrency keys, pause and bulk commands, through the
// real CLI against real Redis and real worker processes (issue 20).

type TaskJson = Record<string, unknown> & {
  task_id: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  waiting_for: string | null;
};

describe('pipelines: --after, --delay/--at, --priority, concurrency keys, pause, bulk kill and wait', () => {
  let h: Harness;
  let localWorker: ChildProcess;

  beforeAll(async () => {
    h = createHarness({
      extraExecutors: [
        '  - name: other',
        '    type: local',
        '  - name: solo',
        '    type: local',
        '    concurrency: 1',
        '  - name: idle',
        '    type: local',
        '',
      ].join('\n'),
    });
    [localWorker] = await Promise.all([h.startWorker('local'), h.startWorker('other'), h.startWorker('solo')]);
  });
  afterAll(async () => {
    await h.cleanup();
  });

  // A task's record as `status --json` prints it. Polls and most checks read it in this process
  // (a CLI process per look made this file the suite's slowest); statusCli asks the CLI.
  async function status(id: string): Promise<TaskJson> {
    return (await h.taskJson(id)) as TaskJson;
  }
  async function statusCli(id: string): Promise<TaskJson> {
    const r = await h.cli(['status', id, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as TaskJson;
  }
  async function run(args: string[]): Promise<string> {
    const r = await h.cli(['run', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  async function ended(id: string, deadlineMs = 60_000): Promise<TaskJson> {
    return eventually(
      async () => {
        const task = await status(id);
        return ['blocked', 'scheduled', 'queued', 'running'].includes(task.status) ? undefined : task;
      },
      `task ${id} to end`,
      deadlineMs,
    );
  }
  async function statusOf(id: string, wanted: string): Promise<TaskJson> {
    return eventually(async () => {
      const task = await status(id);
      return task.status === wanted ? task : undefined;
    }, `task ${id} to be ${wanted}`);
  }
  const time = (iso: string | null) => Date.parse(iso ?? 'x');
  // A command that runs until the test opens its gate (`open(name)`): no test depends on how long
  // a CLI call takes on a loaded machine.
  const gated = (name: string, then = 'true') =>
    `while [ ! -e '${path.join(h.dir, `gate-${name}`)}' ]; do sleep 0.05; done; ${then}`;
  const open = (name: string) => writeFileSync(path.join(h.dir, `gate-${name}`), '');
  const taskCount = async () => h.redis().zcard(`${h.prefix}:_index:created`);
  const turnAwaited = (id: string) => async () =>
    (await status(id)).waiting_for?.includes('a turn') ? true : undefined;
  // A `--on-conflict cancel-running` task of `key` on executor other, that says it stops `holder`.
  async function runCancelling(key: string, holder: string): Promise<string> {
    const r = await h.cli([
      'run',
      '-e',
      'other',
      '--concurrency-key',
      key,
      '--on-conflict',
      'cancel-running',
      '--',
      'echo',
      'urgent',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe(`openclaw-agent: stopping 1 task(s) of concurrency key "${key}": ${holder}\n`);
    return r.stdout.trim();
  }
  it('a chain A→B→C across two executors runs in order, through a worker SIGKILLed while A runs', async () => {
    const a = await run(['-e', 'local', '--name', 'build', '--', 'sh', '-c', gated('build', 'echo built')]);
    const b = await run(['-e', 'other', '--after', a.slice(0, 8), '--name', 'test', '--', 'echo', 'tested']);
    const c = await run(['-e', 'local', '--after', b, '--', 'echo', 'third']);
    const blockedB = await statusCli(b);
    expect(blockedB).toMatchObject({ status: 'blocked', after: [a], after_any: false });
    expect(blockedB.waiting_for).toBe(`task ${a.slice(0, 8)} (build) to complete`);
    expect((await h.cli(['status', b])).stdout).toContain(
      `Status:   blocked — waiting for task ${a.slice(0, 8)} (build) to complete`,
    );
    const listed = await h.cli(['list']);
    expect(listed.stdout).toMatch(
      new RegExp(`${c.slice(0, 8)}.*blocked.*⏳ task ${b.slice(0, 8)} \\(test\\) to complete`),
    );
    await statusOf(a, 'running');
    // The worker of A's executor dies; a new one re-attaches to A, ends it, and releases B.
    localWorker.kill('SIGKILL');
    await new Promise<void>((resolve) => localWorker.once('exit', () => resolve()));
    localWorker = await h.startWorker('local');
    open('build');
    const [ta, tb, tc] = [await ended(a), await ended(b), await ended(c)];
    expect([ta.status, tb.status, tc.status]).toEqual(['completed', 'completed', 'completed']);
    expect(time(tb.started_at)).toBeGreaterThanOrEqual(time(ta.finished_at));
    expect(time(tc.started_at)).toBeGreaterThanOrEqual(time(tb.finished_at));
    expect((await h.logText(c)).stdout).toBe('third\n');
  });

  it('A failing cancels B and C at once, never run, each error naming the task it waited for', async () => {
    const a = await run(['-e', 'local', '--name', 'fails', '--', 'sh', '-c', 'sleep 1; exit 3']);
    const b = await run(['-e', 'other', '--after', a, '--', 'echo', 'never-b']);
    const c = await run(['-e', 'local', '--after', b, '--', 'echo', 'never-c']);
    const d = await run(['-e', 'other', '--after', a, '--after-any', '--', 'echo', 'collected']);
    const [tb, tc, td] = [await ended(b), await ended(c), await ended(d)];
    expect(tb).toMatchObject({ status: 'cancelled', started_at: null });
    expect(tb.error).toBe(
      `not run: it runs after task ${a} (fails), which ended failed (--after-any runs it whatever the end)`,
    );
    expect(tc).toMatchObject({ status: 'cancelled', started_at: null });
    expect(tc.error).toContain(`it runs after task ${b}, which ended cancelled`);
    expect((await h.logText(b)).stdout + (await h.logText(c)).stdout).toBe('');
    // --after-any runs whatever A's end.
    expect(td.status).toBe('completed');
    expect((await h.logText(d)).stdout).toBe('collected\n');
    // A dependency that failed before the task was enqueued: cancelled at once, and said so.
    const late = await h.cli(['run', '-e', 'local', '--after', a, '--', 'echo', 'late']);
    expect(late.exitCode).toBe(0);
    const id = late.stdout.trim();
    expect(late.stderr).toBe(`openclaw-agent: task ${id} cancelled: ${(await status(id)).error}\n`);
    expect(await status(id)).toMatchObject({ status: 'cancelled', started_at: null });
  });

  it('a dependency ended by a worker that died before releasing its dependents is settled by the sweep', async () => {
    // A sits on an executor without workers; its end is written as a worker would, with no settling after.
    const a = await run(['-e', 'idle', '--', 'echo', 'never-runs-here']);
    const b = await run(['-e', 'local', '--after', a, '--', 'echo', 'released']);
    const client = await h.client();
    await client.queue('idle').remove(a);
    // No sweep may release B before it is read: the test holds the sweep lock (taken once the last
    // sweep's lapsed) from before A's end until B is read, then lets the next sweep come.
    const lock = client.keys.sweepLock();
    await eventually(
      async () => ((await client.redis.set(lock, 'test', 'PX', 30_000, 'NX')) === 'OK' ? true : undefined),
      'the sweep lock',
    );
    const end = { outcome: 'completed' as const, exitCode: 0, signal: null, finishedAt: Date.now() };
    const { ended: wrote } = await finishTask(client.redis, client.keys, a, end, {
      retentionMs: 3_600_000,
      maxLogEntries: 1000,
    });
    expect(wrote).toBe(true);
    expect(await client.redis.hmget(client.keys.record(b), 'blocked', 'started_at')).toEqual(['1', null]);
    await client.redis.del(lock);
    // Each worker sweeps every 10 s.
    expect(await ended(b, 40_000)).toMatchObject({ status: 'completed' });
    expect((await h.logText(b)).stdout).toBe('released\n');
  });

  it('a blocked task promoted by hand waits again, and a dependency whose job vanished cancels it', async () => {
    const a = await run(['-e', 'local', '--name', 'slow', '--', 'sh', '-c', gated('slow')]);
    const b = await run(['-e', 'other', '--after', a, '--', 'echo', 'after-slow']);
    const client = await h.client();
    // Bull Board's Promote button on the delayed job: the worker sends it back to wait.
    await (await client.queue('other').getJob(b))!.promote();
    await eventually(
      async () =>
        (await h.logText(b)).stdout === '' && (await client.queue('other').getJob(b))?.delay ? true : undefined,
      'b back in the delayed set',
    );
    expect(await status(b)).toMatchObject({ status: 'blocked', started_at: null });
    open('slow');
    const [ta, tb] = [await ended(a), await ended(b)];
    expect([ta.status, tb.status]).toEqual(['completed', 'completed']);
    expect(time(tb.started_at)).toBeGreaterThanOrEqual(time(ta.finished_at));

    // A dependency whose job is removed from its queue with no end recorded is lost: the sweep cancels.
    const gone = await run(['-e', 'idle', '--name', 'vanishes', '--', 'echo', 'never']);
    const waiting = await run(['-e', 'local', '--after', gone, '--', 'echo', 'never-either']);
    await client.queue('idle').remove(gone);
    const cancelled = await ended(waiting, 40_000);
    expect(cancelled).toMatchObject({ status: 'cancelled', started_at: null });
    expect(cancelled.error).toContain(`it runs after task ${gone} (vanishes), which ended lost`);
  });

  it('--delay and --at hold a task as scheduled until its start time, then it runs', async () => {
    const client = await h.client();
    // Read in-process right after each dispatch: the start is 6 s away, and a few CLI calls on a
    // loaded machine may take longer than that.
    const delayed = await run(['-e', 'local', '--delay', '6s', '--', 'echo', 'delayed']);
    expect((await client.get(delayed)).status).toBe('scheduled');
    const at = new Date(Date.now() + 6000).toISOString();
    const timed = await run(['-e', 'other', '--at', at, '--', 'echo', 'timed']);
    expect((await client.get(timed)).status).toBe('scheduled');
    // What `status` says of such tasks is read on two an hour away, which no CLI call outlasts.
    const later = await run(['-e', 'local', '--label', 'far-start', '--delay', '1h', '--', 'echo', 'later']);
    const farAt = new Date(Date.now() + 3_600_000).toISOString();
    const far = await run(['-e', 'other', '--label', 'far-start', '--at', farAt, '--', 'echo', 'far']);
    const asked = Date.now();
    const view = await status(far);
    expect(view).toMatchObject({ status: 'scheduled', run_at: farAt });
    expect(startTimeTexts(farAt, [asked, Date.now()]).map((t) => `its start time, ${t}`)).toContain(view.waiting_for);
    expect((await status(later)).status).toBe('scheduled');
    const [td, tt] = [await ended(delayed), await ended(timed)];
    expect([td.status, tt.status]).toEqual(['completed', 'completed']);
    expect(time(td.started_at)).toBeGreaterThanOrEqual(time(td.created_at as string) + 6000);
    expect(time(tt.started_at)).toBeGreaterThanOrEqual(Date.parse(at));
    expect((await h.cli(['kill', '--label', 'far-start'])).stdout).toBe(
      'Killed 2 tasks with label far-start: 2 cancelled before starting, 0 stopped.\n',
    );
  });

  it('a busy executor starts waiting tasks by priority, 1 first, those without one last in arrival order', async () => {
    const busy = await run(['-e', 'solo', '--', 'sh', '-c', gated('busy')]);
    await statusOf(busy, 'running');
    const none1 = await run(['-e', 'solo', '--', 'echo', 'none1']);
    const p5 = await run(['-e', 'solo', '--priority', '5', '--', 'echo', 'p5']);
    const p1 = await run(['-e', 'solo', '--priority', '1', '--', 'echo', 'p1']);
    const none2 = await run(['-e', 'solo', '--', 'echo', 'none2']);
    expect(await statusCli(p1)).toMatchObject({ status: 'queued', priority: 1, queue_position: 1 });
    expect(await statusCli(none2)).toMatchObject({ priority: null, queue_position: 4 });
    open('busy');
    const starts = await Promise.all([p1, p5, none1, none2].map(async (id) => time((await ended(id)).started_at)));
    expect(starts).toEqual([...starts].sort((x, y) => x - y));
    expect(new Set(starts).size).toBe(4);
  });

  it('a concurrency key lets one task of the key run at a time across executors, the rest in line', async () => {
    const first = await run([
      '-e',
      'local',
      '--concurrency-key',
      'deploy',
      '--',
      'sh',
      '-c',
      gated('deploy', 'sleep 1; echo one'),
    ]);
    // The first holds the turn before the others come: else the other executor's worker, quicker
    // than this one's, could take it, and the second would run without ever waiting.
    await statusOf(first, 'running');
    const ids = [
      first,
      await run(['-e', 'other', '--concurrency-key', 'deploy', '--', 'sh', '-c', 'sleep 1; echo two']),
      await run(['-e', 'local', '--concurrency-key', 'deploy', '--', 'sh', '-c', 'sleep 1; echo three']),
    ];
    const waiting = await eventually(async () => {
      const task = await status(ids[1]!);
      return task.waiting_for !== null ? task : undefined;
    }, 'the second task to wait for its turn');
    expect(waiting).toMatchObject({ status: 'queued', concurrency_key: 'deploy', concurrency_limit: 1 });
    expect(waiting.waiting_for).toBe('a turn of concurrency key "deploy"');
    open('deploy');
    const runs = await Promise.all(ids.map(async (id) => ended(id)));
    expect(runs.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
    const spans = runs.map((t) => [time(t.started_at), time(t.finished_at)] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect((await h.logText(ids[1]!)).stdout).toBe('two\n');
  });

  it('a waiter whose executor is paused after it joined the line gives way to the next once it stops looking', async () => {
    const holder = await run(['-e', 'local', '--concurrency-key', 'lease', '--', 'sh', '-c', gated('lease')]);
    await statusOf(holder, 'running');
    const first = await run(['-e', 'other', '--concurrency-key', 'lease', '--', 'echo', 'first']);
    const inLine = (id: string) => async () => ((await status(id)).waiting_for?.includes('a turn') ? true : undefined);
    await eventually(inLine(first), "the other executor's task to join the line");
    expect((await h.cli(['pause', '--executor', 'other'])).exitCode).toBe(0);
    const second = await run(['-e', 'local', '--concurrency-key', 'lease', '--', 'echo', 'second']);
    await eventually(inLine(second), 'the second task to join the line');
    // Paused, `first` looks for its turn no more; past the lease it no longer holds the line. The
    // lease is long for a test: its last look is moved back by that much instead.
    const looks = `${h.prefix}:_conc:lease:looks`;
    expect(await h.redis().hexists(looks, first)).toBe(1);
    await h.redis().hset(looks, first, String(Date.now() - WAITER_LEASE_MS - 1000));
    open('lease');
    expect(await ended(second)).toMatchObject({ status: 'completed' });
    expect((await status(first)).started_at).toBeNull();
    // Resumed, it takes the turn now free.
    expect((await h.cli(['resume', '--executor', 'other'])).exitCode).toBe(0);
    expect(await ended(first)).toMatchObject({ status: 'completed' });
    expect((await h.logText(first)).stdout).toBe('first\n');
  });

  it('--concurrency-limit 2 lets two of the key run at once, never three', async () => {
    // Each task marks its start, then runs until the gate opens: who runs at once does not depend
    // on how far apart the CLI calls enqueue them.
    const words = ['a', 'b', 'c'];
    const marker = (word: string) => path.join(h.dir, `started-pair-${word}`);
    const ids = await Promise.all(
      words.map((word) =>
        run([
          '-e',
          'local',
          '--concurrency-key',
          'pair',
          '--concurrency-limit',
          '2',
          '--',
          'sh',
          '-c',
          `touch '${marker(word)}'; ${gated('pair', `echo ${word}`)}`,
        ]),
      ),
    );
    const started = () => words.filter((word) => existsSync(marker(word)));
    await eventually(async () => (started().length >= 2 ? true : undefined), 'two tasks of the key to start');
    expect(started()).toHaveLength(2);
    const third = ids[words.findIndex((word) => !existsSync(marker(word)))]!;
    const client = await h.client();
    await eventually(
      async () => ((await client.get(third)).waitingFor !== undefined ? true : undefined),
      'the third task to wait for a turn',
    );
    expect(await status(third)).toMatchObject({
      status: 'queued',
      started_at: null,
      concurrency_limit: 2,
      waiting_for: 'a turn of concurrency key "pair"',
    });
    expect(started()).toHaveLength(2);
    open('pair');
    const runs = await Promise.all(ids.map(async (id) => ended(id)));
    const spans = runs.map((t) => [time(t.started_at), time(t.finished_at)] as const);
    const overlapping = (at: number) => spans.filter(([s, f]) => s <= at && at < f).length;
    expect(Math.max(...spans.map(([s]) => overlapping(s)))).toBe(2);
  });

  it('--on-conflict cancel-running kills the running holder and runs next; replace-queued cancels the waiting ones', async () => {
    const holder = await run(['-e', 'local', '--concurrency-key', 'ship', '--', 'sleep', '30']);
    await statusOf(holder, 'running');
    const queued = await run(['-e', 'other', '--concurrency-key', 'ship', '--', 'echo', 'queued-before']);
    const r = await h.cli([
      'run',
      '-e',
      'other',
      '--concurrency-key',
      'ship',
      '--on-conflict',
      'cancel-running',
      '--',
      'echo',
      'urgent',
    ]);
    expect(r.exitCode).toBe(0);
    const urgent = r.stdout.trim();
    expect(r.stderr).toBe(`openclaw-agent: stopping 1 task(s) of concurrency key "ship": ${holder}\n`);
    const killed = await ended(holder);
    expect(killed).toMatchObject({ status: 'killed' });
    expect(killed.error).toBe(`stopped by task ${urgent} (concurrency key "ship", --on-conflict cancel-running)`);
    const [tu, tq] = [await ended(urgent), await ended(queued)];
    expect([tu.status, tq.status]).toEqual(['completed', 'completed']);
    // The new task went first in line, before the one queued earlier.
    expect(time(tu.started_at)).toBeLessThanOrEqual(time(tq.started_at));

    const running = await run([
      '-e',
      'local',
      '--concurrency-key',
      'swap',
      '--',
      'sh',
      '-c',
      gated('swap', 'echo held'),
    ]);
    await statusOf(running, 'running');
    const old1 = await run(['-e', 'other', '--concurrency-key', 'swap', '--', 'echo', 'old1']);
    const old2 = await run(['-e', 'local', '--concurrency-key', 'swap', '--delay', '1s', '--', 'echo', 'old2']);
    const rr = await h.cli([
      'run',
      '-e',
      'other',
      '--concurrency-key',
      'swap',
      '--on-conflict',
      'replace-queued',
      '--',
      'echo',
      'newest',
    ]);
    const newest = rr.stdout.trim();
    expect(rr.stderr).toBe(`openclaw-agent: cancelled 2 task(s) of concurrency key "swap": ${old1}, ${old2}\n`);
    for (const id of [old1, old2]) {
      expect(await status(id)).toMatchObject({
        status: 'cancelled',
        started_at: null,
        error: `replaced by task ${newest} (concurrency key "swap", --on-conflict replace-queued)`,
      });
    }
    open('swap');
    const [th, tn] = [await ended(running), await ended(newest)];
    expect([th.status, tn.status]).toEqual(['completed', 'completed']);
    expect(time(tn.started_at)).toBeGreaterThanOrEqual(time(th.finished_at));
  });

  it('a cancel-running task taken after a waiter got the turn does not kill it: its policy applied when enqueued', async () => {
    // The holder ends when killed only once the test opens its gate: after the new task's look is moved.
    const holder = await run([
      '-e',
      'local',
      '--concurrency-key',
      'fix',
      '--',
      'sh',
      '-c',
      `trap "${gated('fix-stop', 'exit 143')}" TERM; ${gated('fix-never')}`,
    ]);
    await statusOf(holder, 'running');
    const waiter = await run([
      '-e',
      'local',
      '--concurrency-key',
      'fix',
      '--',
      'sh',
      '-c',
      gated('fix-w', 'echo waited'),
    ]);
    await eventually(turnAwaited(waiter), 'the waiter to join the line');
    // Its executor paused past the lease, the new task no longer holds the line when the holder it
    // killed ends: the waiter takes the turn. Taken at last, the new task waits for that turn too.
    expect((await h.cli(['pause', '--executor', 'other'])).exitCode).toBe(0);
    const urgent = await runCancelling('fix', holder);
    await h.redis().hset(`${h.prefix}:_conc:fix:looks`, urgent, String(Date.now() - WAITER_LEASE_MS - 1000));
    open('fix-stop');
    expect(await ended(holder)).toMatchObject({ status: 'killed' });
    await statusOf(waiter, 'running');
    expect((await h.cli(['resume', '--executor', 'other'])).exitCode).toBe(0);
    // Taken: it waits for its turn (or has ended the waiter, which it must not).
    await eventually(
      async () => ((await status(waiter)).finished_at !== null ? true : turnAwaited(urgent)()),
      'the cancel-running task to be taken',
    );
    open('fix-w');
    const [tw, tu] = [await ended(waiter), await ended(urgent)];
    expect(tw).toMatchObject({ status: 'completed', error: null });
    expect((await h.logText(waiter)).stdout).toBe('waited\n');
    expect(tu.status).toBe('completed');
    expect(time(tu.started_at)).toBeGreaterThanOrEqual(time(tw.finished_at));
  });

  it('a cancel-running task holds the line from its enqueue: a waiter does not take the turn it freed', async () => {
    const holder = await run(['-e', 'local', '--concurrency-key', 'line', '--', 'sh', '-c', gated('line-never')]);
    await statusOf(holder, 'running');
    const waiter = await run(['-e', 'local', '--concurrency-key', 'line', '--', 'echo', 'waited']);
    await eventually(turnAwaited(waiter), 'the waiter to join the line');
    // Its executor paused, the new task is not taken when the holder it killed ends: the turn is
    // kept for it all the same, and the task that waited before it runs after it.
    expect((await h.cli(['pause', '--executor', 'other'])).exitCode).toBe(0);
    const urgent = await runCancelling('line', holder);
    expect(await ended(holder)).toMatchObject({ status: 'killed' });
    expect((await status(waiter)).started_at).toBeNull();
    expect((await h.cli(['resume', '--executor', 'other'])).exitCode).toBe(0);
    const [tu, tw] = [await ended(urgent), await ended(waiter)];
    expect([tu.status, tw.status]).toEqual(['completed', 'completed']);
    expect(time(tw.started_at)).toBeGreaterThanOrEqual(time(tu.finished_at));
  });

  it('pause lets the running task finish, holds new ones (listed as paused), --wait returns when none runs; resume runs them', async () => {
    const long = await run(['-e', 'other', '--', 'sh', '-c', gated('long', 'echo finished')]);
    await statusOf(long, 'running');
    const pausing = h.spawnCli(['pause', '--executor', 'other', '--wait']);
    // Once the command's first line is out, it has set the pause and counted the running task: the
    // task may end.
    await eventually(
      async () => (pausing.stdout().includes('\n') || pausing.child.exitCode !== null ? true : undefined),
      'the pause',
    );
    open('long');
    const paused = await pausing.result;
    expect(paused.exitCode).toBe(0);
    expect(paused.stdout).toContain('Executor other paused: it starts no new tasks (1 running go on)');
    expect(paused.stdout).toContain('No task of executor other runs now.');
    expect(await status(long)).toMatchObject({ status: 'completed' });
    const held = await run(['-e', 'other', '--', 'echo', 'after-resume']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const view = await status(held);
    expect(view).toMatchObject({ status: 'queued', started_at: null });
    expect(view.waiting_for).toBe('executor "other" to be resumed (paused)');
    expect((await h.cli(['list', '--executor', 'other'])).stdout).toContain(
      'Executor other is paused: it starts no new tasks',
    );
    const executors = JSON.parse((await h.cli(['executors', '--json'])).stdout) as { name: string; paused: boolean }[];
    expect(executors.find((e) => e.name === 'other')?.paused).toBe(true);
    expect(executors.find((e) => e.name === 'local')?.paused).toBe(false);
    expect((await h.cli(['resume', '--executor', 'other'])).stdout).toBe('Executor other resumed.\n');
    expect(await ended(held)).toMatchObject({ status: 'completed' });
  });

  it('kill and wait act on every task of a label, executor or status, and say how many', async () => {
    const running = await run(['-e', 'local', '--label', 'batch', '--', 'sleep', '30']);
    await statusOf(running, 'running');
    const blocked = await run(['-e', 'local', '--label', 'batch', '--after', running, '--', 'echo', 'x']);
    const queuedIdle = await run(['-e', 'idle', '--label', 'other-batch', '--', 'echo', 'y']);
    const queuedIdle2 = await run(['-e', 'idle', '--', 'echo', 'z']);
    const r = await h.cli(['kill', '--label', 'batch', '--grace', '1s']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: 'Killed 2 tasks with label batch: 1 cancelled before starting, 1 stopped.\n',
    });
    expect((await status(running)).status).toBe('killed');
    expect((await status(blocked)).status).toBe('cancelled');
    const byStatus = await h.cli(['kill', '--executor', 'idle', '--status', 'queued']);
    expect(byStatus.stdout).toBe('Killed 2 tasks on idle, queued: 2 cancelled before starting, 0 stopped.\n');
    expect([(await status(queuedIdle)).status, (await status(queuedIdle2)).status]).toEqual(['cancelled', 'cancelled']);
    expect((await h.cli(['kill', '--label', 'batch'])).stdout).toBe('No waiting or running task with label batch.\n');
    expect((await h.cli(['kill', '--executor', 'idle', '--status', 'running'])).stdout).toBe(
      'No running task on idle.\n',
    );

    const w1 = await run(['-e', 'local', '--label', 'waitme', '--', 'sh', '-c', gated('w1')]);
    const old = await run(['-e', 'other', '--label', 'waitme', '--', 'sh', '-c', 'exit 5']);
    expect((await ended(old)).status).toBe('failed');
    const w2 = await run(['-e', 'other', '--label', 'waitme', '--', 'sh', '-c', gated('w2', 'exit 4')]);
    // The tasks of the label not ended yet: one that failed before the wait began does not count.
    const waiting = h.cli(['wait', '--label', 'waitme']);
    // The wait has chosen its tasks once it listens for their ends: then they may end.
    await eventually(async () => {
      const [, listeners] = (await h.redis().pubsub('NUMSUB', `${h.prefix}:_ended`)) as [string, number];
      return listeners > 0 ? true : undefined;
    }, 'the wait to listen');
    open('w1');
    open('w2');
    const waited = await waiting;
    expect(waited.exitCode).toBe(4);
    expect(waited.stdout).toContain(`${w1.slice(0, 8)} completed`);
    expect(waited.stdout).toContain(`${w2.slice(0, 8)} failed (exit 4)`);
    expect(waited.stdout).not.toContain(old.slice(0, 8));
  });

  it('bad input to every new flag is one line, a non-zero exit, and nothing enqueued', async () => {
    const before = await taskCount();
    const cases: [string[], number, RegExp][] = [
      [['run', '-e', 'local', '--after', 'abcdef12', '--', 'true'], 2, /^--after `abcdef12`: no such task/],
      [['run', '-e', 'local', '--after', 'zz', '--', 'true'], 2, /^--after: Expected a task id or a prefix/],
      [['run', '-e', 'local', '--after-any', '--', 'true'], 2, /^--after-any says how to wait/],
      [['run', '-e', 'local', '--delay', 'soon', '--', 'true'], 2, /--delay/],
      [['run', '-e', 'local', '--at', 'tomorrow', '--', 'true'], 2, /^Expected --at to be a time like/],
      [['run', '-e', 'local', '--at', '2020-01-01T00:00:00Z', '--', 'true'], 2, /is in the past/],
      [['run', '-e', 'local', '--at', '2099-01-01T00:00:00Z', '--', 'true'], 2, /too far ahead/],
      [['run', '-e', 'local', '--delay', '1m', '--at', '2030-01-01T00:00:00Z', '--', 'true'], 2, /not both/],
      [['run', '-e', 'local', '--priority', '0', '--', 'true'], 2, /--priority/],
      [['run', '-e', 'local', '--priority', '1000001', '--', 'true'], 2, /--priority/],
      [['run', '-e', 'local', '--priority', 'high', '--', 'true'], 2, /--priority/],
      [['run', '-e', 'local', '--concurrency-key', 'bad key!', '--', 'true'], 2, /concurrency keys use letters/],
      [
        ['run', '-e', 'local', '--concurrency-key', 'k', '--concurrency-limit', '0', '--', 'true'],
        2,
        /--concurrency-limit/,
      ],
      [['run', '-e', 'local', '--concurrency-key', 'k', '--on-conflict', 'bogus', '--', 'true'], 2, /--on-conflict/],
      [['run', '-e', 'local', '--on-conflict', 'replace-queued', '--', 'true'], 2, /give --concurrency-key KEY too/],
      [['start', '-e', 'local', '--after', 'abcdef12', '--prompt', 'hi'], 2, /^--after `abcdef12`: no such task/],
      [['kill', '--status', 'completed'], 2, /^Expected --status to be one of blocked, scheduled, queued, running/],
      [['kill', 'abcdef12', '--label', 'x'], 2, /not both/],
      [['pause'], 2, /^missing --executor/],
      [['pause', '--executor', 'nope'], 3, /unknown executor "nope"/],
      [['resume', '--executor', 'nope'], 3, /unknown executor "nope"/],
    ];
    // Three CLI processes at a time: each case only reads, and a machine of two cores is kept busy.
    const results: CliResult[] = [];
    for (let i = 0; i < cases.length; i += 3)
      results.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => h.cli(args)))));
    for (const [i, [args, code, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.exitCode, args.join(' ')).toBe(code);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.split('\n').filter(Boolean), args.join(' ')).toHaveLength(1);
      expect(r.stderr.replace(/^openclaw-agent: /, ''), args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(await taskCount()).toBe(before);
  });
});
