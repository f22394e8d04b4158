import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addSchedule,
  buildClaudePayload,
  fireSchedule,
  getSchedule,
  pauseSchedule,
  SCHEDULES_QUEUE,
  tickTaskId,
  TaskClient,
} from '../../src/index.js';
import { LATE_TICK_MS, tickTime } from '../../src/schedules/schedule-firing.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// A tick's task, made by fireSchedule against real Redis (no worker: the tasks stay queued).

describe('fireSchedule', () => {
  let h: Harness;
  let client: TaskClient;
  const task = {
    executor: 'local',
    payload: { type: 'shell_command' as const, command: 'echo tick', args: [], env: {} },
  };

  beforeAll(async () => {
    h = createHarness({
      extraExecutors: '  - name: far\n    type: local\n',
      extraConfig: 'notifiers:\n  ops:\n    type: command\n    argv: ["true"]\n',
    });
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('makes one task per tick, the same task however often the tick is handed out', async () => {
    await addSchedule(client, { name: 'once', cron: '0 0 1 1 *', task });
    const tick = `repeat:once:${Date.now()}`;
    const first = await fireSchedule(client, 'once', tick);
    const again = await fireSchedule(client, 'once', tick);
    expect(first).toEqual({ kind: 'started', taskId: tickTaskId(client.prefix, tick) });
    expect(again).toEqual(first);
    const tasks = await client.list({ label: 'schedule:once' });
    expect(tasks.map((view) => view.record.id)).toEqual([tickTaskId(client.prefix, tick)]);
    expect(tasks[0]!.record).toMatchObject({ name: 'once', schedule: 'once', summary: 'echo tick' });
    expect(await getSchedule(client, 'once')).toMatchObject({
      fired: 1,
      lastResult: 'started',
      lastTaskId: first.kind === 'started' ? first.taskId : '',
    });
  });

  it('runs a template an earlier version kept, though a new schedule would be refused for it', async () => {
    const claude = { executor: 'local', payload: buildClaudePayload({ prompt: 'nightly review', workspace: h.dir }) };
    await addSchedule(client, { name: 'older', cron: '0 0 1 1 *', task: claude });
    // As an earlier version kept it: a count of waits with on-limit fail, a callback fetch refuses.
    const key = client.keys.schedule('older');
    const kept = JSON.parse((await client.redis.hget(key, 'template'))!) as Record<string, unknown>;
    const older = { ...kept, onLimit: 'fail', limitWaits: 2, callbackUrl: 'http://127.0.0.1:6000/hook' };
    await client.redis.hset(key, 'template', JSON.stringify(older));
    const fired = await fireSchedule(client, 'older', `repeat:older:${Date.now()}`);
    expect(fired.kind).toBe('started');
    const request = await client.request((await client.list({ label: 'schedule:older' }))[0]!);
    expect(request).toMatchObject({ onLimit: 'fail', callbackUrl: 'http://127.0.0.1:6000/hook' });
    expect(request?.limitWaits).toBeUndefined();
  });

  it('skips a tick that comes more than ten minutes late, and records why', async () => {
    await addSchedule(client, { name: 'late', cron: '0 0 1 1 *', task });
    const due = Date.now() - LATE_TICK_MS - 60_000;
    const result = await fireSchedule(client, 'late', `repeat:late:${due}`);
    expect(result.kind).toBe('skipped');
    const view = await getSchedule(client, 'late');
    expect(view?.fired).toBe(0);
    expect(view?.lastResult).toMatch(
      new RegExp(`^skipped: the tick of ${new Date(due).toISOString().replace(/\./g, '\\.')} came 11m\\d+s late`),
    );
    expect(await client.list({ label: 'schedule:late' })).toEqual([]);
  });

  it('--replace keeps a schedule paused, with its firings so far', async () => {
    await addSchedule(client, { name: 'kept', cron: '0 0 1 1 *', task });
    await fireSchedule(client, 'kept', `repeat:kept:${Date.now()}`);
    await pauseSchedule(client, 'kept');
    const replaced = await addSchedule(client, { name: 'kept', cron: '30 2 * * *', task }, { replace: true });
    expect(replaced).toMatchObject({ cron: '30 2 * * *', paused: true, fired: 1, lastResult: 'started' });
    expect(replaced.nextRunAt).toBeUndefined();
    expect(await client.queue(SCHEDULES_QUEUE).getJobScheduler('kept')).toBeUndefined();
  });

  it("leaves a tick to a worker whose config has the task's executor, and says so once it is late", async () => {
    const far = { ...task, executor: 'far' };
    await addSchedule(client, { name: 'far', cron: '0 0 1 1 *', task: far });
    // A worker on another host, whose config has only `local`.
    const near = new TaskClient(
      { ...client.config, executors: client.config.executors.filter((e) => e.name !== 'far') },
      client.redis,
    );
    const now = Date.now();
    expect(await fireSchedule(near, 'far', `repeat:far:${now}`)).toEqual({
      kind: 'elsewhere',
      lacks: 'executor "far"',
      retryInMs: 250,
    });
    // Handed out again later and later as it ages, never more than 30 s apart.
    const aged = await fireSchedule(near, 'far', `repeat:far:${now - 60_000}`);
    expect(aged).toMatchObject({ kind: 'elsewhere' });
    expect(aged.kind === 'elsewhere' && aged.retryInMs).toBeGreaterThanOrEqual(15_000);
    expect(await fireSchedule(near, 'far', `repeat:far:${now - 9 * 60_000}`)).toMatchObject({ retryInMs: 30_000 });
    expect(await client.list({ label: 'schedule:far' })).toEqual([]);
    expect((await getSchedule(client, 'far'))?.lastResult).toBeUndefined();
    // Late: skipped, saying which executor no worker had.
    const late = await fireSchedule(near, 'far', `repeat:far:${now - LATE_TICK_MS - 60_000}`);
    expect(late).toMatchObject({ kind: 'skipped' });
    expect((await getSchedule(client, 'far'))?.lastResult).toMatch(
      /late \(no worker with executor "far" in its config took it in time\)$/,
    );
    // A worker that has it makes the task.
    const tick = `repeat:far:${now}`;
    expect(await fireSchedule(client, 'far', tick)).toEqual({
      kind: 'started',
      taskId: tickTaskId(client.prefix, tick),
    });
  });

  it('leaves a tick whose task names a notifier this worker lacks to one that has it', async () => {
    await addSchedule(client, { name: 'told', cron: '0 0 1 1 *', task: { ...task, notify: ['ops'] } });
    const near = new TaskClient({ ...client.config, notifiers: {} }, client.redis);
    const tick = `repeat:told:${Date.now()}`;
    expect(await fireSchedule(near, 'told', tick)).toMatchObject({ kind: 'elsewhere', lacks: 'notifier "ops"' });
    expect(await fireSchedule(client, 'told', tick)).toEqual({
      kind: 'started',
      taskId: tickTaskId(client.prefix, tick),
    });
  });

  it('reads the due time from BullMQ tick ids and derives version-4 task ids from them', () => {
    expect(tickTime('repeat:nightly:1796554800000')).toBe(1796554800000);
    expect(tickTime('some-other-job')).toBeUndefined();
    const id = tickTaskId('oca', 'repeat:nightly:1796554800000');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(tickTaskId('other-prefix', 'repeat:nightly:1796554800000')).not.toBe(id);
  });
});
