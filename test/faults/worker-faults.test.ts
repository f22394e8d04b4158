import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isEndedStatus, type TaskClient, type TaskRecord, type TaskStatus } from '../../src/index.js';
import { createHarness, eventually, FIXTURES, type Harness } from '../helpers/harness.js';
import { workerFaultTargets } from '../helpers/worker-fault-targets.js';

/** One task per exit code, each printing numbered lines until the test opens the gate. */
const EXIT_CODES = [0, 3, 5];
const LINES_UNTIL = path.join(FIXTURES, 'lines-until.sh');
/**
 * A task prints a line every 50 ms and would end on its own after this many (over 30 s): a worker
 * that takes about that long to exit, or a new one that cannot re-attach in that time, fails the
 * test. (At 15 s, an SSH re-attach on a machine loaded by two test files at once missed it once.)
 */
const MAX_LINES = 600;

interface RunningTask {
  id: string;
  exitCode: number;
  marker: string;
}

// How a worker leaves: SIGTERM is a clean exit (code 0), SIGKILL gives it no say.
const FAULTS = [
  { signal: 'SIGTERM', how: 'stopped with SIGTERM', exit: { code: 0, signal: null } },
  { signal: 'SIGKILL', how: 'SIGKILLed', exit: { code: null, signal: 'SIGKILL' } },
] as const;

for (const target of workerFaultTargets()) {
  const title = `worker faults on the ${target.type} executor: running tasks outlive their worker${target.skipReason ? ` (${target.skipReason})` : ''}`;
  describe.skipIf(target.skipReason)(title, () => {
    let h: Harness;
    let client: TaskClient;
    let gate: string;

    beforeAll(async () => {
      await target.setup();
    });
    afterAll(async () => {
      await target.teardown();
    });
    beforeEach(async () => {
      h = createHarness({ extraExecutors: (dir) => target.executorYaml(dir) });
      gate = path.join(h.dir, 'gate');
      client = await h.client();
    });
    afterEach(async () => {
      // A failed test must not leave its tasks printing forever.
      writeFileSync(gate, '');
      await h.cleanup();
      await target.afterEach();
    });

    // A task printing lines until the gate file appears, then touching `marker` and exiting `exitCode`; its id.
    async function runLinesUntil(marker: string, exitCode: number): Promise<string> {
      const r = await h.cli([
        'run',
        '-e',
        target.executor,
        '--',
        LINES_UNTIL,
        '0.05',
        String(MAX_LINES),
        gate,
        marker,
        String(exitCode),
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout.trim();
    }

    async function startTasks(): Promise<RunningTask[]> {
      const tasks: RunningTask[] = [];
      for (const exitCode of EXIT_CODES) {
        const marker = path.join(h.dir, `ran-${exitCode}`);
        tasks.push({ id: await runLinesUntil(marker, exitCode), exitCode, marker });
      }
      return tasks;
    }

    async function linesInLog(id: string): Promise<number> {
      return (await h.logText(id)).stdout.split('\n').filter((line) => line.startsWith('line')).length;
    }

    async function records(tasks: RunningTask[]): Promise<TaskRecord[]> {
      return (await client.views(tasks.map((t) => t.id))).map((v) => v.record);
    }

    it('a task that ends while no worker runs is recorded as ending when its process did, not when a replacement worker noticed', async () => {
      const first = await h.startWorker(target.executor);
      const id = await runLinesUntil(path.join(h.dir, 'ran'), 5);
      await eventually(async () => ((await linesInLog(id)) >= 3 ? true : undefined), `output of ${id}`);
      const seenRunning = Date.now();
      const exited = new Promise((resolve) => first.once('exit', resolve));
      first.kill('SIGKILL');
      await exited;
      const [running] = await client.views([id]);
      expect(await target.isRunning(running!.record), 'running after its worker died').toBe(true);

      // It ends with no worker running; the replacement starts a few seconds later.
      writeFileSync(gate, '');
      await eventually(
        async () => ((await target.isRunning(running!.record)) ? undefined : true),
        'the task to end without a worker',
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const replacedAt = Date.now();
      await h.startWorker(target.executor);
      const json = await eventually(async () => {
        const now = await h.taskJson(id);
        return isEndedStatus(now.status as TaskStatus) ? now : undefined;
      }, 'the replacement worker to end the task');
      expect({ status: json.status, exit_code: json.exit_code }).toEqual({ status: 'failed', exit_code: 5 });
      const started = Date.parse(json.started_at as string);
      const finished = Date.parse(json.finished_at as string);
      expect(finished, 'finished_at after the task was seen running').toBeGreaterThan(seenRunning);
      expect(finished, 'finished_at well before the replacement worker started').toBeLessThan(replacedAt - 2000);
      expect(json.duration_ms).toBe(finished - started);
    });

    for (const fault of FAULTS) {
      it(`a worker ${fault.how} with tasks running exits while they keep running; the next worker re-attaches: every line once, one end, exit codes recorded`, async () => {
        const first = await h.startWorker(target.executor);
        const tasks = await startTasks();
        for (const task of tasks)
          await eventually(async () => ((await linesInLog(task.id)) >= 3 ? true : undefined), `output of ${task.id}`);

        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          first.once('exit', (code, signal) => resolve({ code, signal })),
        );
        first.kill(fault.signal);
        expect(await exited).toEqual(fault.exit);
        // Each task is alive without a worker, and the worker was gone before any of them would have ended.
        for (const record of await records(tasks)) {
          expect(await target.isRunning(record), `${record.id} still running after its worker exited`).toBe(true);
          expect(record.outcome, `${record.id} not ended by the fault`).toBeUndefined();
        }
        const printed = await Promise.all(tasks.map((t) => linesInLog(t.id)));

        await h.startWorker(target.executor);
        // Output printed since the fault reaches the log: the new worker follows the live runs.
        for (const [i, task] of tasks.entries()) {
          await eventually(
            async () => ((await linesInLog(task.id)) > printed[i]! + 5 ? true : undefined),
            `new output of ${task.id} after re-attaching`,
          );
        }
        for (const record of await records(tasks))
          expect(await target.isRunning(record), `${record.id} still running after re-attaching`).toBe(true);

        writeFileSync(gate, '');
        // `logs --follow` ends with the task, and with its exit code.
        const last = tasks.at(-1)!;
        expect((await h.cli(['logs', last.id, '--follow', '--lines', '100000'])).exitCode).toBe(last.exitCode);
        const views = await eventually(async () => {
          const now = await client.views(tasks.map((t) => t.id));
          return now.every((v) => isEndedStatus(v.status)) ? now : undefined;
        }, 'the tasks to end');
        for (const [i, task] of tasks.entries()) {
          const { stdout, ends } = await h.logText(task.id);
          const total = Number(/lines (\d+)\n$/.exec(stdout)?.[1]);
          expect(total, `${task.id} printed past the fault`).toBeGreaterThan(printed[i]!);
          expect(total, `${task.id} ended by the gate, not by its cap`).toBeLessThan(MAX_LINES);
          expect(stdout, `every line of ${task.id} exactly once, in order`).toBe(
            Array.from({ length: total }, (_, n) => `line${n + 1}\n`).join('') + `lines ${total}\n`,
          );
          expect(ends, `end markers of ${task.id}`).toBe(1);
          expect(readFileSync(task.marker, 'utf8'), `runs of ${task.id}`).toBe('run\n');
          expect({ status: views[i]!.status, exit_code: views[i]!.record.exitCode }).toEqual({
            status: task.exitCode === 0 ? 'completed' : 'failed',
            exit_code: task.exitCode,
          });
        }
        // Every job was settled by the worker that re-attached: none is left active.
        await eventually(
          async () => ((await client.redis.llen(`${h.prefix}:${target.executor}:active`)) === 0 ? true : undefined),
          'the jobs to leave the active list',
          10_000,
        );
      });
    }
  });
}
