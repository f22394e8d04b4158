import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  DetachedError,
  LogWriter,
  TaskKeys,
  TaskRequestSchema,
  loadTaskRecord,
  markTaskLaunching,
  markTaskStarted,
  parseConfigText,
  readLog,
  requestStop,
  stopRequestOf,
  StopSwitch,
  type StopRequest,
  type Config,
  type ExecutionResult,
  type Executor,
  type ExecutorConfig,
  type ShellCommandPayload,
  type TaskPayload,
} from '../../src/index.js';
import { deleteKeys, FAKE_CLAUDE, FIXTURES } from '../helpers/harness.js';

/** What one executor brings to the shared suite. */
export interface ConformanceTarget {
  executor: Executor;
  executorConfig: ExecutorConfig;
  /** A directory that exists where the executor runs tasks, and that the test may write to. */
  workdir: string;
  /** What `~` means where the executor runs tasks. */
  home: string;
  /** Kills the whole process tree of a started task from outside (to make it vanish). */
  killFromOutside(handle: Record<string, string>): Promise<void>;
  /** How many processes of the task's process group are still alive. */
  processesLeft(handle: Record<string, string>): Promise<number>;
  /**
   * Whether anything of the task's run is left where it runs: a live process group (its pid
   * file in the recorded directory `handle.dir`), or a container of the task, started or not.
   */
  runLeft(taskId: string, handle: Record<string, string>): Promise<boolean>;
  /** Reads a file the task wrote, from where the executor runs tasks. */
  readFile(file: string): Promise<string>;
  cleanup(): Promise<void>;
}

export interface Run {
  result: ExecutionResult;
  stdout: string;
  stderr: string;
  system: string;
  entries: number;
}

/**
 * One suite of behaviours every executor must have, run against a real executor with real
 * processes and real Redis: local, SSH and container each call this with their own target.
 */
export function describeExecutorConformance(name: string, makeTarget: () => Promise<ConformanceTarget>): void {
  describe(`${name} executor conformance`, () => {
    let target: ConformanceTarget;
    let redis: Redis;
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;

    beforeAll(async () => {
      target = await makeTarget();
      redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      runner = executionRunner(redis, keys, target.executor, target.executorConfig, defaults);
    });

    afterAll(async () => {
      await target?.cleanup();
      await deleteKeys(redis, `${keys.prefix}:*`);
      redis.disconnect();
    });

    let runner: Runner;
    const execute: Runner['execute'] = (payload, options) => runner.execute(payload, options);
    const collect: Runner['collect'] = (taskId) => runner.collect(taskId);
    const run: Runner['run'] = (payload) => runner.run(payload);

    // The task's record as a worker reads it (its handle, its launch mark).
    const recordOf = (taskId: string) =>
      loadTaskRecord(
        redis,
        keys,
        taskId,
        TaskRequestSchema.parse({ executor: 'x', payload: sh('true'), createdAt: 0 }),
        'local',
      );
    const sh = (command: string, extra: Partial<ShellCommandPayload> = {}): ShellCommandPayload => ({
      type: 'shell_command',
      command,
      args: [],
      env: {},
      workingDir: target.workdir,
      ...extra,
    });

    it('keeps stdout and stderr apart and completes on exit 0', async () => {
      const r = await run(sh('echo out1; echo err1 >&2; echo out2'));
      expect(r.result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
      expect(r.stdout).toBe('out1\nout2\n');
      expect(r.stderr).toBe('err1\n');
    });

    it('reports exit code 3 as failed', async () => {
      const r = await run(sh('echo before; exit 3'));
      expect(r.result).toMatchObject({ outcome: 'failed', exitCode: 3 });
      expect(r.stdout).toBe('before\n');
    });

    it('reports a command that does not exist as exit 127', async () => {
      const r = await run({ ...sh('no-such-command-oca'), args: ['x'] });
      expect(r.result).toMatchObject({ outcome: 'failed', exitCode: 127 });
      expect(r.stderr).toContain('no-such-command-oca');
    });

    it('passes argv words byte-exact, with no shell in between', async () => {
      const words = [
        "it's",
        '$(id)',
        '`id`',
        'a\nb',
        'ünïcødé ✓',
        '*',
        '-n',
        '"quoted"',
        ' spaced ',
        '; rm -rf /',
        '\\',
        '$HOME',
      ];
      const r = await run({ ...sh('printf'), args: ['[%s]', ...words] });
      expect(r.result.exitCode).toBe(0);
      expect(r.stdout).toBe(words.map((w) => `[${w}]`).join(''));
    });

    it("runs a command string as sh -c would: no positional parameters, none of the wrapper's variables", async () => {
      const r = await run(sh('printf "[%s][%s][%s][%s]" "$#" "$1" "$oca_dir" "$oca_cmd"; exit 4'));
      expect(r.stdout).toBe('[0][][][]');
      expect(r.result.exitCode).toBe(4);
    });

    it('applies the task env and the executor env over the inherited one', async () => {
      const r = await run(
        sh('printf "%s|%s" "$OCA_TASK_VAR" "$OCA_EXECUTOR_VAR"', { env: { OCA_TASK_VAR: 'task value' } }),
      );
      expect(r.stdout).toBe('task value|from executor');
    });

    it('expands ~ in the working directory where the task runs', async () => {
      const r = await run(sh('pwd', { workingDir: '~' }));
      expect(r.stdout.trim()).toBe(target.home);
    });

    it('fails with a clear error and runs nothing when the working directory is missing', async () => {
      const marker = path.join(target.workdir, `ran-${randomUUID()}`);
      const r = await run(sh(`touch ${marker}`, { workingDir: '/nonexistent/oca-dir' }));
      expect(r.result).toMatchObject({ outcome: 'failed', exitCode: null });
      expect(r.result.error).toMatch(/working directory \/nonexistent\/oca-dir does not exist/);
      await expect(target.readFile(marker)).rejects.toThrow();
    });

    it('ships 10 MB of output intact', async () => {
      const r = await run(sh('seq 1 1300000'));
      const expected = Array.from({ length: 1_300_000 }, (_, i) => `${i + 1}\n`).join('');
      expect(r.stdout.length).toBe(expected.length);
      expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(
        createHash('sha256').update(expected).digest('hex'),
      );
    });

    it('keeps a multi-byte character whole when it is split across two writes', async () => {
      // € is E2 82 AC: the first two bytes, a pause long enough to be shipped apart, then the last.
      const r = await run(sh("printf 'a\\342\\202'; sleep 0.5; printf '\\254b\\n'"));
      expect(r.stdout).toBe('a€b\n');
      expect(r.stdout).not.toContain('\uFFFD');
    });

    it('runs a Claude Code payload with the prompt on stdin in the workspace, without CLAUDECODE', async () => {
      process.env.CLAUDECODE = '1';
      try {
        const r = await run({
          type: 'claude_code',
          prompt: 'Fix the build turns:2',
          workspace: target.workdir,
          maxTurns: 5,
        });
        expect(r.result).toMatchObject({ outcome: 'completed', exitCode: 0 });
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines[0]).toMatchObject({ type: 'system', subtype: 'init', cwd: target.workdir });
        expect(lines.at(-1)).toMatchObject({
          type: 'result',
          subtype: 'success',
          num_turns: 3,
          result: 'done: Fix the build turns:2',
        });
      } finally {
        delete process.env.CLAUDECODE;
      }
    });

    it('fails a Claude Code task that runs out of turns', async () => {
      const r = await run({ type: 'claude_code', prompt: 'turns:4', workspace: target.workdir, maxTurns: 2 });
      expect(r.result).toMatchObject({ outcome: 'failed', exitCode: 1 });
      expect(r.stdout).toContain('"subtype":"error_max_turns"');
    });

    it('re-attaches after a detach: resumes output with no gap or duplicate and never runs the command twice', async () => {
      const taskId = randomUUID();
      const marker = path.join(target.workdir, `marker-${taskId}`);
      const gate = path.join(target.workdir, `gate-${taskId}`);
      // A line every 50 ms until the gate opens: the task outlives the detach however slowly its
      // output is shipped, and says at the end how many lines it printed.
      const payload = sh(`${path.join(FIXTURES, 'lines-until.sh')} 0.05 2000 ${gate} ${marker} 7`);
      const first = new AbortController();
      const running = execute(payload, { taskId, signal: first.signal });
      await waitFor(async () => (await collect(taskId)).stdout.includes('line3\n'));
      first.abort();
      await expect(running).rejects.toBeInstanceOf(DetachedError);

      writeFileSync(gate, '');
      const result = await execute(payload, { taskId });
      expect(result).toEqual({ outcome: 'failed', exitCode: 7, signal: null, endedAt: expect.any(Number) });
      const { stdout } = await collect(taskId);
      const printed = Number(/lines (\d+)\n$/.exec(stdout)?.[1]);
      expect(printed).toBeGreaterThanOrEqual(3);
      expect(stdout).toBe(`${Array.from({ length: printed }, (_, i) => `line${i + 1}\n`).join('')}lines ${printed}\n`);
      expect(await target.readFile(marker)).toBe('run\n');
    });

    it('says when a run ended: the moment it saw the end while following, else when the process ended, not when a worker came back', async () => {
      const followed = Date.now();
      const r = await run(sh('echo hi'));
      expect(r.result.endedAt).toBeGreaterThanOrEqual(followed);
      expect(r.result.endedAt).toBeLessThanOrEqual(Date.now());

      const taskId = randomUUID();
      const gate = path.join(target.workdir, `gate-${taskId}`);
      const payload = sh(`${path.join(FIXTURES, 'lines-until.sh')} 0.05 2000 ${gate} /dev/null 4`);
      const first = new AbortController();
      const running = execute(payload, { taskId, signal: first.signal });
      await waitFor(async () => (await collect(taskId)).stdout.includes('line3\n'));
      const seenRunning = Date.now();
      first.abort();
      await expect(running).rejects.toBeInstanceOf(DetachedError);
      const record = await recordOf(taskId);
      // It ends while nobody follows it; the next worker comes well after.
      writeFileSync(gate, '');
      await waitFor(async () => (await target.processesLeft(record.handle)) === 0);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const back = Date.now();
      const result = await execute(payload, { taskId });
      expect(result).toMatchObject({ outcome: 'failed', exitCode: 4 });
      expect(result.endedAt).toBeGreaterThan(seenRunning);
      expect(result.endedAt).toBeLessThan(back - 1000);
    });

    it('stops a tree that traps SIGTERM, grandchildren included: TERM, grace, then KILL, nothing left', async () => {
      const taskId = randomUUID();
      const stop = new StopSwitch();
      const tree =
        "trap 'echo term ignored' TERM; (sleep 300 &); sleep 300 & echo tree-up; while :; do sleep 0.1; done";
      const running = execute(sh(tree), { taskId, stop });
      await waitFor(async () => (await collect(taskId)).stdout.includes('tree-up'));
      const record = await recordOf(taskId);
      expect(await target.processesLeft(record.handle)).toBeGreaterThanOrEqual(3);
      stop.trip({ kind: 'killed', graceMs: 300, reason: 'test' });
      const result = await running;
      expect(result.stopped).toBe(true);
      expect(result.outcome).toBe('failed');
      expect(await target.processesLeft(record.handle)).toBe(0);
      expect((await collect(taskId)).stdout).toContain('term ignored');
    });

    it('kills group members that ignore TERM after the grace period, even when the command itself already ended', async () => {
      const taskId = randomUUID();
      const stop = new StopSwitch();
      // The command dies on TERM (its exit code is recorded); a member ignoring TERM stays.
      const running = execute(sh('sh -c "trap \'\' TERM; exec sleep 300" & echo up; wait'), { taskId, stop });
      await waitFor(async () => (await collect(taskId)).stdout.includes('up'));
      const record = await recordOf(taskId);
      expect(await target.processesLeft(record.handle)).toBeGreaterThanOrEqual(2);
      stop.trip({ kind: 'killed', graceMs: 500, reason: 'test' });
      const result = await running;
      expect(result.stopped).toBe(true);
      expect(await target.processesLeft(record.handle)).toBe(0);
    });

    it('launches nothing when a kill was requested before the launch', async () => {
      const taskId = randomUUID();
      const marker = path.join(target.workdir, `ran-${taskId}`);
      await requestStop(redis, keys, taskId, { kind: 'killed', graceMs: 300, reason: 'killed on request' });
      const result = await execute(sh(`touch ${marker}; sleep 300`), { taskId });
      expect(result).toEqual({ outcome: 'failed', exitCode: null, signal: null, stopped: true });
      const record = await redis.hgetall(keys.record(taskId));
      expect(record.launching_at).toBeUndefined();
      expect(Object.keys(record).filter((field) => field.startsWith('h:'))).toEqual([]);
      expect(await target.runLeft(taskId, {})).toBe(false);
      await expect(target.readFile(marker)).rejects.toThrow();
    });

    it('stops what a worker launched before it died without recording the start, when a kill waits', async () => {
      const taskId = randomUUID();
      const payload = sh('echo up; sleep 300');
      // The first "worker" launches the run and dies before recording its start.
      await expect(execute(payload, { taskId, failStartMark: true })).rejects.toThrow(/died before recording/);
      const launching = await recordOf(taskId);
      expect(launching.launchingAt).toEqual(expect.any(Number));
      expect(launching.attemptStartedAt).toBeUndefined();
      // Launched: a process (or a created container) is there for the next worker to find.
      await waitFor(() => target.runLeft(taskId, launching.handle));
      await requestStop(redis, keys, taskId, { kind: 'killed', graceMs: 300, reason: 'killed on request' });

      // The next one finds what was launched through the launching mark, and stops it.
      const result = await execute(payload, { taskId });
      expect(result.stopped).toBe(true);
      expect(await target.runLeft(taskId, launching.handle)).toBe(false);
    });

    it('ends as lost when the process vanished without an exit code', async () => {
      const taskId = randomUUID();
      const first = new AbortController();
      const running = execute(sh('echo started; sleep 60'), { taskId, signal: first.signal });
      await waitFor(async () => (await collect(taskId)).stdout.includes('started'));
      first.abort();
      await expect(running).rejects.toBeInstanceOf(DetachedError);
      const record = await recordOf(taskId);
      await target.killFromOutside(record.handle);

      const result = await execute(sh('echo started; sleep 60'), { taskId });
      expect(result.outcome).toBe('lost');
      expect(result.error).toMatch(/vanished/);
    });
  });
}

export interface Runner {
  execute(
    payload: TaskPayload,
    options?: {
      taskId?: string;
      attempt?: number;
      signal?: AbortSignal;
      stop?: StopSwitch;
      /** `markStarted` rejects, as for a worker that died after the launch and before recording it. */
      failStartMark?: boolean;
    },
  ): Promise<ExecutionResult>;
  /** The task's shipped output, by stream. */
  collect(taskId: string): Promise<Omit<Run, 'result'>>;
  run(payload: TaskPayload): Promise<Run>;
}

/** Runs payloads on an executor the way a worker does (record, log writer, start marks), for tests. */
export function executionRunner(
  redis: Redis,
  keys: TaskKeys,
  executor: Executor,
  executorConfig: ExecutorConfig,
  defaults: Config['defaults'],
): Runner {
  const execute: Runner['execute'] = async (payload, options = {}) => {
    const taskId = options.taskId ?? randomUUID();
    const request = TaskRequestSchema.parse({ executor: executorConfig.name, payload, createdAt: Date.now() });
    const record = await loadTaskRecord(redis, keys, taskId, request, executor.type);
    // As the processor: a stop request on the record, or read by a mark, trips the switch.
    const stop = options.stop ?? new StopSwitch();
    const early = stopRequestOf(record);
    if (early) stop.trip(early);
    const trip = (found: { request?: StopRequest }) => found.request && stop.trip(found.request);
    return executor.execute({
      taskId,
      attempt: options.attempt ?? 1,
      request,
      executor: executorConfig,
      defaults: { ...defaults, claude_path: FAKE_CLAUDE },
      record,
      log: new LogWriter(redis, keys, taskId, { maxEntries: 100_000, maxBytes: 1 << 30 }, record.checkpoint),
      markLaunching: async (handle) => {
        trip(await markTaskLaunching(redis, keys, taskId, handle));
      },
      markStarted: async (handle, pid) => {
        if (options.failStartMark) throw new Error('the worker died before recording the start');
        trip(await markTaskStarted(redis, keys, taskId, handle, pid));
      },
      signal: options.signal ?? new AbortController().signal,
      stop,
    });
  };
  const collect: Runner['collect'] = (taskId) => collectOutput(redis, keys, taskId);
  return {
    execute,
    collect,
    async run(payload) {
      const taskId = randomUUID();
      const result = await execute(payload, { taskId });
      return { result, ...(await collect(taskId)) };
    },
  };
}

/** A task's shipped output by stream, and how many output entries it took. */
export async function collectOutput(redis: Redis, keys: TaskKeys, taskId: string): Promise<Omit<Run, 'result'>> {
  const out = { stdout: '', stderr: '', system: '', entries: 0 };
  for (const entry of await readLog(redis, keys, taskId)) {
    if (entry.kind !== 'output') continue;
    out[entry.stream] += entry.text;
    out.entries++;
  }
  return out;
}

export async function waitFor(check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function readLocalFile(file: string): Promise<string> {
  return Promise.resolve().then(() => readFileSync(file, 'utf8'));
}
