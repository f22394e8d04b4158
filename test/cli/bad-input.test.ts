import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers/git-repo.js';
import { createHarness, type CliResult, type Harness } from '../helpers/harness.js';

describe('bad input: one clear line, a non-zero exit, nothing enqueued', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  function expectOneLine(r: CliResult, exitCode: number, pattern: RegExp): void {
    expect(r.exitCode).toBe(exitCode);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  async function expectNothingEnqueued(): Promise<void> {
    const keys = await h.redis().keys(`${h.prefix}:*`);
    expect(keys).toEqual([]);
  }

  it('unknown executor → exit 3', async () => {
    expectOneLine(await h.cli(['run', '-e', 'nope', '-c', 'true']), 3, /unknown executor "nope" — configured: local/);
    await expectNothingEnqueued();
  });

  it('a label no executor has → exit 3', async () => {
    expectOneLine(await h.cli(['run', '--label', 'gpu', '-c', 'true']), 3, /no executor has all of the labels gpu/);
    await expectNothingEnqueued();
  });

  it('malformed YAML → exit 2 naming the file and line', async () => {
    const bad = path.join(h.dir, 'bad.yaml');
    writeFileSync(bad, 'executors:\n  - name: a\n    type: local\n  - name: [oops\n');
    expectOneLine(
      await h.cli(['run', '-e', 'a', '-c', 'true'], { env: { OPENCLAW_AGENT_CONFIG: bad } }),
      2,
      new RegExp(`config error in ${bad} line \\d+:`),
    );
    const badType = path.join(h.dir, 'bad-type.yaml');
    writeFileSync(badType, 'executors:\n  - name: a\n    type: lcoal\n');
    expectOneLine(
      await h.cli(['--config', badType, 'list']),
      2,
      /line 3: Expected `executors\[0\]\.type` to be one of "local", "ssh", "container", got `lcoal`/,
    );
    await expectNothingEnqueued();
  });

  it('missing --cmd → exit 2', async () => {
    expectOneLine(await h.cli(['run', '-e', 'local']), 2, /missing command: give --cmd/);
    expectOneLine(await h.cli(['start', '-e', 'local']), 2, /missing prompt/);
    await expectNothingEnqueued();
  });

  it('schedule add without a NAME → exit 2, the `run` or `start` after -- never taken for one', async () => {
    const missing = /^openclaw-agent: missing schedule name: `openclaw-agent schedule add NAME --cron/;
    for (const args of [
      ['--cron', '*/30 * * * * *', '--', 'run', '-e', 'local', '--', 'echo', 'hi'],
      ['--cron', '0 3 * * *', '--', 'start', '-e', 'local', '-p', 'Review'],
      ['--', 'run', '-e', 'local', '-c', 'true'],
    ]) {
      expectOneLine(await h.cli(['schedule', 'add', ...args]), 2, missing);
    }
    await expectNothingEnqueued();
  });

  it('--env with a bad name, or a NAME not set here → exit 2', async () => {
    expectOneLine(
      await h.cli(['run', '-e', 'local', '--env', 'OCA_TEST_UNSET', '-c', 'true'], {
        env: { OCA_TEST_UNSET: undefined },
      }),
      2,
      /`--env OCA_TEST_UNSET` takes OCA_TEST_UNSET's value from your environment, where it is not set — set it, or give --env OCA_TEST_UNSET=VALUE/,
    );
    const secret = await h.cli(['run', '-e', 'local', '--env', 'API_KEY:hunter2', '-c', 'true']);
    expectOneLine(secret, 2, /Expected `--env` to be KEY=VALUE/);
    expect(secret.stderr).not.toContain('hunter2');
    await expectNothingEnqueued();
  });

  it("an env name the task's shell cannot set, in a flag or in the config → exit 2", async () => {
    const reserved = await h.cli(['run', '-e', 'local', '--env', 'oca_dir=hunter2', '-c', 'true']);
    expectOneLine(reserved, 2, /environment variable name "oca_dir" is reserved \(oca_\*\)/);
    expect(reserved.stderr).not.toContain('hunter2');
    const config = path.join(h.dir, 'bad-env.yaml');
    writeFileSync(config, 'executors:\n  - name: a\n    type: local\n    env:\n      A-B: hunter2\n');
    expectOneLine(
      await h.cli(['--config', config, 'run', '-e', 'a', '-c', 'true']),
      2,
      /line 5: `executors\[0\]\.env`: environment variable name "A-B" cannot be set by the task's shell/,
    );
    await expectNothingEnqueued();
  });

  it('an unknown flag or a bad number → exit 2', async () => {
    expectOneLine(await h.cli(['run', '--bogus', '-c', 'true']), 2, /Nonexistent flag: --bogus/);
    expectOneLine(await h.cli(['start', '-p', 'x', '--max-turns', 'many']), 2, /max-turns/);
    expectOneLine(
      await h.cli(['list', '--status', 'sleeping']),
      2,
      /Expected --status to be one of blocked, scheduled, queued, running/,
    );
    await expectNothingEnqueued();
  });

  it('an executor the config does not have is refused by every command that filters by one, exit 3', async () => {
    const unknown = /^openclaw-agent: unknown executor "nope" — configured: local$/;
    for (const args of [
      ['list', '--executor', 'nope'],
      ['list', '--executor', 'nope', '--json'],
      ['kill', '--executor', 'nope'],
      ['wait', '--executor', 'nope'],
      ['pause', '--executor', 'nope'],
      ['resume', '--executor', 'nope'],
    ]) {
      expectOneLine(await h.cli(args), 3, unknown);
    }
    await expectNothingEnqueued();
  });

  it(
    'a flag given an empty value is refused naming the flag, never taken as left out',
    { timeout: 120_000 },
    async () => {
      for (const [args, message] of [
        [['run', '-e', '', '-c', 'true'], /^openclaw-agent: --executor is empty: give an executor name/],
        [['run', '--executor=', '-c', 'true'], /--executor is empty/],
        [['run', '--workdir', '', '-c', 'true'], /^openclaw-agent: --workdir is empty: give a directory$/],
        [['run', '-w', '', '-c', 'true'], /--workspace is empty: give a directory/],
        [['run', '--timeout', '', '-c', 'true'], /--timeout is empty: give a duration like 30s or 2h/],
        [['run', '--name', '', '-c', 'true'], /--name is empty: give a name/],
        [['run', '--label', 'quick', '--label', '', '-c', 'true'], /--label is empty/],
        [['run', '--notify', '', '-c', 'true'], /--notify is empty/],
        [['run', '--callback', '', '-c', 'true'], /--callback is empty/],
        [['run', '--', '', 'x'], /the first word after -- is empty/],
        [['start', '-p', 'x', '--model', ''], /--model is empty/],
        [['start', '-p', 'x', '--workspace', ''], /--workspace is empty: give a directory/],
        [['list', '--executor', ''], /--executor is empty/],
        [['list', '--label', ''], /--label is empty/],
        [['kill', '--executor', ''], /--executor is empty/],
        [['wait', 'abcdef12', '--timeout', ''], /--timeout is empty/],
        [['logs', '-t', ''], /--task-id is empty/],
        [['pause', '-e', ''], /--executor is empty/],
        [['skill', '--dir', ''], /--dir is empty: give a directory/],
        [['schedule', 'add', 'x', '--cron', '0 3 * * *', '--', 'run', '-e', '', '--', 'true'], /--executor is empty/],
      ] as [string[], RegExp][]) {
        expectOneLine(await h.cli(args), 2, message);
      }
      // `skill --dir ""` would have written the skill into the current directory.
      expect(existsSync(path.join(h.dir, 'openclaw-agent'))).toBe(false);
      await expectNothingEnqueued();
    },
  );

  it('flags that cannot both apply are refused in one line, exit 2', async () => {
    for (const [args, message] of [
      [['list', '--json', '--jsonl'], /give --json \(one array\) or --jsonl \(a line per task\), not both/],
      [['status', 'abcdef12', '-t', 'abcdef12'], /give the task id as the argument or with --task-id, not both/],
      [['logs', 'abcdef12', '--task-id', 'fedcba98'], /not both/],
      [['pause', '-e', 'local', '--timeout', '1m'], /--timeout limits --wait: give --wait too/],
      [['run', '--backoff', '1m', '-c', 'true'], /--backoff is the delay before a retry: give --retries N too/],
      [
        ['start', '-p', 'x', '--on-limit', 'fail', '--limit-waits', '2'],
        /^openclaw-agent: `--limit-waits` counts waits for a usage limit, and `--on-limit` fail never waits: drop one$/,
      ],
      [['run', '--cmd', 'true', '--', 'other', 'argv'], /either as --cmd "STRING" or as words after --, not both/],
      [['run', '--follow', '--json', '-c', 'true'], /give --follow \(stream the output\) or --json .*, not both/],
    ] as [string[], RegExp][]) {
      expectOneLine(await h.cli(args), 2, message);
    }
    await expectNothingEnqueued();
  });

  it('a request field is named in errors as the flag that set it, never by its internal name', async () => {
    for (const [args, message] of [
      [['run', '--callback', 'ftp://example.com/x', '-c', 'true'], /^openclaw-agent: `--callback`: the callback URL/],
      [['run', '--timeout', '99999999999h', '-c', 'true'], /^openclaw-agent: `--timeout`: Too big/],
      [['run', '--concurrency-key', 'a b', '-c', 'true'], /^openclaw-agent: `--concurrency-key`: concurrency keys use/],
      [['run', '--name', 'n'.repeat(201), '-c', 'true'], /^openclaw-agent: `--name`: Too big/],
      [['start', '-p', 'x', '--base', 'b'.repeat(201)], /^openclaw-agent: `--base`: Too big/],
    ] as [string[], RegExp][]) {
      const r = await h.cli(args);
      expectOneLine(r, 2, message);
      expect(r.stderr).not.toMatch(/callbackUrl|timeoutMs|concurrencyKey|worktree\.base|`name`/);
    }
    await expectNothingEnqueued();
  });

  it('ambiguous id prefix → exit 2 listing the matches; unknown id → exit 3', async () => {
    const client = await h.client();
    const ids = ['abcdef12-0000-4000-8000-000000000001', 'abcdef12-0000-4000-8000-000000000002'];
    for (const id of ids)
      await client.enqueue({
        id,
        executor: 'local',
        payload: { type: 'shell_command', command: 'true', args: [], env: {} },
      });
    expectOneLine(await h.cli(['status', 'abcdef']), 2, new RegExp(`ambiguous; it matches ${ids[0]}, ${ids[1]}`));
    expect((await h.cli(['status', 'abcdef12-0000-4000-8000-000000000002', '--json'])).exitCode).toBe(0);
    expectOneLine(await h.cli(['logs', 'fedcba98']), 3, /no task matches id "fedcba98"/);
    expectOneLine(await h.cli(['status', 'abc']), 2, /too short/);
    expectOneLine(await h.cli(['status']), 2, /missing task id: give it as the argument or with --task-id \(/);
    expectOneLine(
      await h.cli(['kill']),
      2,
      /missing task id: give it as the argument, with --task-id, or select tasks with --label, --executor or --status/,
    );
  });

  it('unreachable Redis → exit 4 for every command that needs it', async () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:1' };
    for (const args of [
      ['run', '-e', 'local', '-c', 'true'],
      ['list'],
      ['status', 'abcdef12'],
      ['logs', 'abcdef12', '-f'],
    ]) {
      expectOneLine(await h.cli(args, { env }), 4, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    }
  });
});

describe('bad input by labels: refused only where every executor with them would refuse it', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness({
      extraExecutors:
        '  - name: box\n    type: container\n    image: alpine\n    labels: [pool]\n  - name: near\n    type: local\n    labels: [pool]\n',
    });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('takes --worktree by a label a container executor has too, when the local one has the shorter queue', async () => {
    const repo = makeRepo(path.join(h.dir, 'app'));
    // `box` (first in the config, a container: no worktrees) has a task waiting: the client
    // chooses `near`, which makes worktrees.
    expect((await h.cli(['run', '-e', 'box', '-c', 'true'])).exitCode).toBe(0);
    const r = await h.cli(['run', '--label', 'pool', '--worktree', '-w', repo, '--json', '-c', 'true']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ executor: 'near', status: 'queued' });
  });
});
