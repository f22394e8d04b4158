import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTaskJson, type TaskClient } from '../../src/index.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';

// Command notifiers end to end: the real CLI enqueues with --notify, a real worker runs the task
// and the notifier's command, and `status` shows each delivery.
const DEFAULT_TOKEN = 'default-hooks-token-never-shown';
const GATE_TOKEN = 'gate-hooks-token-never-shown';

describe('command notifiers', () => {
  let h: Harness;
  let notes: string;
  let client: TaskClient;

  beforeAll(async () => {
    h = createHarness({
      extraExecutors: '  - name: idle\n    type: local\n',
      extraConfig: (dir) => `notifiers:
  desk:
    type: command
    argv: [sh, -c, 'printf "%s|%s|%s|%s\\n" "$1" "$2" "$OCA_EXIT_CODE" "$OCA_EXECUTOR" >> ${path.join(dir, 'notes')}', sh, '{short_id}', '{status}']
  failures:
    type: command
    argv: [sh, -c, 'echo "$OCA_ID" >> ${path.join(dir, 'failures')}']
    on: [failed, timed_out]
  broken:
    type: command
    argv: [sh, -c, 'echo "ntfy: 503 Service Unavailable" >&2; exit 4']
  dump:
    type: command
    argv: [sh, -c, 'env > ${path.join(dir, 'notifier-env')}']
  gate:
    type: openclaw
    url: http://127.0.0.1:2
    token_env: GATE_HOOKS_TOKEN
defaults:
  notify: [desk]
`,
    });
    notes = path.join(h.dir, 'notes');
    await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: DEFAULT_TOKEN, GATE_HOOKS_TOKEN: GATE_TOKEN });
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  // Polled through the library: a CLI process per poll would make the test slow.
  async function statusOf(id: string): Promise<{
    notify: string[];
    notifiers: { name: string; state: string; attempts: number; exit_code?: number; error?: string }[];
  }> {
    return toTaskJson(await client.get(id)) as never;
  }
  const notified = (id: string, name: string) =>
    eventually(async () => {
      const state = (await statusOf(id)).notifiers.find((n) => n.name === name);
      return state && state.state !== 'pending' && state.state !== 'retrying' ? state : undefined;
    }, `notifier ${name} of ${id}`);

  it('runs defaults.notify when a task names none, with the template fields and OCA_* variables', async () => {
    const r = await h.cli(['run', '-e', 'local', '-c', 'exit 3']);
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    expect((await statusOf(id)).notify).toEqual(['desk']);
    expect(await notified(id, 'desk')).toMatchObject({ state: 'delivered', attempts: 1, exit_code: 0 });
    expect(readFileSync(notes, 'utf8')).toContain(`${id.slice(0, 8)}|failed|3|local\n`);
    expect((await h.cli(['status', id])).stdout).toMatch(/Notify: {3}desk \(command sh\) delivered after 1 attempt/);
  });

  it('runs the notifiers --notify names instead, each only for the statuses in its `on`', async () => {
    const ok = (
      await h.cli(['run', '-e', 'local', '--notify', 'failures', '--notify', 'desk', '--', 'true'])
    ).stdout.trim();
    const bad = (await h.cli(['run', '-e', 'local', '--notify', 'failures,desk', '--', 'false'])).stdout.trim();
    await notified(ok, 'desk');
    await notified(bad, 'desk');
    expect(await notified(bad, 'failures')).toMatchObject({ state: 'delivered' });
    // `failures` is for failed and timed_out only: the completed task never ran it.
    expect((await statusOf(ok)).notifiers.map((n) => n.name)).toEqual(['desk']);
    expect(readFileSync(path.join(h.dir, 'failures'), 'utf8')).toBe(`${bad}\n`);
  });

  it('runs none with --notify none', async () => {
    const id = (await h.cli(['run', '-e', 'local', '--notify', 'none', '--', 'true'])).stdout.trim();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const status = await statusOf(id);
    expect(status.notify).toEqual([]);
    // Given time to be relayed, had it anything to relay.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await statusOf(id)).notifiers).toEqual([]);
    expect(readFileSync(notes, 'utf8')).not.toContain(id.slice(0, 8));
  });

  it('records a failing notifier as failed, once, and the task keeps its own outcome', async () => {
    const id = (await h.cli(['run', '-e', 'local', '--notify', 'broken', '--', 'true'])).stdout.trim();
    expect(await notified(id, 'broken')).toMatchObject({
      state: 'failed',
      attempts: 1,
      exit_code: 4,
      error: 'exited with code 4: ntfy: 503 Service Unavailable',
    });
    expect((await h.cli(['status', id, '--json'])).stdout).toContain('"status": "completed"');
    expect((await h.cli(['status', id])).stdout).toContain(
      'Notify:   broken (command sh) failed after 1 attempt — exited with code 4: ntfy: 503 Service Unavailable',
    );
  });

  it('announces a task cancelled before it started', async () => {
    const id = (await h.cli(['run', '-e', 'idle', '-c', 'echo never'])).stdout.trim();
    expect((await h.cli(['kill', id])).stdout).toContain('cancelled');
    await notified(id, 'desk');
    expect(readFileSync(notes, 'utf8')).toContain(`${id.slice(0, 8)}|cancelled||idle\n`);
  });

  it("keeps the hooks tokens of the workers' environment from tasks and command notifiers", async () => {
    const task = await h.cli(['run', '-e', 'local', '-f', '--notify', 'dump', '--', 'env']);
    expect(task.exitCode).toBe(0);
    expect(task.stdout).toContain('PATH=');
    const id = (await client.list({ limit: 1 }))[0]!.record.id;
    await notified(id, 'dump');
    const notifierEnv = readFileSync(path.join(h.dir, 'notifier-env'), 'utf8');
    expect(notifierEnv).toContain('OCA_STATUS=completed');
    for (const env of [task.stdout, notifierEnv]) {
      expect(env).not.toContain(DEFAULT_TOKEN);
      expect(env).not.toContain(GATE_TOKEN);
    }
  });

  it('refuses an unknown --notify name or a stray --notify-session in one line, enqueuing nothing', async () => {
    const before = await h.redis().keys(`${h.prefix}:_task:*`);
    const unknown = await h.cli(['run', '-e', 'local', '--notify', 'slack', '--', 'true']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      'openclaw-agent: unknown notifier "slack" in `--notify` — configured: desk, failures, broken, dump, gate; "none" turns them off\n',
    );
    const session = await h.cli(['run', '-e', 'local', '--notify-session', 'agent:main:x', '--', 'true']);
    expect(session.exitCode).toBe(2);
    expect(session.stderr).toMatch(
      /^openclaw-agent: `--notify-session` sets the OpenClaw session to wake, but this task has no openclaw notifier — name one with `--notify` or in defaults\.notify\n$/,
    );
    expect(await h.redis().keys(`${h.prefix}:_task:*`)).toEqual(before);
  });
});
