import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';

const ORIGINAL_FIELDS = [
  'task_id',
  'executor',
  'executor_type',
  'task_type',
  'status',
  'pid',
  'started_at',
  'updated_at',
  'finished_at',
  'exit_code',
  'error',
];

// No worker: the tasks stay queued, which is all these views need.
describe('openclaw-agent dashboard', () => {
  let h: Harness;
  const ids: string[] = [];

  beforeAll(async () => {
    h = createHarness();
    for (const cmd of ['echo first', 'echo second'])
      ids.unshift((await h.cli(['run', '-e', 'local', '-c', cmd])).stdout.trim());
  });
  afterAll(async () => {
    await h.cleanup();
  });

  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
    );

  it('--stream prints one JSON line per task, newest first, in the original field order, and exits', async () => {
    const r = await h.cli(['dashboard', '--stream']);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((t) => t.task_id)).toEqual(ids);
    expect(Object.keys(lines[0]!).slice(0, ORIGINAL_FIELDS.length)).toEqual(ORIGINAL_FIELDS);
    expect(lines[0]).toMatchObject({ status: 'queued', command: 'echo second', task_type: 'shell_command' });
  });

  it('--json prints the summary object of the original tool', async () => {
    const r = await h.cli(['dashboard', '--json']);
    expect(r.exitCode).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual(['timestamp', 'task_count', 'running', 'completed', 'failed', 'tasks']);
    expect(summary).toMatchObject({ task_count: 2, running: 0, completed: 0, failed: 0 });
    expect((summary.tasks as { task_id: string }[]).map((t) => t.task_id)).toEqual(ids);
  });

  it('--watch N reprints every N seconds until Ctrl-C', async () => {
    const { child, stdout } = h.spawnCli(['dashboard', '--watch', '1', '--stream']);
    await until(() => stdout().split('\n').filter(Boolean).length >= 4, 'two rounds');
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    const lines = stdout()
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { task_id: string }).task_id);
    expect(lines.slice(0, 4)).toEqual([...ids, ...ids]);
  });

  it('refuses to serve beyond loopback without a token, in one line', async () => {
    const r = await h.cli(['dashboard', '--host', '0.0.0.0'], { env: { OPENCLAW_AGENT_DASHBOARD_TOKEN: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^openclaw-agent: refusing to serve the dashboard on 0\.0\.0\.0 without a token: set OPENCLAW_AGENT_DASHBOARD_TOKEN or pass --token-file FILE \(loopback addresses need none\)\n$/,
    );
    const empty = path.join(h.dir, 'empty-token');
    writeFileSync(empty, '\n');
    const r2 = await h.cli(['dashboard', '--token-file', empty]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toBe(`openclaw-agent: the token file ${empty} is empty\n`);
  });

  it('serves the API with the token from --token-file until Ctrl-C', async () => {
    const token = `file-token-${randomUUID()}`;
    const file = path.join(h.dir, 'token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const { child, stderr } = h.spawnCli(['dashboard', '--port', '0', '--token-file', file]);
    await until(() => /dashboard on (http:\/\/127\.0\.0\.1:\d+)/.test(stderr()), 'the dashboard to listen');
    const url = /dashboard on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr())![1]!;
    expect((await fetch(`${url}/api/tasks`)).status).toBe(401);
    const page = (await (
      await fetch(`${url}/api/tasks`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { tasks: { task_id: string }[] };
    expect(page.tasks.map((t) => t.task_id)).toEqual(ids);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });
});
