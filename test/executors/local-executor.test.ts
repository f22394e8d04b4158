import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LocalExecutor, parseConfigText, TaskKeys } from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';
import { describeExecutorConformance, executionRunner, readLocalFile } from './executor-conformance.js';
import { countProcessGroup } from '../helpers/processes.js';

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
    readFile: readLocalFile,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('local executor spool root', () => {
  it('makes the spool root again when it was removed while the worker ran', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-local-'));
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    const config = parseConfigText(`executors:\n  - name: local\n    type: local\n    spool_dir: ${path.join(dir, 'spool')}\n`, 'test');
    const executor = new LocalExecutor();
    const runner = executionRunner(redis, keys, executor, config.executors[0]!, config.defaults);
    try {
      expect((await runner.run({ type: 'shell_command', command: 'echo one', args: [], env: {}, workingDir: dir })).stdout).toBe('one\n');
      rmSync(path.join(dir, 'spool'), { recursive: true, force: true });
      expect((await runner.run({ type: 'shell_command', command: 'echo two', args: [], env: {}, workingDir: dir })).stdout).toBe('two\n');
    } finally {
      executor.close();
      await deleteKeys(redis, `${keys.prefix}:*`);
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
