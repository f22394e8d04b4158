import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toTaskJson } from '../../src/index.js';
import { createHarness, eventually, FAKE_CLAUDE, stopProcess, type Harness } from '../helpers/harness.js';
import { podmanSkipReason, startPodman, CONTAINER_CLAUDE, TEST_IMAGE, type PodmanService } from '../helpers/podman.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET_KEY = 'sk-ant-oca-test-0123456789-do-not-print';

// Claude Code tasks end to end with the fake `claude` (test/fixtures/fake-claude.mjs), on the
// local executor, on an SSH executor backed by a real sshd and on a container executor backed by
// podman (its image carries the POSIX-sh fake, test/fixtures/fake-claude.sh).
describe('Claude Code tasks', () => {
  let server: SshdServer;
  let engine: PodmanService | undefined;
  let h: Harness;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    server = await startSshd();
    if (!podmanSkipReason()) engine = await startPodman();
    await receiver.start();
  });
  afterAll(async () => {
    await server?.stop();
    await engine?.stop();
    await receiver.stop();
  });
  beforeEach(() => {
    h = createHarness({
      extraExecutors: (dir) =>
        sshExecutorYaml(server, 'crib', {
          claude_path: FAKE_CLAUDE,
          spool_dir: `${dir}/remote-tasks`,
          env: `{ ANTHROPIC_API_KEY: ${SECRET_KEY} }`,
        }) +
        `  - name: box
    type: container
    image: ${TEST_IMAGE}
    runtime: podman
    socket: ${engine?.url ?? 'unix:///nonexistent.sock'}
    pull: never
    claude_path: ${CONTAINER_CLAUDE}
    volumes: ['${dir}:${dir}']
`,
    });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  type TaskJson = Record<string, unknown> & { claude: Record<string, unknown> | null };
  const json = async (id: string) => JSON.parse((await h.cli(['status', id, '--json'])).stdout) as TaskJson;

  for (const executor of ['local', 'crib', ...(podmanSkipReason() ? [] : ['box'])]) {
    it(`${executor}: shows progress while it runs, then the result, cost and turns, also in the webhook`, async () => {
      await h.startWorker(executor);
      const client = await h.client();
      const r = await h.cli([
        'start',
        '-e',
        executor,
        '-w',
        h.dir,
        '--callback',
        `${receiver.url}/${executor}`,
        '-p',
        'Fix the build turns:6 slow:600',
      ]);
      expect(r.exitCode).toBe(0);
      const id = r.stdout.trim();
      // Read in-process: the run is in turn 2 or later for a few seconds only, less than a CLI
      // call may take on a busy machine (`status --json` prints the same toTaskJson of the view).
      const running = await eventually(async () => {
        const s = toTaskJson(await client.get(id)) as TaskJson;
        return s.status === 'running' && Number(s.claude?.turns) >= 2 ? s : undefined;
      }, 'progress while running');
      expect(running.claude).toMatchObject({ model: expect.any(String), session_id: expect.any(String) });
      // The tool of the turn the record shows: the .mjs fake's steps in turn, the sh fake's Bash
      // (after the 6th turn comes a text-only message: the last tool stays the 6th turn's).
      const turn = Math.min(Number(running.claude?.turns), 6);
      const tool = executor === 'box' ? 'Bash' : ['Bash', 'Edit', 'Bash', 'Read', 'Grep'][(turn - 1) % 5];
      expect(String(running.claude?.last_tool)).toMatch(new RegExp(`^${tool}: `));

      expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
      const done = await json(id);
      expect(done).toMatchObject({ status: 'completed', exit_code: 0 });
      // Six tool turns and the answer: seven API calls, the CLI's count.
      expect(done.claude).toMatchObject({
        subtype: 'success',
        is_error: false,
        num_turns: 7,
        turns: 7,
        result: 'done: Fix the build turns:6 slow:600',
      });
      expect(Number(done.claude?.total_cost_usd)).toBeGreaterThan(0);

      const list = (await h.cli(['list'])).stdout;
      expect(list).toMatch(/🤖.*7 turns \$0\.\d{4}/);
      const status = (await h.cli(['status', id])).stdout;
      expect(status).toMatch(/Result: {3}success · \$0\.\d{4}/);

      const [hook] = await eventually(
        async () => (receiver.to(`/${executor}`).length ? receiver.to(`/${executor}`) : undefined),
        'the webhook',
      );
      expect(JSON.parse(hook!.body).claude).toEqual({
        session_id: done.claude?.session_id,
        subtype: 'success',
        num_turns: 7,
        total_cost_usd: done.claude?.total_cost_usd,
        result: 'done: Fix the build turns:6 slow:600',
      });
    });

    it(`${executor}: --continue resumes the earlier task's session on its executor and workspace`, async () => {
      await h.startWorker(executor);
      const first = (await h.cli(['start', '-e', executor, '-w', h.dir, '-p', 'first turns:1'])).stdout.trim();
      expect(await h.cli(['wait', first])).toMatchObject({ exitCode: 0 });
      const session = (await json(first)).claude?.session_id;
      expect(session).toEqual(expect.any(String));

      const second = (await h.cli(['start', '--continue', first.slice(0, 8), '-p', 'and now the tests'])).stdout.trim();
      expect(await h.cli(['wait', second])).toMatchObject({ exitCode: 0 });
      const s = await json(second);
      expect(s).toMatchObject({ executor, workdir: h.dir, continues: first });
      expect(s.claude?.session_id).toBe(session);
      expect((await h.cli(['logs', second, '--raw'])).stdout).toContain(`resuming ${session}`);
      expect((await h.cli(['status', second])).stdout).toContain(`Continues: ${first}`);
    });
  }

  it('fails on max turns, on is_error after exit 0, and when claude is missing, each with the reason', async () => {
    const worker = await h.startWorker();
    const turns = (
      await h.cli(['start', '-e', 'local', '-w', h.dir, '--max-turns', '2', '-p', 'turns:4'])
    ).stdout.trim();
    const silentError = (await h.cli(['start', '-e', 'local', '-w', h.dir, '-p', 'is_error_exit0'])).stdout.trim();
    expect(await h.cli(['wait', turns])).toMatchObject({ exitCode: 1 });
    expect(await json(turns)).toMatchObject({
      status: 'failed',
      exit_code: 1,
      error: expect.stringMatching(/claude error_max_turns after 3 turns/),
    });
    expect(await h.cli(['wait', silentError])).toMatchObject({ exitCode: 1 });
    expect(await json(silentError)).toMatchObject({ status: 'failed', exit_code: 0, claude: { is_error: true } });

    await stopProcess(worker);
    writeFileSync(
      h.configPath,
      readFileSync(h.configPath, 'utf8').replace(
        `claude_path: ${FAKE_CLAUDE}\n    labels`,
        'claude_path: /nonexistent/claude\n    labels',
      ),
    );
    await h.startWorker();
    const missing = (await h.cli(['start', '-e', 'local', '-w', h.dir, '-p', 'hello'])).stdout.trim();
    await h.cli(['wait', missing]);
    expect((await json(missing)).error).toMatch(/claude not found on executor "local"/);
  });

  for (const executor of ['local', 'crib', ...(podmanSkipReason() ? [] : ['box'])]) {
    it(`${executor}: kill ends a running Claude task as killed`, async () => {
      await h.startWorker(executor);
      const id = (await h.cli(['start', '-e', executor, '-w', h.dir, '-p', 'turns:50 slow:300'])).stdout.trim();
      await eventually(async () => (Number((await json(id)).claude?.turns) >= 1 ? true : undefined), 'the first turn');
      expect((await h.cli(['kill', id, '--grace', '2s'])).exitCode).toBe(0);
      const killed = await eventually(async () => {
        const s = await json(id);
        return s.status === 'killed' ? s : undefined;
      }, 'killed');
      expect(killed.error).toBe('killed on request');
      // Killed reads killed everywhere: no "done" in its transcript either.
      expect((await h.cli(['logs', id])).stdout).not.toContain('✓ done');
    });
  }

  it('runs with CLAUDECODE=1 in the worker environment and never shows the API key', async () => {
    await h.startWorker('crib', { CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli' });
    const id = (await h.cli(['start', '-e', 'crib', '-w', h.dir, '-p', 'echo-env:ANTHROPIC_API_KEY'])).stdout.trim();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const logs = (await h.cli(['logs', id, '--raw'])).stdout;
    expect(logs).toMatch(/ANTHROPIC_API_KEY is set/);
    const surfaces = [
      logs,
      (await h.cli(['logs', id])).stdout,
      (await h.cli(['status', id])).stdout,
      (await h.cli(['status', id, '--json'])).stdout,
      (await h.cli(['list', '--json'])).stdout,
      (await h.cli(['list'])).stdout,
      (await h.cli(['executors', '--json'])).stdout,
    ];
    for (const text of surfaces) expect(text).not.toContain(SECRET_KEY);
  });

  it('refuses bad Claude flags in one line, enqueueing nothing', async () => {
    writeFileSync(`${h.dir}/blank.txt`, '\n  \n');
    const cases: Array<[string[], RegExp, string?]> = [
      [
        ['--permission-mode', 'yolo', '-p', 'x'],
        /--permission-mode must be one of default, acceptEdits, auto, bypassPermissions, manual, dontAsk, plan/,
      ],
      [['--max-budget-usd', 'lots', '-p', 'x'], /--max-budget-usd must be a positive number/],
      [['--prompt-file', `${h.dir}/missing.txt`], /cannot read --prompt-file .*missing\.txt: ENOENT/],
      [[], /missing prompt/],
      [
        ['--prompt-file', `${h.dir}/blank.txt`],
        /--prompt-file .*blank\.txt holds no prompt: the file is empty or blank/,
      ],
      [['--prompt', '-'], /--prompt - read no prompt: stdin was empty or blank/, ' \n'],
    ];
    for (const [args, message, input] of cases) {
      const r = await h.cli(['start', '-e', 'local', ...args], { input });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    const shell = (await h.cli(['run', '-e', 'local', '-c', 'true'])).stdout.trim();
    const r = await h.cli(['start', '--continue', shell, '-p', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is a shell command; only Claude tasks can be continued/);
    expect((await h.cli(['list', '--json'])).stdout.match(/"task_id"/g)).toHaveLength(1);
  });

  it('reads the prompt from stdin with --prompt - and from --prompt-file', async () => {
    await h.startWorker();
    const piped = (
      await h.cli(['start', '-e', 'local', '-w', h.dir, '--prompt', '-'], { input: 'from stdin turns:1' })
    ).stdout.trim();
    writeFileSync(`${h.dir}/prompt.txt`, 'from a file turns:1');
    const filed = (
      await h.cli(['start', '-e', 'local', '-w', h.dir, '--prompt-file', `${h.dir}/prompt.txt`])
    ).stdout.trim();
    expect(await h.cli(['wait', piped, filed])).toMatchObject({ exitCode: 0 });
    expect((await json(piped)).claude?.result).toBe('done: from stdin turns:1');
    expect((await json(filed)).claude?.result).toBe('done: from a file turns:1');
  });
});
