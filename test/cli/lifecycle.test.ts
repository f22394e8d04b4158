import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { countProcessGroup } from '../helpers/processes.js';

const TRAP_TREE = "trap 'echo term ignored' TERM; (sleep 300 &); sleep 300 & echo tree-up; while :; do sleep 0.1; done";

describe('lifecycle: kill, timeout, retries, wait, retry, cleanup', () => {
  let h: Harness;

  beforeAll(async () => {
    h = createHarness({ extraExecutors: '  - name: idle\n    type: local\n' });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function status(id: string): Promise<Record<string, unknown>> {
    return JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
  }
  async function enqueue(args: string[]): Promise<string> {
    const r = await h.cli(['run', ...args]);
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  }
  // Polled in this process: a CLI process per look costs ~0.4 s of CPU.
  async function waitForOutput(id: string, text: string): Promise<void> {
    await eventually(
      async () => ((await h.logText(id)).stdout.includes(text) ? true : undefined),
      `"${text}" in the log`,
    );
  }

  it('kill of a queued task removes it from its queue and ends it cancelled, keeping its record', async () => {
    const id = await enqueue(['-e', 'idle', '-c', 'echo never']);
    expect(await status(id)).toMatchObject({ status: 'queued', queue_position: 1 });
    const r = await h.cli(['kill', id]);
    expect(r).toMatchObject({ exitCode: 0, stdout: `Task ${id} cancelled (it had not started).\n` });
    expect(await status(id)).toMatchObject({
      status: 'cancelled',
      started_at: null,
      error: 'cancelled before it started',
    });
    // Every task has a BullMQ priority (the lowest when none is given): it waited in `prioritized`.
    const waiting = await h.redis().lrange(`${h.prefix}:idle:wait`, 0, -1);
    expect(waiting).not.toContain(id);
    expect(await h.redis().zscore(`${h.prefix}:idle:prioritized`, id)).toBeNull();
    expect(await h.redis().exists(`${h.prefix}:idle:${id}`)).toBe(0);
  });

  it('kill of a running tree that traps SIGTERM leaves nothing of it after the grace period', async () => {
    const id = await enqueue(['-e', 'local', '-c', TRAP_TREE]);
    await waitForOutput(id, 'tree-up');
    const pid = Number((await status(id)).pid);
    expect(countProcessGroup(pid)).toBeGreaterThanOrEqual(3);
    const r = await h.cli(['kill', id.slice(0, 8), '--grace', '1s']);
    expect(r).toMatchObject({ exitCode: 0, stdout: `Task ${id} killed.\n` });
    expect(countProcessGroup(pid)).toBe(0);
    expect(await status(id)).toMatchObject({ status: 'killed', signal: 'SIGKILL', error: 'killed on request' });
    expect((await h.cli(['logs', id])).stdout).toContain('term ignored');
    expect(await h.cli(['kill', id])).toMatchObject({ exitCode: 0, stdout: `Task ${id} already ended (killed).\n` });
  });

  it('a task over its --timeout is stopped and ends timed_out with the limit in the error', async () => {
    const id = await enqueue(['-e', 'local', '--timeout', '1s', '-c', 'echo started; sleep 30']);
    const r = await h.cli(['wait', id]);
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toMatch(/timed_out \(exit 143\)/);
    expect(await status(id)).toMatchObject({
      status: 'timed_out',
      exit_code: 143,
      signal: 'SIGTERM',
      error: "timed out after 1.0s (the task's limit)",
    });
  });

  it('--retries runs a failing command again with backoff, each attempt visible in status', async () => {
    const counter = path.join(h.dir, 'attempts');
    const id = await enqueue([
      '-e',
      'local',
      '--retries',
      '2',
      '--backoff',
      '100ms',
      '-c',
      `echo x >> ${counter}; n=$(wc -l < ${counter}); [ "$n" -ge 3 ]`,
    ]);
    const r = await h.cli(['wait', id]);
    expect(r.exitCode).toBe(0);
    const s = await status(id);
    expect(s).toMatchObject({ status: 'completed', attempt: 3, exit_code: 0 });
    expect((s.attempts as { outcome: string; exit_code: number }[]).map((a) => [a.outcome, a.exit_code])).toEqual([
      ['failed', 1],
      ['failed', 1],
      ['completed', 0],
    ]);
    expect((await h.cli(['logs', id])).stderr).toContain('attempt 3 of 3 starting');
  });

  it('kill during a retry backoff ends the task killed without another run', async () => {
    const counter = path.join(h.dir, 'backoff-runs');
    const id = await enqueue([
      '-e',
      'local',
      '--retries',
      '1',
      '--backoff',
      '30s',
      '-c',
      `echo x >> ${counter}; exit 3`,
    ]);
    await eventually(
      async () => (((await h.taskJson(id)).attempts as unknown[]).length === 1 ? true : undefined),
      'the first attempt to end',
    );
    expect(await status(id)).toMatchObject({ status: 'queued' });
    const r = await h.cli(['kill', id]);
    expect(r.stdout).toBe(`Task ${id} killed (it was waiting for a retry).\n`);
    expect(await status(id)).toMatchObject({ status: 'killed', error: 'killed while waiting for attempt 2' });
    expect(readFileSync(counter, 'utf8')).toBe('x\n');
  });

  it('never runs a failing command twice unless asked', async () => {
    const counter = path.join(h.dir, 'once');
    const id = await enqueue(['-e', 'local', '-c', `echo x >> ${counter}; exit 9`]);
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 9 });
    expect(readFileSync(counter, 'utf8')).toBe('x\n');
    expect(await status(id)).toMatchObject({ status: 'failed', attempt: 1, attempts: [] });
  });

  it("wait exits with the first failing task's code, one summary line per task, and 124 on --timeout", async () => {
    const ok = await enqueue(['-e', 'local', '--name', 'fine', '-c', 'true']);
    const bad = await enqueue(['-e', 'local', '--name', 'broken', '-c', 'sleep 0.2; exit 5']);
    const r = await h.cli(['wait', ok, bad]);
    expect(r.exitCode).toBe(5);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^⚙️  ${ok.slice(0, 8)} completed \\(exit 0\\) in .* fine$`));
    expect(lines[1]).toMatch(new RegExp(`^⚙️  ${bad.slice(0, 8)} failed \\(exit 5\\) in .* broken$`));
    const slow = await enqueue(['-e', 'local', '-c', 'sleep 30']);
    const timedOut = await h.cli(['wait', slow, '--timeout', '500ms']);
    expect(timedOut.exitCode).toBe(124);
    expect(timedOut.stderr).toMatch(/^openclaw-agent: not ended within the --timeout: [0-9a-f-]{36}\n$/);
    await h.cli(['kill', slow, '--grace', '0']);
  });

  it('retry enqueues the same request as a new task; cleanup removes an ended task entirely', async () => {
    const first = await enqueue(['-e', 'local', '--name', 'again', '--env', 'WORD=echoed', '-c', 'echo $WORD']);
    expect(await h.cli(['wait', first])).toMatchObject({ exitCode: 0 });
    const retried = await h.cli(['retry', first]);
    const second = retried.stdout.trim();
    expect(second).not.toBe(first);
    expect(await h.cli(['wait', second])).toMatchObject({ exitCode: 0 });
    expect((await h.cli(['logs', second])).stdout).toBe('echoed\n');
    expect(await status(second)).toMatchObject({ name: 'again', env_keys: ['WORD'] });

    const spool = path.join(h.home, 'tasks', first);
    expect(existsSync(spool)).toBe(true);
    const completion = path.join(h.home, '.openclaw-agent', 'completions', `${first}.json`);
    expect(existsSync(completion)).toBe(true);
    const indexed = async (word: string, id: string) =>
      (await h.redis().zscore(`${h.prefix}:_search:w:${word}`, id)) !== null;
    for (const word of ['again', 'echo', 'word']) expect(await indexed(word, first)).toBe(true);
    expect(await h.cli(['cleanup', first])).toMatchObject({ exitCode: 0, stdout: `Task ${first} cleaned up.\n` });
    expect(existsSync(spool)).toBe(false);
    expect(existsSync(completion)).toBe(false);
    expect((await h.cli(['status', first])).exitCode).toBe(3);
    expect(await h.redis().exists(`${h.prefix}:_log:${first}`)).toBe(0);
    // Nor is it left in the word index of search (its name and command's words); the retry is.
    for (const word of ['again', 'echo', 'word']) expect(await indexed(word, first)).toBe(false);
    expect(await indexed('again', second)).toBe(true);
  });

  it('refuses to clean up a running task', async () => {
    const id = await enqueue(['-e', 'local', '-c', 'echo up; sleep 30']);
    await waitForOutput(id, 'up');
    const r = await h.cli(['cleanup', id]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is running; kill it first/);
    await h.cli(['kill', id, '--grace', '0']);
  });

  it('bad lifecycle input: one line, non-zero exit, nothing enqueued', async () => {
    const before = await h.redis().zcard(`${h.prefix}:_index:created`);
    for (const [args, pattern] of [
      [
        ['run', '-e', 'local', '--timeout', 'soon', '-c', 'true'],
        /Expected `--timeout` to be a duration like 30s or 2h, got `soon`/,
      ],
      [
        ['run', '-e', 'local', '--backoff', 'x', '--retries', '1', '-c', 'true'],
        /Expected `--backoff` to be a duration/,
      ],
      [
        ['run', '-e', 'local', '--callback', 'ftp://example.com/x', '-c', 'true'],
        /callback URL must be an http\(s\) URL/,
      ],
      // fetch cannot send a URL's password (each attempt would fail), and it would be shown.
      [
        ['run', '-e', 'local', '--callback', 'https://ci:hunter2@hooks.example/build', '-c', 'true'],
        /^openclaw-agent: .*put no user or password in the callback URL[^\n]*\n$/,
      ],
      [['kill', 'abcdef12', '--grace', '-1'], /grace/],
      [['kill', 'abcdef12'], /no task matches id "abcdef12"/],
      [['wait', 'abcdef12'], /no task matches id "abcdef12"/],
    ] as const) {
      const r = await h.cli([...args]);
      expect(r.exitCode, args.join(' ')).toBeGreaterThan(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toContain('hunter2');
    }
    expect(await h.redis().zcard(`${h.prefix}:_index:created`)).toBe(before);
  });
});
