import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('CLI with a worker: both payloads end to end', () => {
  let h: Harness;

  beforeAll(async () => {
    h = createHarness();
    await h.startWorker();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function statusJson(id: string): Promise<Record<string, unknown>> {
    const r = await h.cli(['status', id, '--json']);
    expect(r.exitCode).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it('run prints the task id at once and exits 0; the task fails with its own exit code, stdout and stderr apart', async () => {
    const r = await h.cli([
      'run',
      '--executor',
      'local',
      '--workdir',
      '/tmp',
      '--cmd',
      'echo hi; echo oops >&2; exit 3',
    ]);
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(UUID);
    expect(r.stdout).toBe(`${id}\n`);

    const follow = await h.cli(['logs', id.slice(0, 8), '--follow']);
    expect(follow.exitCode).toBe(3);
    expect(follow.stdout).toBe('hi\n');
    expect(follow.stderr).toBe('oops\n');

    const status = await statusJson(id);
    expect(Object.keys(status).slice(0, 11)).toEqual([
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
    ]);
    expect(status).toMatchObject({
      task_id: id,
      executor: 'local',
      executor_type: 'local',
      task_type: 'shell_command',
      status: 'failed',
      exit_code: 3,
      command: 'echo hi; echo oops >&2; exit 3',
      workdir: '/tmp',
    });
    expect(typeof status.pid).toBe('number');
    expect(status.duration_ms).toEqual(expect.any(Number));
  });

  it('run --follow streams argv words byte-exact and exits with the task exit code', async () => {
    const words = ["it's", '$(id)', '`id`', 'ünïcødé', 'two\nlines'];
    const r = await h.cli(['run', '--executor', 'local', '--follow', '--', 'printf', '%s\\n', ...words]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(words.map((w) => `${w}\n`).join(''));
    // A word equal to a flag's value keeps its place (oclif's own argv reorders it).
    const same = await h.cli([
      'run',
      '--name',
      'build',
      '-e',
      'local',
      '-f',
      '--',
      'echo',
      'make',
      'build',
      '--name',
      'build',
    ]);
    expect(same.stdout).toBe('make build --name build\n');
    const failing = await h.cli(['run', '-e', 'local', '-f', '-c', 'echo bye; exit 42']);
    expect(failing.exitCode).toBe(42);
    expect(failing.stdout).toBe('bye\n');
  });

  it("never hands the worker's own settings (Redis URL, OPENCLAW_AGENT_*) to a task", async () => {
    const r = await h.cli(['run', '-e', 'local', '-f', '--env', 'MINE=kept', '--', 'env']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('MINE=kept\n');
    expect(r.stdout).not.toMatch(/^(REDIS_URL|OPENCLAW_AGENT_\w+)=/m);
  });

  it("--env NAME hands the task the value NAME has in the caller's environment, never on a command line", async () => {
    const r = await h.cli(['run', '-e', 'local', '-f', '--env', 'OCA_TEST_TOKEN', '-c', 'echo "[$OCA_TEST_TOKEN]"'], {
      env: { OCA_TEST_TOKEN: 'from the caller' },
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: '[from the caller]\n' });
  });

  it('reports a missing command as exit 127', async () => {
    const r = await h.cli(['run', '-e', 'local', '-f', '--', 'no-such-command-oca']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('no-such-command-oca');
  });

  it('start runs a Claude Code prompt through the claude contract end to end', async () => {
    const workspace = path.join(h.dir, 'app');
    mkdirSync(workspace);
    const r = await h.cli([
      'start',
      '--executor',
      'local',
      '--workspace',
      workspace,
      '--prompt',
      'Fix the build turns:3',
      '--max-turns',
      '20',
    ]);
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    const follow = await h.cli(['logs', id, '-f', '--raw', '--lines', '1000']);
    expect(follow.exitCode).toBe(0);
    const lines = follow.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'system', subtype: 'init', cwd: workspace });
    expect(lines.at(-1)).toMatchObject({ type: 'result', subtype: 'success', num_turns: 4 });
    const status = await statusJson(id);
    expect(status).toMatchObject({
      task_type: 'claude_code',
      status: 'completed',
      exit_code: 0,
      prompt: 'Fix the build turns:3',
    });
  });

  it('list shows both types newest first with icons, and env keys but never their values', async () => {
    const r = await h.cli([
      'run',
      '-e',
      'local',
      '--name',
      'secret-user',
      '--env',
      'API_TOKEN=hunter2-value',
      '-f',
      '-c',
      'test -n "$API_TOKEN"',
    ]);
    expect(r.exitCode).toBe(0);
    const table = await h.cli(['list', '--limit', '10']);
    expect(table.exitCode).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/ID\s+EXECUTOR\s+STATUS\s+AGE\s+DURATION\s+TURNS\/COST\s+NAME \/ COMMAND/);
    expect(rows[1]).toMatch(/^⚙️ +[0-9a-f]{8} +local +completed .*secret-user.*\[env: API_TOKEN\]/);
    expect(table.stdout).toMatch(/🤖 +[0-9a-f]{8} +local +completed +\S+ +\S+ +\d+ turns? \$0\.\d{4}/);
    const jsonl = await h.cli(['list', '--jsonl']);
    const records = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ name: 'secret-user', env_keys: ['API_TOKEN'] });
    const created = records.map((rec) => Date.parse(rec.created_at as string));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    for (const out of [table.stdout, jsonl.stdout, (await h.cli(['status', records[0]!.task_id as string])).stdout]) {
      expect(out).not.toContain('hunter2');
    }
    const filtered = await h.cli(['list', '--status', 'failed', '--json']);
    const failed = JSON.parse(filtered.stdout) as { status: string }[];
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((t) => t.status === 'failed')).toBe(true);
  });

  it('logs --lines prints the last N lines', async () => {
    const r = await h.cli(['run', '-e', 'local', '-f', '-c', 'seq 1 500']);
    expect(r.exitCode).toBe(0);
    const id = ((await h.cli(['list', '--jsonl', '--limit', '1'])).stdout.match(/"task_id":"([^"]+)"/) ?? [])[1]!;
    expect((await h.cli(['logs', id, '--lines', '3'])).stdout).toBe('498\n499\n500\n');
    expect((await h.cli(['logs', '-t', id])).stdout.split('\n').filter(Boolean)).toHaveLength(50);
  });

  it('logs --follow shows a line while the task is still running', async () => {
    const flag = path.join(h.dir, `go-${Date.now()}`);
    const r = await h.cli([
      'run',
      '-e',
      'local',
      '-c',
      `echo first; while [ ! -e ${flag} ]; do sleep 0.05; done; echo second`,
    ]);
    const id = r.stdout.trim();
    const follower = spawn('node', [path.join(import.meta.dirname, '../../dist/cli/bin.cjs'), 'logs', id, '--follow'], {
      env: h.env,
    });
    let seen = '';
    follower.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once('exit', resolve));
    await eventually(async () => (seen.includes('first\n') ? true : undefined), 'the follower to print the first line');
    // The task cannot end before the flag exists: the line was streamed live.
    expect((await statusJson(id)).status).toBe('running');
    expect(seen).toBe('first\n');
    writeFileSync(flag, '');
    expect(await exited).toBe(0);
    expect(seen).toBe('first\nsecond\n');
  });

  it("runs a relative --workdir in the caller's directory and fails a missing one with a clear error", async () => {
    mkdirSync(path.join(h.dir, 'sub'));
    const r = await h.cli(['run', '-e', 'local', '-f', '-w', 'sub', '-c', 'pwd']);
    expect(r.stdout).toBe(`${path.join(h.dir, 'sub')}\n`);
    const missing = await h.cli(['run', '-e', 'local', '-f', '-w', '/nonexistent/oca', '-c', 'true']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('working directory /nonexistent/oca does not exist');
  });

  it('--label without --executor picks an executor having all the labels', async () => {
    const r = await h.cli(['run', '--label', 'rust', '--label', 'quick', '-f', '-c', 'echo labelled']);
    expect(r.exitCode).toBe(0);
    const last = JSON.parse((await h.cli(['list', '--json', '--limit', '1'])).stdout) as {
      executor: string;
      labels: string[];
    }[];
    expect(last[0]).toMatchObject({ executor: 'local', labels: ['rust', 'quick'] });
  });

  it('executors and config describe the configuration', async () => {
    const ex = await h.cli(['executors', '--json']);
    expect(JSON.parse(ex.stdout)).toEqual([
      expect.objectContaining({ name: 'local', type: 'local', host: null, labels: ['quick', 'rust'] }),
    ]);
    expect((await h.cli(['executors'])).stdout).toMatch(/local\s+local\s+-\s+8\s+quick, rust/);
    expect((await h.cli(['config', '--path'])).stdout).toBe(`${h.configPath}\n`);
    const fresh = path.join(h.dir, 'fresh', 'coding-agent.yaml');
    const init = await h.cli(['config', '--init'], { env: { OPENCLAW_AGENT_CONFIG: fresh } });
    expect(init.stdout).toBe(`Sample config written to: ${fresh}\n`);
    expect(existsSync(fresh)).toBe(true);
    expect((await h.cli(['config', '--init'], { env: { OPENCLAW_AGENT_CONFIG: fresh } })).stdout).toContain(
      'Config already exists',
    );
    expect((await h.cli(['-c', fresh, 'executors', '--json'])).exitCode).toBe(0);
  });
});
