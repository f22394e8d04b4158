import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  DetachedError,
  finishTask,
  LocalExecutor,
  OtherHostError,
  parseConfigText,
  requestStop,
  TaskEndedError,
  TaskKeys,
  TaskRequestSchema,
} from '../../src/index.js';
import { localSpoolDir } from '../../src/executors/local/local-executor.js';
import { deleteKeys } from '../helpers/harness.js';
import { describeExecutorConformance, executionRunner, readLocalFile, waitFor } from './executor-conformance.js';
import { countProcessGroup, processesOfSpoolDir } from '../helpers/processes.js';

describeExecutorConformance('local', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-local-'));
  const config = parseConfigText(
    `executors:
  - name: local
    type: local
    spool_dir: ${path.join(dir, 'spool')}
    env: { OCA_EXECUTOR_VAR: from executor }
`,
    'test',
  );
  return {
    executor: new LocalExecutor(),
    executorConfig: config.executors[0]!,
    workdir: dir,
    home: homedir(),
    async killFromOutside(handle) {
      process.kill(-Number(handle.pid), 'SIGKILL');
    },
    async processesLeft(handle) {
      return countProcessGroup(Number(handle.pid));
    },
    async runLeft(_taskId, handle) {
      return processesOfSpoolDir(handle.dir) > 0;
    },
    readFile: readLocalFile,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('local executor spool root', () => {
  it('makes the spool root again when it was removed while the worker ran', async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      const executor = local();
      const runner = executionRunner(redis, keys, executor, config.executors[0]!, config.defaults);
      expect(
        (await runner.run({ type: 'shell_command', command: 'echo one', args: [], env: {}, workingDir: dir })).stdout,
      ).toBe('one\n');
      rmSync(path.join(dir, 'spool'), { recursive: true, force: true });
      expect(
        (await runner.run({ type: 'shell_command', command: 'echo two', args: [], env: {}, workingDir: dir })).stdout,
      ).toBe('two\n');
    });
  });
});

describe('local executor and a long task line (the spec file)', () => {
  it('runs a command of 64 KB with a variable of 8 KB exact, and removes the spec file once the task has ended', async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      const runner = executionRunner(redis, keys, local(), config.executors[0]!, config.defaults);
      const word = 'w'.repeat(64 * 1024);
      const taskId = randomUUID();
      const spool = localSpoolDir(config.executors[0]!, taskId, 1);
      const result = await runner.execute(
        {
          type: 'shell_command',
          command: `printf '%s' ${word} | wc -c; printf '%s' "$BIG" | wc -c; [ -s "$SPOOL/spec" ] && echo from the spec file`,
          args: [],
          env: { BIG: 'b'.repeat(8192), SPOOL: spool },
          workingDir: dir,
        },
        { taskId },
      );
      expect(result.outcome).toBe('completed');
      const { stdout } = await runner.collect(taskId);
      expect(stdout.split('\n').map((n) => n.trim())).toEqual(['65536', '8192', 'from the spec file', '']);
      expect(existsSync(path.join(spool, 'pid'))).toBe(true);
      // Its command and variables were in the spec file: gone with the task.
      expect(existsSync(path.join(spool, 'spec'))).toBe(false);
    });
  });
});

describe('local executor and a long task line on a full disk', () => {
  it('fails the task in one line when its spec file cannot be written, runs nothing, and leaves no spec behind', async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      // The spool on a 64 KiB tmpfs, filled: a directory can still be made there, a file not
      // written (mounted here: the tests run as root).
      const spool = path.join(dir, 'spool');
      mkdirSync(spool);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', spool]);
      try {
        writeFileSync(path.join(spool, 'fill'), Buffer.alloc(64 * 1024));
        const runner = executionRunner(redis, keys, local(), config.executors[0]!, config.defaults);
        const marker = path.join(dir, 'ran');
        const taskId = randomUUID();
        const result = await runner.execute(
          {
            type: 'shell_command',
            command: `touch ${marker}; : ${'x'.repeat(1000)}`,
            args: [],
            env: {},
            workingDir: dir,
          },
          { taskId },
        );
        const reason = /^could not hand the task to its shell on executor "local": .*ENOSPC/;
        expect(result).toMatchObject({ outcome: 'failed', exitCode: null });
        expect(result.error).toMatch(reason);
        expect((await runner.collect(taskId)).system).toMatch(reason);
        const run = localSpoolDir(config.executors[0]!, taskId, 1);
        // The directory stays as the claim; nothing in it, nothing run.
        expect(readdirSync(run)).toEqual([]);
        expect(existsSync(marker)).toBe(false);
      } finally {
        execFileSync('umount', ['-l', spool]);
      }
    });
  });
});

describe('local executor and a launch ahead (tasks/launch-ahead.ts)', () => {
  it('a kill found on a run claimed for a launch ahead: the worker claims the directory, so nothing is launched into it after', async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      const executor = local({ hostId: 'host-a' });
      const runner = executionRunner(redis, keys, executor, config.executors[0]!, config.defaults);
      const taskId = randomUUID();
      const spool = path.join(dir, 'spool', taskId);
      const marker = path.join(dir, 'ran');
      const payload = {
        type: 'shell_command' as const,
        command: 'sh',
        args: ['-c', `touch '${marker}'`],
        env: {},
        workingDir: dir,
      };
      // The dispatcher's claim (CLAIM_LAUNCH_AHEAD_SOURCE), then a kill, then the worker takes the
      // job before the dispatcher has launched: the worker must leave it nothing to launch.
      await redis.hset(keys.record(taskId), { launching_at: String(Date.now()), 'h:dir': spool, 'h:host': 'host-a' });
      await requestStop(redis, keys, taskId, { kind: 'killed', graceMs: 300, reason: 'killed on request' });
      const result = await runner.execute(payload, { taskId });
      expect(result).toEqual({ outcome: 'failed', exitCode: null, signal: null, stopped: true });
      expect(existsSync(spool)).toBe(true);

      const request = TaskRequestSchema.parse({ executor: 'local', payload, createdAt: Date.now() });
      const late = executor.prepareLaunchAhead({
        taskId,
        request,
        executor: config.executors[0]!,
        defaults: config.defaults,
        dir: spool,
      });
      expect(await late.start()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(existsSync(marker)).toBe(false);
    });
  });
});

describe('local executor across hosts', () => {
  it("hands a task of another host back while that host's heartbeat lives, and ends it lost once it is gone", async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      let beating = true;
      const looks: string[] = [];
      const heartbeat = {
        ttlMs: 1500,
        periodMs: 100,
        alive: async (host: string) => {
          looks.push(host);
          return beating;
        },
      };
      const there = local({ hostId: 'host-b', heartbeat });
      const onB = executionRunner(redis, keys, there, config.executors[0]!, config.defaults);
      const taskId = randomUUID();
      const payload = { type: 'shell_command' as const, command: 'true', args: [], env: {}, workingDir: dir };
      // Started on host-a, as far as the record says (nothing runs: host-b must not look for it).
      await redis.hset(keys.record(taskId), { 'h:host': 'host-a', 'h:dir': path.join(dir, 'spool', taskId), pid: '1' });
      const handedBack = await onB.execute(payload, { taskId }).catch((error: unknown) => error);
      expect(handedBack).toBeInstanceOf(OtherHostError);
      expect(handedBack).toMatchObject({ host: 'host-a', retryMs: 100 });

      beating = false;
      looks.length = 0;
      const result = await onB.execute(payload, { taskId });
      expect(result).toEqual({
        outcome: 'lost',
        exitCode: null,
        signal: null,
        error:
          'host "host-a" stopped answering (no heartbeat for 1.5s, worker.host_heartbeat); this worker on "host-b" cannot reach the task\'s process',
      });
      // Gone on two looks, a refresh apart: a host whose workers are reconnecting is not taken for gone.
      expect(looks).toEqual(['host-a', 'host-a']);
    });
  });

  it('ends a task started on another host as lost, naming both hosts, and leaves its process alone', async () => {
    await inLocalWorld(async ({ dir, redis, keys, config, local }) => {
      const here = local({ hostId: 'host-a' });
      const there = local({ hostId: 'host-b', lockDurationMs: 2000 });
      const onA = executionRunner(redis, keys, here, config.executors[0]!, config.defaults);
      const onB = executionRunner(redis, keys, there, config.executors[0]!, config.defaults);
      const taskId = randomUUID();
      const payload = {
        type: 'shell_command' as const,
        command: 'while :; do echo tick; sleep 0.1; done',
        args: [],
        env: {},
        workingDir: dir,
      };
      let pid = 0;
      try {
        const detach = new AbortController();
        const first = onA.execute(payload, { taskId, signal: detach.signal });
        await waitFor(async () => (await onA.collect(taskId)).stdout.includes('tick'));
        detach.abort();
        await expect(first).rejects.toBeInstanceOf(DetachedError);
        expect(await redis.hget(keys.record(taskId), 'h:host')).toBe('host-a');
        pid = Number(await redis.hget(keys.record(taskId), 'pid'));

        // Same filesystem and pids here, as in a network-namespace test: the record's host decides.
        const result = await onB.execute(payload, { taskId });
        const error =
          'the task ran on host "host-a", whose worker stopped answering for 2.0s (worker.lock_duration); this worker on "host-b" cannot reach its process';
        expect(result).toEqual({ outcome: 'lost', exitCode: null, signal: null, error });
        expect((await onA.collect(taskId)).system).toBe(`${error}\n`);
        expect(countProcessGroup(pid)).toBeGreaterThan(0);

        // The worker on host-a comes back to a task ended meanwhile: it stops the orphan, ships nothing.
        await finishTask(
          redis,
          keys,
          taskId,
          { ...result, finishedAt: Date.now() },
          { retentionMs: 60_000, maxLogEntries: 1000 },
        );
        const shipped = (await onA.collect(taskId)).entries;
        await expect(onA.execute(payload, { taskId })).rejects.toBeInstanceOf(TaskEndedError);
        expect(countProcessGroup(pid)).toBe(0);
        expect((await onA.collect(taskId)).entries).toBe(shipped);
      } finally {
        if (pid > 0 && countProcessGroup(pid) > 0) process.kill(-pid, 'SIGKILL');
      }
    });
  });
});

/**
 * Runs one case in a world of its own: a temp directory, a Redis key prefix and a config with one
 * local executor spooling under the directory. `local()` makes an executor that is closed when
 * the case ends; the keys and the directory are removed then too.
 */
async function inLocalWorld(
  body: (world: {
    dir: string;
    redis: Redis;
    keys: TaskKeys;
    config: ReturnType<typeof parseConfigText>;
    local: (options?: ConstructorParameters<typeof LocalExecutor>[0]) => LocalExecutor;
  }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-local-'));
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  const config = parseConfigText(
    `executors:\n  - name: local\n    type: local\n    spool_dir: ${path.join(dir, 'spool')}\n`,
    'test',
  );
  const executors: LocalExecutor[] = [];
  const local = (options?: ConstructorParameters<typeof LocalExecutor>[0]) => {
    const executor = new LocalExecutor(options);
    executors.push(executor);
    return executor;
  };
  try {
    await body({ dir, redis, keys, config, local });
  } finally {
    for (const executor of executors) executor.close();
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
