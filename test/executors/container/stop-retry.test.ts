// A stop the engine fails (the connection drops on both the stop and the kill) is tried again
// while the task is followed: the container does not run on past its kill.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContainerExecutor,
  StopSwitch,
  TaskKeys,
  parseConfigText,
  type Config,
  type ExecutionResult,
  type ExecutorConfig,
  type ShellCommandPayload,
} from '../../../src/index.js';
import { startEngineFaultProxy, type EngineFaultProxy } from '../../helpers/engine-fault-proxy.js';
import { deleteKeys, eventually } from '../../helpers/harness.js';
import { podmanSkipReason, startPodman, TEST_IMAGE, type PodmanService } from '../../helpers/podman.js';
import { collectOutput, executionRunner } from '../executor-conformance.js';

const skipReason = podmanSkipReason();
const STOP_OR_KILL = /^\/(v[\d.]+\/)?containers\/[^/?]+\/(stop|kill)(\?|$)/;

if (skipReason) {
  describe.skip(`container stop retries (${skipReason})`, () => {
    it('runs against a Docker-API engine', () => {});
  });
} else {
  describe('container stop retries', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-stop-'));
    const name = `oca-stop-${randomUUID().slice(0, 6)}`;
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
    let engine: PodmanService;
    let docker: Docker;
    let redis: Redis;
    let proxy: EngineFaultProxy;
    let executor: ContainerExecutor | undefined;
    let failuresLeft = 0;

    beforeAll(async () => {
      engine = await startPodman();
      docker = new Docker({ socketPath: engine.socket });
      redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      proxy = await startEngineFaultProxy(engine.socket, path.join(dir, 'engine.sock'), (method, url) => {
        if (method !== 'POST' || !STOP_OR_KILL.test(url) || failuresLeft === 0) return false;
        failuresLeft--;
        return true;
      });
    });

    afterAll(async () => {
      executor?.close();
      if (docker) {
        const listed = await docker.listContainers({ all: true, filters: { label: [`openclaw.executor=${name}`] } });
        for (const c of listed) {
          await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => {});
        }
      }
      await proxy?.close();
      if (redis) {
        await deleteKeys(redis, `${keys.prefix}:*`);
        redis.disconnect();
      }
      await engine?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const sh = (command: string): ShellCommandPayload => ({
      type: 'shell_command',
      command,
      args: [],
      env: {},
      workingDir: '/',
    });

    it('kills a task although the engine drops the first stop and kill calls, and the container stops', async () => {
      const config: ExecutorConfig = parseConfigText(
        JSON.stringify({
          executors: [
            { name, type: 'container', image: TEST_IMAGE, runtime: 'podman', socket: proxy.url, pull: 'never' },
          ],
        }),
        'test',
      ).executors[0]!;
      executor = new ContainerExecutor(config);
      const taskId = randomUUID();
      const stop = new StopSwitch();
      const running = executionRunner(redis, keys, executor, config, defaults).execute(sh('echo up; sleep 300'), {
        taskId,
        stop,
      });
      // Not left unhandled should it end with an error after a failed assertion (cleanup removes the container).
      running.catch(() => {});
      await eventually(
        async () => ((await collectOutput(redis, keys, taskId)).stdout.includes('up') ? true : undefined),
        'the task to start',
      );
      failuresLeft = 2;
      const began = Date.now();
      stop.trip({ kind: 'killed', graceMs: 1000, reason: 'test' });
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        running,
        new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 30_000))),
      ]).finally(() => clearTimeout(timer));
      expect(result).not.toBe('still running');
      expect(result as ExecutionResult).toMatchObject({ outcome: 'failed', stopped: true });
      expect(Date.now() - began).toBeLessThan(30_000);
      // Both dropped, then a later stop went through to the engine.
      expect(proxy.failed).toEqual([
        expect.stringMatching(/\/stop\?t=1$/),
        expect.stringMatching(/\/kill\?signal=SIGKILL$/),
      ]);
      expect(proxy.forwarded.some((line) => /^POST \S*\/(stop|kill)/.test(line))).toBe(true);
      const [found] = await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${taskId}`] } });
      expect(found).toBeDefined();
      expect((await docker.getContainer(found!.Id).inspect()).State.Running).toBe(false);
    }, 90_000);
  });
}
