import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectDirName, transcriptPath } from '../../src/claude/session-files.js';
import { toTaskJson, type TaskClient } from '../../src/index.js';
import { ensureClaudeCode, offlineClaudeEnv } from '../helpers/claude-code.js';
import { FakeAnthropic, type ModelRequest, type Reply } from '../helpers/fake-anthropic.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// Claude tasks run by the real Claude Code CLI (npm @anthropic-ai/claude-code, its native binary),
// offline against a fake Anthropic Messages API on loopback — the one stand-in — through the real
// CLI and worker processes: what the stream says, every surface says the same.

const root = process.getuid?.() === 0;

// The last message the CLI sent: a tool result means the model has used a tool already.
const afterTool = (request: ModelRequest) =>
  JSON.stringify(request.body?.messages?.at(-1) ?? '').includes('tool_result');
const bash = (input: Record<string, unknown>, usage = { input_tokens: 1200, output_tokens: 30 }): Reply => ({
  blocks: [{ type: 'tool_use', id: `toolu_${Date.now()}`, name: 'Bash', input }],
  usage,
});
// What the API answers a subscriber over the 5-hour limit: 429 with the unified rate-limit headers.
const overLimit = (resetAt: number): Reply => ({
  status: 429,
  error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your rate limit.' },
  headers: {
    'anthropic-ratelimit-unified-status': 'rejected',
    'anthropic-ratelimit-unified-reset': String(Math.ceil(resetAt / 1000)),
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
  },
});
const subscriberEnv = (url: string): Record<string, string> => {
  const env = offlineClaudeEnv(url);
  delete env.ANTHROPIC_API_KEY;
  return {
    ...env,
    CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-fake-token-for-tests',
    CLAUDE_CODE_SUBSCRIPTION_TYPE: 'max',
    IS_SANDBOX: '1',
  };
};
const text = (words: string, usage = { input_tokens: 1300, output_tokens: 19 }): Reply => ({
  blocks: [{ type: 'text', text: words }],
  usage,
});

describe('Claude tasks with the real Claude Code CLI', () => {
  const model = new FakeAnthropic();
  const receiver = new WebhookReceiver();
  let h: Harness;
  let client: TaskClient;

  beforeAll(async () => {
    const [claude] = await Promise.all([ensureClaudeCode(), model.start(), receiver.start()]);
    const env = (extra: Record<string, string>) => JSON.stringify({ ...offlineClaudeEnv(model.url), ...extra });
    h = createHarness({
      extraExecutors:
        `  - name: real\n    type: local\n    claude_path: ${claude}\n    env: ${env({ IS_SANDBOX: '1' })}\n  - name: strict\n    type: local\n    claude_path: ${claude}\n    env: ${env({})}\n` +
        // A subscriber's login (an OAuth token, no API key): only then does the CLI report a usage limit.
        `  - name: subscriber\n    type: local\n    claude_path: ${claude}\n    env: ${JSON.stringify(subscriberEnv(model.url))}\n`,
      extraConfig: `defaults:\n  webhook_url: ${receiver.url}/claude\n  webhook_retry_schedule: [200ms]\n`,
    });
    await Promise.all([h.startWorker('real'), h.startWorker('strict'), h.startWorker('subscriber')]);
    client = await h.client();
  }, 180_000);
  afterAll(async () => {
    await h?.cleanup();
    await model.stop();
    await receiver.stop();
  });

  const start = async (executor: string, ...args: string[]) => {
    const r = await h.cli(['start', '-e', executor, '-w', h.dir, ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const ended = (id: string) =>
    eventually(
      async () => {
        const task = toTaskJson(await client.get(id));
        return task.finished_at ? task : undefined;
      },
      `task ${id} to end`,
      60_000,
    );
  type ClaudeJson = Record<string, unknown>;
  // A session the CLI ran in `workspace`, ended; its id.
  const sessionIn = async (workspace: string) => {
    model.script = () => text('done');
    const started = await h.cli(['start', '-e', 'real', '-w', workspace, '-p', 'hello']);
    expect(started.exitCode, started.stderr).toBe(0);
    const task = await ended(started.stdout.trim());
    expect(task.status).toBe('completed');
    return (task.claude as ClaudeJson).session_id as string;
  };
  // The directories under ~/.claude/projects the CLI put a session's transcript in.
  const projectDirsOf = (session: string) => {
    const projects = path.join(h.home, '.claude', 'projects');
    return readdirSync(projects).filter((dir) => existsSync(path.join(projects, dir, `${session}.jsonl`)));
  };

  it('says what an API error was, and shows the retries before it in logs and status', async () => {
    model.script = () => ({ status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    const id = await start('real', '-p', 'hello');
    const task = await ended(id);
    expect(task).toMatchObject({
      status: 'failed',
      exit_code: 1,
      error: 'claude API error 401 after 1 turn: Invalid API key · Fix external API key',
    });
    expect(task.claude).toMatchObject({
      subtype: 'success',
      is_error: true,
      api_error_status: 401,
      api_retries: 2,
      last_event: '⟳ API retry 2/2: 401 authentication_failed',
    });
    const logs = (await h.cli(['logs', id])).stdout;
    expect(logs).toContain('⟳ API retry 1/2: 401 authentication_failed\n⟳ API retry 2/2: 401 authentication_failed\n');
    expect(logs).toContain('✗ API error 401 after 1 turn');
    expect((await h.cli(['status', id])).stdout).toContain(
      'Claude:   ⟳ API retry 2/2: 401 authentication_failed (2 API retries)',
    );
  });

  it("counts tokens as the stream allows: the result's total, and never a budget stop's zeros", async () => {
    model.script = (request) =>
      afterTool(request) ? text('The command printed: hi') : bash({ command: 'echo hi', description: 'Print hi' });
    const happy = await ended(await start('real', '--permission-mode', 'bypassPermissions', '-p', 'run echo hi'));
    expect(happy.status).toBe('completed');
    expect(happy.claude).toMatchObject({
      input_tokens: 2500,
      output_tokens: 49,
      num_turns: 2,
      turns: 2,
      last_tool: 'Bash: echo hi',
    });

    model.script = () => bash({ command: 'echo costly' }, { input_tokens: 50_000, output_tokens: 2000 });
    const budget = await ended(
      await start('real', '--permission-mode', 'bypassPermissions', '--max-budget-usd', '0.0001', '-p', 'spend'),
    );
    expect(budget).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^claude error_max_budget_usd after 1 turn/),
    });
    // Its result line says usage 0/0; the per-model count says what was spent.
    const raw = (await h.cli(['logs', budget.task_id as string, '--raw'])).stdout;
    expect(raw).toMatch(/"subtype":"error_max_budget_usd"/);
    expect(budget.claude).toMatchObject({ input_tokens: 50_000, output_tokens: 2000 });
  });

  it("shows one model name, and one count of turns — the CLI's — on max turns", async () => {
    model.script = () => bash({ command: 'echo again' });
    const task = await ended(
      await start(
        'real',
        '--permission-mode',
        'bypassPermissions',
        '--model',
        'claude-sonnet-4-5-20250929[1m]',
        '--max-turns',
        '1',
        '-p',
        'loop',
      ),
    );
    expect(task).toMatchObject({
      status: 'failed',
      error: 'claude error_max_turns after 2 turns: Reached maximum number of turns (1)',
    });
    expect(task.claude).toMatchObject({ model: 'claude-sonnet-4-5-20250929', turns: 2, num_turns: 2 });
  });

  it('accepts the permission modes the CLI has, auto among them', async () => {
    model.script = () => text('fine');
    const task = await ended(await start('real', '--permission-mode', 'auto', '-p', 'hello'));
    expect(task.status).toBe('completed');
    expect((await h.cli(['logs', task.task_id as string, '--raw'])).stdout.split('\n')[0]).toMatch(
      /"permissionMode":"(auto|default)"/,
    );
  });

  it.skipIf(!root)('puts the reason claude gives for not starting into the error', async () => {
    const task = await ended(await start('strict', '--permission-mode', 'bypassPermissions', '-p', 'hello'));
    expect(task).toMatchObject({
      status: 'failed',
      exit_code: 1,
      error:
        'claude could not start: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons',
    });
  });

  it('shows background tasks starting and ending in the transcript and status', async () => {
    model.script = (request) =>
      afterTool(request) || JSON.stringify(request.body?.messages ?? '').includes('task-notification')
        ? text('Started it in the background.')
        : bash({ command: 'echo bg-done', description: 'bg echo', run_in_background: true });
    const task = await ended(await start('real', '--permission-mode', 'bypassPermissions', '-p', 'background'));
    expect(task.status).toBe('completed');
    const logs = (await h.cli(['logs', task.task_id as string])).stdout;
    expect(logs).toMatch(/▸ background task started: bg echo \(local_bash\)\n/);
    expect(logs).toMatch(/◂ background task completed: Background command "bg echo" completed \(exit code 0\)\n/);
    expect((task.claude as ClaudeJson).last_event).toMatch(/^◂ background task completed/);
  });

  it('reads killed everywhere when a task is killed while claude waits on the API: status, transcript, webhook', async () => {
    model.script = () => ({ ...text('too late'), delayMs: 30_000 });
    const id = await start('real', '-p', 'wait for me');
    await eventually(
      async () => ((toTaskJson(await client.get(id)).claude as ClaudeJson | null)?.session_id ? true : undefined),
      'the session to start',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await h.cli(['kill', id, '--grace', '5s'])).exitCode).toBe(0);
    const task = await ended(id);
    expect(task).toMatchObject({ status: 'killed', error: 'killed on request' });
    expect((await h.cli(['logs', id])).stdout).not.toContain('✓ done');
    const hook = await eventually(async () => receiver.requests.find((r) => r.body.includes(id)), 'the webhook');
    expect(JSON.parse(hook.body)).toMatchObject({ task_id: id, status: 'killed' });
  });

  it('finds where the CLI keeps the sessions of a workspace whose name runs past 200 characters', async () => {
    // Real, so that only the length counts; an emoji is two UTF-16 units, in the name and the hash.
    const workspace = path.join(realpathSync(h.dir), 'a workspace named past the limit ✓ 😀', 'long-'.repeat(40));
    mkdirSync(workspace, { recursive: true });
    const session = await sessionIn(workspace);
    expect(projectDirsOf(session)).toEqual([projectDirName(workspace)]);
  });

  it('finds the sessions of a workspace reached through a symlink under the name of its real path, as the CLI keeps them', async () => {
    const real = path.join(realpathSync(h.dir), 'real workspace');
    const link = path.join(h.dir, 'linked workspace');
    mkdirSync(real, { recursive: true });
    symlinkSync(real, link);
    const session = await sessionIn(link);
    // Not the name of the path as given: a container's run knows only that (container-session.ts).
    expect(projectDirsOf(session)).toEqual([projectDirName(real)]);
    expect(projectDirName(link)).not.toBe(projectDirName(real));
  });

  it("waits out a subscriber's usage limit and resumes the same session with the CLI's --resume", async () => {
    // The limit holds for 4 s from the first request, however long the CLI took to start.
    let resetAt: number | undefined;
    model.script = () => {
      resetAt ??= Date.now() + 4000;
      return Date.now() < resetAt ? overLimit(resetAt) : text('Resumed and finished.');
    };
    const before = model.requests.length;
    // A workspace whose name has characters the CLI replaces in its project directory's name.
    const workspace = path.join(h.dir, 'my app_2.x');
    mkdirSync(workspace, { recursive: true });
    const started = await h.cli(['start', '-e', 'subscriber', '-w', workspace, '-p', 'refactor the parser']);
    expect(started.exitCode, started.stderr).toBe(0);
    const id = started.stdout.trim();
    const waiting = await eventually(async () => {
      const task = toTaskJson(await client.get(id));
      // Queued again once the worker has put it back (for a moment it is still its running task).
      return (task.limit as { until: string | null } | null)?.until && task.status === 'queued' ? task : undefined;
    }, 'the usage-limit wait');
    expect(waiting.status).toBe('queued');
    const session = (waiting.claude as ClaudeJson).session_id;
    expect(session).toEqual(expect.any(String));
    // The CLI does not retry a rejected subscriber: one request, and the limit said at once.
    expect(waiting.attempts).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        error: expect.stringMatching(/^claude API error 429 after 1 turn: You've hit your (5-hour|session) limit/),
      }),
    ]);

    const task = await ended(id);
    expect(task).toMatchObject({ status: 'completed', limit: { waits: 1, until: null } });
    expect(Date.parse(task.finished_at as string)).toBeGreaterThanOrEqual(resetAt!);
    expect(task.claude).toMatchObject({ session_id: session, is_error: false, result: 'Resumed and finished.' });
    // The CLI kept the session's transcript where a container's next run is given it from the
    // earlier container (src/claude/session-files.ts): under ~/.claude/projects, by workspace.
    expect(existsSync(path.join(h.home, '.claude', 'projects', transcriptPath(session as string, workspace)))).toBe(
      true,
    );
    // The resumed run carries the session's history (the task's prompt) and is told to go on.
    const asked = model.requests
      .slice(before)
      .filter((r) => r.path.startsWith('/v1/messages') && !r.path.includes('count_tokens'));
    const last = asked.at(-1)!.raw;
    expect(last).toContain('refactor the parser');
    expect(last).toContain('Continue where you left off');
    // The webhook goes out through the outbox after the end: once, at the real end.
    const ofTask = () => receiver.requests.filter((r) => r.body.includes(id));
    await eventually(async () => (ofTask().length > 0 ? true : undefined), 'the webhook');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ofTask().map((r) => JSON.parse(r.body).status)).toEqual(['completed']);
  });
});
