import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContainerExecutor,
  DetachedError,
  describeExit,
  StopSwitch,
  TaskKeys,
  TaskRequestSchema,
  loadTaskRecord,
  parseConfigText,
  unendedTasks,
  type Config,
  type ExecutionResult,
  type ExecutorConfig,
  type ShellCommandPayload,
  type TaskPayload,
} from '../../src/index.js';
import { removeTaskContainers, type UnendedTasks } from '../../src/executors/container/container-retention.js';
import { deleteKeys, eventually, FIXTURES } from '../helpers/harness.js';
import { CONTAINER_CLAUDE, podmanSkipReason, startPodman, TEST_IMAGE, type PodmanService } from '../helpers/podman.js';
import {
  collectOutput,
  describeExecutorConformance,
  executionRunner,
  readLocalFile,
  type Runner,
} from './executor-conformance.js';

const skipReason = podmanSkipReason();
const dir = mkdtempSync(path.join(tmpdir(), 'oca-ctr-'));
const run = randomUUID().slice(0, 6);
let service: Promise<PodmanService> | undefined;
const getService = (): Promise<PodmanService> => (service ??= startPodman());

afterAll(async () => {
  if (service) await (await service).stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A container executor on the test engine: the busybox image, this file's directory and the fixtures mounted at their host paths. */
function containerConfig(socket: string, name: string, overrides: Record<string, unknown> = {}): ExecutorConfig {
  const executor = {
    name,
    type: 'container',
    image: TEST_IMAGE,
    runtime: 'podman',
    socket,
    pull: 'never',
    claude_path: CONTAINER_CLAUDE,
    volumes: [`${dir}:${dir}`, `${FIXTURES}:${FIXTURES}:ro`],
    env: { OCA_EXECUTOR_VAR: 'from executor' },
    ...overrides,
  };
  // JSON is YAML: the config goes through the same parser as a config file.
  return parseConfigText(JSON.stringify({ executors: [executor] }), 'test').executors[0]!;
}

// Containers of this run's executors are removed at the end, whatever the tests left.
async function removeExecutorContainers(docker: Docker, executor: string): Promise<void> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`openclaw.executor=${executor}`] } });
  await Promise.all(
    listed.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
}

describe('describeExit', () => {
  const exit = (exitCode: number, oomKilled = false) => ({ exitCode, oomKilled, error: '' });

  it('names an OOM kill the engine reports, and a SIGKILL nobody sent under a memory limit as a likely one', () => {
    expect(describeExit(exit(137, true), 64 << 20, false)).toEqual({
      outcome: 'failed',
      exitCode: 137,
      signal: 'SIGKILL',
      error: 'out of memory: the container was OOM-killed (it has a memory limit of 64m)',
    });
    expect(describeExit(exit(137), 64 << 20, false).error).toMatch(
      /^killed by SIGKILL with a memory limit of 64m: probably out of memory/,
    );
    expect(describeExit(exit(137), 64 << 20, true)).toEqual({ outcome: 'failed', exitCode: 137, signal: null });
    expect(describeExit(exit(137), undefined, false)).toEqual({ outcome: 'failed', exitCode: 137, signal: null });
    expect(describeExit(exit(0), 64 << 20, false)).toEqual({ outcome: 'completed', exitCode: 0, signal: null });
  });
});

if (skipReason) {
  describe.skip(`container executor (${skipReason})`, () => {
    it('runs against a Docker-API engine', () => {});
  });
} else {
  describeExecutorConformance('container', async () => {
    const engine = await getService();
    const config = containerConfig(engine.url, `oca-conf-${run}`);
    const executor = new ContainerExecutor(config);
    await executor.prepare();
    const docker = new Docker({ socketPath: engine.socket });
    return {
      executor,
      executorConfig: config,
      workdir: dir,
      // The image's /etc/passwd gives root the home /root.
      home: '/root',
      async killFromOutside(handle) {
        await engine.podman(['rm', '--force', handle.container!]);
      },
      // The container's processes, init included; none once it has stopped.
      async processesLeft(handle) {
        const running =
          (await engine.podman(['inspect', '--format', '{{.State.Running}}', handle.container!])).trim() === 'true';
        if (!running) return 0;
        const top = await engine.podman(['top', handle.container!, 'pid']).catch(() => '');
        return top.trim().split('\n').length - 1;
      },
      async runLeft(taskId) {
        return (await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${taskId}`] } })).length > 0;
      },
      readFile: readLocalFile,
      async cleanup() {
        executor.close();
        await removeExecutorContainers(docker, config.name);
      },
    };
  });

  describe('container executor', () => {
    let engine: PodmanService;
    let docker: Docker;
    let redis: Redis;
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
    const executors: ContainerExecutor[] = [];
    const names = new Set<string>();

    beforeAll(async () => {
      engine = await getService();
      docker = new Docker({ socketPath: engine.socket });
      redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    });

    afterAll(async () => {
      for (const executor of executors) executor.close();
      for (const name of names) await removeExecutorContainers(docker, name);
      await deleteKeys(redis, `${keys.prefix}:*`);
      redis.disconnect();
    });

    function makeExecutor(
      overrides: Record<string, unknown> = {},
      name = `oca-ctr-${run}`,
      unended?: UnendedTasks,
    ): { executor: ContainerExecutor; config: ExecutorConfig } {
      const config = containerConfig(engine.url, name, overrides);
      const executor = new ContainerExecutor(config, unended);
      executors.push(executor);
      names.add(name);
      return { executor, config };
    }

    // As a worker runs a task (record, log writer, start marks); `config` may differ per call.
    function execute(
      executor: ContainerExecutor,
      config: ExecutorConfig,
      payload: TaskPayload,
      options: Parameters<Runner['execute']>[1] = {},
    ): Promise<ExecutionResult> {
      return executionRunner(redis, keys, executor, config, defaults).execute(payload, options);
    }

    const output = (taskId: string) => collectOutput(redis, keys, taskId);

    async function handleOf(taskId: string): Promise<Record<string, string>> {
      const request = TaskRequestSchema.parse({ executor: 'x', payload: sh('true'), createdAt: 0 });
      return (await loadTaskRecord(redis, keys, taskId, request, 'container')).handle;
    }

    const sh = (command: string, extra: Partial<ShellCommandPayload> = {}): ShellCommandPayload => ({
      type: 'shell_command',
      command,
      args: [],
      env: {},
      workingDir: dir,
      ...extra,
    });

    it('names and labels the container after the task, with an init, no AutoRemove, argv as Cmd and the limits of the config', async () => {
      const { executor, config } = makeExecutor({
        memory: '64m',
        cpus: 0.5,
        pids_limit: 50,
        network: 'none',
        user: '0:0',
      });
      const taskId = randomUUID();
      const result = await execute(
        executor,
        config,
        { ...sh('printf'), args: ['%s|', 'a b', '$HOME'], env: { TASK_VAR: 'task value' } },
        { taskId, attempt: 2 },
      );
      expect(result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
      expect((await output(taskId)).stdout).toBe('a b|$HOME|');

      const name = `openclaw-${config.name}-${taskId.slice(0, 8)}-2`;
      expect(await handleOf(taskId)).toMatchObject({ name });
      const info = await docker.getContainer(name).inspect();
      expect(info.Config.Labels).toMatchObject({
        'openclaw.task': taskId,
        'openclaw.executor': config.name,
        'openclaw.attempt': '2',
      });
      expect(info.Config.Cmd).toEqual(['printf', '%s|', 'a b', '$HOME']);
      expect(info.Config.WorkingDir).toBe(dir);
      expect(info.Config.User).toBe('0:0');
      expect(info.Config.Env).toEqual(
        expect.arrayContaining(['TASK_VAR=task value', 'OCA_EXECUTOR_VAR=from executor']),
      );
      expect(info.HostConfig).toMatchObject({
        Init: true,
        AutoRemove: false,
        Memory: 64 << 20,
        NanoCpus: 500_000_000,
        PidsLimit: 50,
        NetworkMode: 'none',
      });
    });

    // 100 containers: ~50 s on a 2-vCPU VM by itself, more while other suites run.
    it('reports exit code 3 for each of 100 fast `exit 3` runs', async () => {
      const { executor, config } = makeExecutor({ network: 'none' });
      const results: ExecutionResult[] = [];
      for (let batch = 0; batch < 10; batch++) {
        results.push(...(await Promise.all(Array.from({ length: 10 }, () => execute(executor, config, sh('exit 3'))))));
      }
      expect(results.map((r) => r.exitCode)).toEqual(Array.from({ length: 100 }, () => 3));
      expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['failed']));
    }, 240_000);

    it('enforces the memory limit: a memory hog ends with exit code 137, reported as out of memory', async () => {
      const { executor, config } = makeExecutor({ memory: '32m' });
      const taskId = randomUUID();
      // tail keeps the last "line" in memory, and 200m of zeros have no line break.
      const result = await execute(executor, config, sh('echo start; head -c 200m /dev/zero | tail'), { taskId });
      expect(result).toMatchObject({ outcome: 'failed', exitCode: 137 });
      expect(result.error).toMatch(/out of memory/);
      expect((await output(taskId)).stdout).toBe('start\n');
    });

    it('holds the pids limit', async () => {
      const { executor, config } = makeExecutor({ pids_limit: 8 });
      const taskId = randomUUID();
      const result = await execute(executor, config, sh('for i in $(seq 1 20); do sleep 5 & done; echo all started'), {
        taskId,
      });
      expect(result.outcome).toBe('failed');
      const { stdout, stderr } = await output(taskId);
      expect(stderr).toMatch(/can't fork/);
      expect(stdout).not.toContain('all started');
    });

    it('stops a task that handles SIGTERM within the grace period, with the exit code it chose', async () => {
      const { executor, config } = makeExecutor();
      const taskId = randomUUID();
      const stop = new StopSwitch();
      const running = execute(
        executor,
        config,
        sh("trap 'echo bye; exit 5' TERM; echo up; while :; do sleep 0.1; done"),
        { taskId, stop },
      );
      await eventually(
        async () => ((await output(taskId)).stdout.includes('up') ? true : undefined),
        'the task to start',
      );
      stop.trip({ kind: 'killed', graceMs: 20_000, reason: 'test' });
      const result = await running;
      expect(result).toMatchObject({ outcome: 'failed', exitCode: 5, stopped: true });
      expect((await output(taskId)).stdout).toBe('up\nbye\n');
    });

    it('re-attaches mid-flood with no gap or duplicate although the engine stamps whole seconds, and never starts the task twice', async () => {
      const { executor, config } = makeExecutor();
      const taskId = randomUUID();
      const marker = path.join(dir, `marker-${taskId}`);
      // Thousands of lines per second on both streams, in bursts, so the detach lands mid-output.
      const flood = `echo run >>${marker}; for i in 1 2 3 4 5 6; do seq $((i * 20000 - 19999)) $((i * 20000)); seq $i $i >&2; sleep 0.3; done; exit 9`;
      const first = new AbortController();
      const running = execute(executor, config, sh(flood), { taskId, signal: first.signal });
      await eventually(
        async () => ((await output(taskId)).stdout.includes('\n30000\n') ? true : undefined),
        'output to flow',
      );
      first.abort();
      await expect(running).rejects.toBeInstanceOf(DetachedError);

      const result = await execute(executor, config, sh(flood), { taskId });
      expect(result).toEqual({ outcome: 'failed', exitCode: 9, signal: null, endedAt: expect.any(Number) });
      const { stdout, stderr } = await output(taskId);
      expect(stdout === Array.from({ length: 120_000 }, (_, i) => `${i + 1}\n`).join('')).toBe(true);
      expect(stderr).toBe('1\n2\n3\n4\n5\n6\n');
      expect(await readLocalFile(marker)).toBe('run\n');
    });

    it('re-attaches to a container that was created but not started by a worker that died, and starts it once', async () => {
      const { executor, config } = makeExecutor();
      const taskId = randomUUID();
      const marker = path.join(dir, `marker-${taskId}`);
      const payload = sh(`echo run >>${marker}; echo hello`);
      // What a worker leaves when it dies between creating the container and starting it.
      await docker.createContainer({
        name: `openclaw-${config.name}-${taskId.slice(0, 8)}`,
        Image: TEST_IMAGE,
        Cmd: ['sh', '-c', payload.command],
        WorkingDir: dir,
        Labels: { 'openclaw.task': taskId, 'openclaw.executor': config.name, 'openclaw.attempt': '1' },
        HostConfig: { Init: true, Binds: [`${dir}:${dir}`] },
      });
      const result = await execute(executor, config, payload, { taskId });
      expect(result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
      expect((await output(taskId)).stdout).toBe('hello\n');
      expect(await readLocalFile(marker)).toBe('run\n');
      expect((await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${taskId}`] } })).length).toBe(
        1,
      );
    });

    it('ends as lost when its container was removed while no worker followed it', async () => {
      const { executor, config } = makeExecutor();
      const taskId = randomUUID();
      const payload = sh('echo started; sleep 60');
      const first = new AbortController();
      const running = execute(executor, config, payload, { taskId, signal: first.signal });
      await eventually(
        async () => ((await output(taskId)).stdout.includes('started') ? true : undefined),
        'the task to start',
      );
      first.abort();
      await expect(running).rejects.toBeInstanceOf(DetachedError);
      await engine.podman(['rm', '--force', '--time', '0', (await handleOf(taskId)).container!]);
      const result = await execute(executor, config, payload, { taskId });
      expect(result).toMatchObject({ outcome: 'lost', exitCode: null });
      expect(result.error).toMatch(/^the task's container vanished without recording an exit code/);
      expect((await output(taskId)).system).toBe(`${result.error}\n`);
    });

    it('ends when the container is removed while it is followed: as lost, or killed if the kill was seen first', async () => {
      const { executor, config } = makeExecutor();
      // `rm --force --time 0` kills the container (SIGKILL: 137), then removes it: a look in
      // between finds the kill's exit code (CI saw this once in ~20 runs), a look after finds
      // nothing. Both are true accounts; a success, another exit code or a hang are not. Three
      // rounds, and the vanished end must show in at least one: a follower that never looked
      // past the kill (trusting the wait's status) would end every round killed.
      const results: ExecutionResult[] = [];
      for (let round = 0; round < 3; round++) {
        const taskId = randomUUID();
        const running = execute(executor, config, sh('echo started; sleep 60'), { taskId });
        await eventually(
          async () => ((await output(taskId)).stdout.includes('started') ? true : undefined),
          'the task to start',
        );
        await engine.podman(['rm', '--force', '--time', '0', (await handleOf(taskId)).container!]);
        results.push(await running);
      }
      const vanished = { outcome: 'lost', exitCode: null, signal: null, error: expect.stringMatching(/vanished/) };
      const killed = { outcome: 'failed', exitCode: 137, signal: null, endedAt: expect.any(Number) };
      for (const result of results) expect([vanished, killed]).toContainEqual(result);
      expect(results.filter((r) => r.outcome === 'lost').length).toBeGreaterThan(0);
    });

    it('fails clearly and creates nothing when the image is missing and pull is never', async () => {
      const { executor, config } = makeExecutor({ pull: 'never' }, `oca-ctr-${run}-pull`);
      const taskId = randomUUID();
      const result = await execute(executor, { ...config, image: 'localhost/oca-missing:latest' }, sh('echo ran'), {
        taskId,
      });
      expect(result).toMatchObject({ outcome: 'failed', exitCode: null });
      expect(result.error).toMatch(
        /^image localhost\/oca-missing:latest is not on the engine at unix:\/\/\S+podman\.sock, and executor "oca-ctr-\w+-pull" has `pull: never`/,
      );
      expect((await output(taskId)).system).toBe(`${result.error}\n`);
      expect(await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${taskId}`] } })).toEqual([]);
    });

    it('fails clearly when pulling a missing image fails', async () => {
      const { executor, config } = makeExecutor({ pull: 'missing' });
      const taskId = randomUUID();
      const image = '127.0.0.1:9/oca-missing:1';
      const result = await execute(executor, { ...config, image, pull: 'missing' }, sh('echo ran'), { taskId });
      expect(result).toMatchObject({ outcome: 'failed', exitCode: null });
      // The engine's own reason, from its progress stream.
      expect(result.error).toMatch(
        /^could not pull image 127\.0\.0\.1:9\/oca-missing:1: .*127\.0\.0\.1:9.*connection refused/,
      );
      expect(result.error).not.toContain('\n');
      expect(await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${taskId}`] } })).toEqual([]);
    });

    it("cleanup removes the task's containers with their anonymous volumes", async () => {
      const { executor, config } = makeExecutor({ volumes: [`${dir}:${dir}`, '/cache'] });
      const taskId = randomUUID();
      expect(await execute(executor, config, sh('echo kept >/cache/file'), { taskId })).toMatchObject({ exitCode: 0 });
      const info = await docker.getContainer((await handleOf(taskId)).container!).inspect();
      const volume = info.Mounts.find((mount) => mount.Destination === '/cache')?.Name;
      expect(volume).toBeTruthy();

      expect(await removeTaskContainers(config, taskId)).toEqual([info.Name.replace(/^\//, '')]);
      await expect(docker.getContainer(info.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(docker.getVolume(volume!).inspect()).rejects.toMatchObject({ statusCode: 404 });
    });

    it('removes the containers of ended tasks after container_retention, and leaves running ones', async () => {
      const { executor, config } = makeExecutor({ container_retention: '1h' }, `oca-ctr-${run}-sweep`);
      const ended = randomUUID();
      expect(await execute(executor, config, sh('true'), { taskId: ended })).toMatchObject({ exitCode: 0 });
      const stop = new StopSwitch();
      const runningId = randomUUID();
      const running = execute(executor, config, sh('echo up; sleep 60'), { taskId: runningId, stop });
      await eventually(
        async () => ((await output(runningId)).stdout.includes('up') ? true : undefined),
        'the task to start',
      );

      expect(await executor.sweep()).toEqual([]);
      const later = Date.now() + 2 * 3_600_000;
      expect(await executor.sweep(later)).toEqual([`openclaw-${config.name}-${ended.slice(0, 8)}`]);
      expect(
        (await docker.listContainers({ all: true, filters: { label: [`openclaw.executor=${config.name}`] } })).map(
          (c) => c.Labels['openclaw.task'],
        ),
      ).toEqual([runningId]);
      stop.trip({ kind: 'killed', graceMs: 0, reason: 'test' });
      expect(await running).toMatchObject({ stopped: true });
    });

    it('keeps past container_retention the containers of a task that has not ended, as the worker does', async () => {
      // A task between runs (a usage-limit wait, a retry's backoff) has no end on its record yet:
      // its next run resumes the Claude session its container holds.
      const unended: UnendedTasks = (ids) => unendedTasks(redis, keys, ids);
      const { executor, config } = makeExecutor({ container_retention: '1h' }, `oca-ctr-${run}-keep`, unended);
      const [waiting, done, forgotten] = [randomUUID(), randomUUID(), randomUUID()];
      for (const taskId of [waiting, done, forgotten])
        expect(await execute(executor, config, sh('true'), { taskId })).toMatchObject({ exitCode: 0 });
      await redis.hset(keys.record(done), 'finished_at', Date.now());
      // A task whose record is gone (removed by retention) has ended too.
      await redis.del(keys.record(forgotten));
      const swept = await executor.sweep(Date.now() + 2 * 3_600_000);
      expect(swept.sort()).toEqual([done, forgotten].map((id) => `openclaw-${config.name}-${id.slice(0, 8)}`).sort());
      const left = await docker.listContainers({ all: true, filters: { label: [`openclaw.executor=${config.name}`] } });
      expect(left.map((c) => c.Labels['openclaw.task'])).toEqual([waiting]);
    });

    it('fails prepare() with one line naming the socket when no engine answers', async () => {
      const socket = path.join(dir, 'no-engine.sock');
      const { executor } = makeExecutor({ socket }, `oca-ctr-${run}-down`);
      const error = await executor.prepare().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(
        new RegExp(
          `^executor "oca-ctr-\\w+-down": no container engine answers at ${socket} \\(.+\\) — start \`podman system service`,
        ),
      );
      expect(error?.message).not.toContain('\n');
    });
  });
}
