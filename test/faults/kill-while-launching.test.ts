// A worker that dies after launching a run and before recording its start, with a kill requested
// meanwhile: the next worker finds what was launched through the launching mark and stops it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isEndedStatus, killTask, type TaskClient } from '../../src/index.js';
import { createHarness, eventually, FIXTURES, type Harness } from '../helpers/harness.js';
import { workerFaultTargets } from '../helpers/worker-fault-targets.js';

/** Makes a worker SIGKILL itself as it is about to record a run's start (see the file). */
const DIE_AT_START_MARK = path.join(FIXTURES, 'die-at-start-mark.cjs');

for (const target of workerFaultTargets()) {
  const title = `kill while launching on the ${target.type} executor${target.skipReason ? ` (${target.skipReason})` : ''}`;
  describe.skipIf(target.skipReason)(title, () => {
    let h: Harness;
    let client: TaskClient;

    beforeAll(async () => {
      await target.setup();
    });
    afterAll(async () => {
      await target.teardown();
    });
    beforeEach(async () => {
      h = createHarness({ extraExecutors: (dir) => target.executorYaml(dir) });
      client = await h.client();
    });
    afterEach(async () => {
      await h.cleanup();
      await target.afterEach();
    });

    it('a worker that dies after the launch, before recording the start, with a kill requested: the next worker stops the run, which ends killed', async () => {
      const dying = await h.startWorker(target.executor, { NODE_OPTIONS: `--require ${DIE_AT_START_MARK}` });
      const died = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        dying.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const marker = path.join(h.dir, 'ran');
      const r = await h.cli(['run', '-e', target.executor, '--', 'sh', '-c', `echo run >> ${marker}; sleep 300`]);
      expect(r.exitCode, r.stderr).toBe(0);
      const id = r.stdout.trim();
      expect(await died).toEqual({ code: null, signal: 'SIGKILL' });

      // Launched, its start never recorded: only the launching mark says where it is.
      const launching = await client.get(id);
      expect(launching.status).toBe('running');
      expect(launching.record.launchingAt).toEqual(expect.any(Number));
      expect(launching.record.pid).toBeUndefined();
      await eventually(async () => ((await target.runLeft(launching.record)) ? true : undefined), 'the launched run');
      expect((await killTask(client, id, 1000)).kind).toBe('stop-requested');

      await h.startWorker(target.executor);
      const ended = await eventually(async () => {
        const view = await client.get(id);
        return isEndedStatus(view.status) ? view : undefined;
      }, 'the task to end');
      expect({ status: ended.status, error: ended.record.error }).toEqual({
        status: 'killed',
        error: 'killed on request',
      });
      expect(await target.runLeft(ended.record), 'anything of the run left').toBe(false);
      expect((await h.logText(id)).ends).toBe(1);
      // A container is created before its start is recorded, and started after: it never ran.
      if (target.type === 'container') expect(existsSync(marker)).toBe(false);
    });
  });
}
