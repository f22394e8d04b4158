// A `sh -c` task's `$$` and `$PPID` through the local and SSH executors: the task's own shell, a
// child of the recorded wrapper, as under a plain `sh -c` (see the wrapper's `oca_run`).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalExecutor,
  parseConfigText,
  SshExecutor,
  TaskKeys,
  type Executor,
  type ExecutorConfig,
  type ShellCommandPayload,
} from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { executionRunner, type Runner } from './executor-conformance.js';

interface Target {
  executor: Executor;
  config: ExecutorConfig;
  close(): Promise<void>;
}

// Where the tasks run: a local executor, or an SSH executor on a private sshd.
const targets: Record<string, (dir: string) => Promise<Target>> = {
  async local(dir) {
    const yaml = `executors:\n  - name: local\n    type: local\n    spool_dir: ${path.join(dir, 'spool')}\n`;
    const executor = new LocalExecutor();
    return {
      executor,
      config: parseConfigText(yaml, 'test').executors[0]!,
      close: async () => executor.close(),
    };
  },
  async ssh(dir) {
    const server: SshdServer = await startSshd();
    const yaml = `executors:\n${sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote-spool') })}`;
    const config = parseConfigText(yaml, 'test').executors[0]!;
    const executor = new SshExecutor(config);
    return {
      executor,
      config,
      async close() {
        executor.close();
        await server.stop();
      },
    };
  },
};

describe.each(Object.keys(targets))('a sh -c task on the %s executor', (name) => {
  let dir: string;
  let redis: Redis;
  let target: Target | undefined;
  let runner: Runner;
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  const payload = (command: string, args: string[] = []): ShellCommandPayload => ({
    type: 'shell_command',
    command,
    args,
    env: {},
    workingDir: dir,
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'oca-shell-pid-'));
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    target = await targets[name]!(dir);
    runner = executionRunner(
      redis,
      keys,
      target.executor,
      target.config,
      parseConfigText('executors: []', 'test').defaults,
    );
  });

  afterAll(async () => {
    await target?.close();
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees its own shell as $$ and the recorded wrapper as $PPID', async () => {
    const taskId = randomUUID();
    // A child's $PPID is the shell that started it (`; :` keeps that shell from exec'ing it).
    const result = await runner.execute(payload("echo $$ $PPID; sh -c 'echo $PPID'; :"), { taskId });
    expect(result).toMatchObject({ outcome: 'completed', exitCode: 0, signal: null });
    const wrapper = Number(await redis.hget(keys.record(taskId), 'pid'));
    const [own, parent, childsParent] = (await runner.collect(taskId)).stdout.split(/\s+/).map(Number);
    expect(parent).toBe(wrapper);
    expect(own).not.toBe(wrapper);
    expect(childsParent).toBe(own);
  });

  it('ends failed with exit code 143 on `kill $$`, as the same command run by /bin/sh as argv does', async () => {
    const command = 'echo before; kill $$; echo after';
    for (const run of [payload(command), payload('/bin/sh', ['-c', command])]) {
      const { result, stdout } = await runner.run(run);
      expect(result).toMatchObject({ outcome: 'failed', exitCode: 143, signal: null });
      expect(result.error).toBeUndefined();
      expect(stdout).toBe('before\n');
    }
  });

  it('ends failed with exit code 137 on `kill -9 $$`, not lost', async () => {
    const { result, stdout, system } = await runner.run(payload('echo before; kill -9 $$; echo after'));
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 137, signal: null });
    expect(result.error).toBeUndefined();
    expect(stdout).toBe('before\n');
    expect(system).toBe('');
  });
});
