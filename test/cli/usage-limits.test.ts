import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toTaskJson } from '../../src/index.js';
import { createHarness, eventually, FAKE_CLAUDE, type Harness } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startTimeTexts } from '../helpers/time-text.js';

// Claude's usage limit met by the fake `claude` (test/fixtures/fake-claude.mjs prints what the
// real CLI prints for a subscriber at the limit: a rejected rate_limit_event with resetsAt, "You've
// hit your 5-hour limit · resets …", api_error usage_limit_reached, exit 1). The task waits for the
// reset and resumes the same session; the executor's other Claude tasks wait with it.
describe('Claude usage limits', () => {
  let h: Harness;
  const receiver = new WebhookReceiver();

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => {
    // `capped`: an account whose every run meets the limit, resumed ones too.
    h = createHarness({
      extraExecutors: `  - name: capped
    type: local
    claude_path: ${FAKE_CLAUDE}
    env: { FAKE_CLAUDE_LIMIT: "1" }
`,
    });
  });
  afterEach(() => h.cleanup());

  type TaskJson = Record<string, unknown> & {
    status: string;
    limit: { waits: number; until: string | null } | null;
    claude: Record<string, unknown> | null;
    attempts: { attempt: number; outcome: string; error: string | null }[];
    error: string | null;
  };
  const json = async (id: string) => JSON.parse((await h.cli(['status', id, '--json'])).stdout) as TaskJson;
  const started = async (args: string[]) => {
    const r = await h.cli(args);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  };

  it('waits for the reset, resumes the same session, holds the other Claude tasks but not commands, and calls back once', async () => {
    await h.startWorker('local');
    const client = await h.client();
    const a = await started([
      'start',
      '-e',
      'local',
      '-w',
      h.dir,
      '--callback',
      `${receiver.url}/a`,
      '-p',
      'Fix the build limit:15',
    ]);
    const waiting = await eventually(async () => {
      const s = await json(a);
      // Queued again once the worker has put it back (for a moment it is still its running task).
      return s.limit?.until && s.status === 'queued' ? s : undefined;
    }, 'the task waits for the usage limit');
    // Another Claude task of the executor waits too; a command runs at once. Both go in at once
    // (in-process, no CLI start between): the hold lasts ~15 s from the limit, fewer than the CLI
    // calls below may take on a busy machine, and after it `b` would run straight through.
    const b = (
      await client.enqueue({
        executor: 'local',
        payload: { type: 'claude_code', prompt: 'Write the docs', workspace: h.dir },
      })
    ).id;
    const shell = (
      await client.enqueue({
        executor: 'local',
        payload: { type: 'shell_command', command: 'echo', args: ['not held'], env: {}, workingDir: h.dir },
      })
    ).id;
    const held = await eventually(async () => {
      const s = toTaskJson(await client.get(b)) as TaskJson;
      // Queued again once the worker has put it back (for a moment it is still its running task).
      return s.limit?.until && s.status === 'queued' ? s : undefined;
    }, 'the second Claude task is held');
    expect(held).toMatchObject({ status: 'queued', attempts: [], claude: null });
    expect(held.limit?.waits).toBe(0);

    expect(waiting.status).toBe('queued');
    expect(waiting.limit?.waits).toBe(1);
    const firstSession = waiting.claude?.session_id as string;
    expect(firstSession).toEqual(expect.any(String));
    const until = Date.parse(waiting.limit!.until!);
    // The fake's limit resets 15 s after it was met; the wait ends 0.5–5 s after that.
    expect(until).toBeGreaterThan(Date.now());
    expect(until).toBeLessThan(Date.now() + 21_000);
    // Its time, or its date and time when it falls on the next UTC day (a run just before midnight).
    const asked = Date.now();
    const shownStatus = (await h.cli(['status', a])).stdout;
    const shownList = (await h.cli(['list'])).stdout;
    const resets = startTimeTexts(waiting.limit!.until!, [asked, Date.now()]);
    expect(
      resets.some((r) => shownStatus.includes(`queued — waiting for usage limit (resets ${r}), wait 1 of 3`)),
      shownStatus,
    ).toBe(true);
    expect(
      resets.some((r) => shownList.includes(`waiting for usage limit (resets ${r})`)),
      shownList,
    ).toBe(true);
    // The REST API carries the same field.
    expect(waiting.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'failed',
        error: expect.stringContaining("You've hit your 5-hour limit"),
      }),
    ]);

    expect(await h.cli(['wait', shell])).toMatchObject({ exitCode: 0 });
    // Read before the wait ends (a read finished by then), the first task is still queued.
    const meanwhile = await json(a);
    if (Date.now() < until) expect(meanwhile.status).toBe('queued');

    expect(await h.cli(['wait', a])).toMatchObject({ exitCode: 0 });
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    const done = await json(a);
    expect(done).toMatchObject({ status: 'completed', exit_code: 0, limit: { waits: 1, until: null } });
    expect(done.claude).toMatchObject({ session_id: firstSession, is_error: false });
    expect(done.attempts.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    // Our notes go to stderr, the transcript to stdout.
    const log = (await h.cli(['logs', a])).stderr;
    expect(log).toContain("Claude's usage limit is reached (resets");
    expect(log).toContain('waiting, then resuming the session — wait 1 of 3');
    expect(log).toContain("resuming Claude's session after the usage limit (wait 1 of 3)");
    expect((await h.cli(['logs', a, '--raw'])).stdout).toContain(`resuming ${firstSession}`);

    expect(await h.cli(['wait', b])).toMatchObject({ exitCode: 0 });
    const second = await json(b);
    expect(second).toMatchObject({ status: 'completed', limit: null, attempts: [] });
    expect((await h.cli(['logs', b])).stderr).toContain(
      `[openclaw-agent] Claude's usage limit on executor "local" is reached`,
    );

    // The webhook fired once, at the real end.
    await eventually(async () => (receiver.to('/a').length > 0 ? true : undefined), 'the webhook');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.to('/a')).toHaveLength(1);
    expect(JSON.parse(receiver.to('/a')[0]!.body)).toMatchObject({ task_id: a, status: 'completed' });
  });

  it('kills a task waiting for the usage limit, and cancels one held by it, never running them again', async () => {
    await h.startWorker('local');
    const a = await started(['start', '-e', 'local', '-w', h.dir, '-p', 'Fix it limit:60']);
    await eventually(async () => ((await json(a)).limit?.until ? true : undefined), 'the wait');
    const b = await started(['start', '-e', 'local', '-w', h.dir, '-p', 'Docs']);
    // Held once its job is back in the queue: for a moment after limit.until it is still running.
    await eventually(async () => {
      const held = await json(b);
      return held.limit?.until && held.status === 'queued' ? true : undefined;
    }, 'the hold');
    expect((await h.cli(['kill', a])).exitCode).toBe(0);
    expect((await h.cli(['kill', b])).exitCode).toBe(0);
    expect(await json(a)).toMatchObject({ status: 'killed', error: 'killed while waiting for the usage limit' });
    expect(await json(b)).toMatchObject({ status: 'cancelled', error: 'cancelled before it started' });
    expect((await h.cli(['list'])).stdout).not.toContain('waiting for usage limit');
  });

  it('knows the reset time after a worker died while the run met the limit', async () => {
    const first = await h.startWorker('local');
    const id = await started(['start', '-e', 'local', '-w', h.dir, '-p', 'Fix it limit:20 slow:2500']);
    // The rate_limit_event is in the log; the run ends 2.5 s later, while no worker watches.
    await eventually(
      async () => ((await h.logText(id)).stdout.includes('"rate_limit_event"') ? true : undefined),
      'the limit to be met',
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await h.startWorker('local');
    const waiting = await eventually(async () => {
      const s = await json(id);
      // Queued again once the worker has put it back (for a moment it is still its running task).
      return s.limit?.until && s.status === 'queued' ? s : undefined;
    }, 'the wait, after the re-attach');
    // The reset 20 s after the limit was met (plus jitter), not the 10 minutes of an unknown reset.
    expect(Date.parse(waiting.limit!.until!)).toBeLessThan(Date.now() + 30_000);
    expect(waiting).toMatchObject({ status: 'queued', limit: { waits: 1 } });
    expect(await h.redis().pttl(`${h.prefix}:_limit:local`)).toBeGreaterThan(0);
  });

  it('--on-limit fail fails at the limit, as before', async () => {
    await h.startWorker('local');
    const id = await started(['start', '-e', 'local', '-w', h.dir, '--on-limit', 'fail', '-p', 'Fix it limit:60']);
    expect((await h.cli(['wait', id])).exitCode).not.toBe(0);
    const s = await json(id);
    expect(s).toMatchObject({ status: 'failed', limit: null });
    expect(s.error).toContain("You've hit your 5-hour limit");
  });

  it('fails after --limit-waits waits when the limit holds, saying how often it waited', async () => {
    await h.startWorker('capped');
    const id = await started(['start', '-e', 'capped', '-w', h.dir, '--limit-waits', '1', '-p', 'Fix it']);
    expect((await h.cli(['wait', id])).exitCode).not.toBe(0);
    const s = await json(id);
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/You've hit your 5-hour limit .*\(after waiting for the usage limit once\)$/);
    expect(s.limit).toMatchObject({ waits: 1, until: null });
    expect(s.attempts.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
  });

  it('refuses bad limit flags in one line, with nothing enqueued', async () => {
    const redis = h.redis();
    for (const args of [
      [/--limit-waits/, 'start', '-e', 'local', '-w', h.dir, '--limit-waits', '21', '-p', 'x'],
      [/--on-limit/, 'start', '-e', 'local', '-w', h.dir, '--on-limit', 'retry', '-p', 'x'],
      [/--on-limit/, 'run', '-e', 'local', '-w', h.dir, '--on-limit', 'wait', '--', 'true'],
    ] as const) {
      const [says, ...rest] = args;
      const r = await h.cli([...rest]);
      expect(r.stderr, args.join(' ')).toMatch(says);
      expect(r.exitCode, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect(await redis.keys(`${h.prefix}:*`)).toEqual([]);
    // The TypeScript client says the same for a command with limit options.
    const client = await h.client();
    await expect(
      client.enqueue({
        executor: 'local',
        payload: { type: 'shell_command', command: 'true', args: [], env: {}, workingDir: h.dir },
        onLimit: 'wait',
      }),
    ).rejects.toThrow(/usage-limit waits .* are for Claude tasks/);
  });
});
