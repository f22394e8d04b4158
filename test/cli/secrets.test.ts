import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { readLocalSecret } from '../../src/config/local-secret.js';
import { BIN, createHarness, eventually, FAKE_CLAUDE, stopProcess, type Harness } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// Values planted wherever a secret may be given; none may come out anywhere but in a task itself.
const EXECUTOR_SECRET = `executor-secret-${randomUUID()}`;
const TASK_SECRET = `task-secret-${randomUUID()}`;
const WEBHOOK_KEY = randomBytes(24).toString('base64');
const WEBHOOK_SECRET = `whsec_${WEBHOOK_KEY}`;
const SIGNING_KEY = `signing-key-${randomUUID()}`;
const PLANTED = { EXECUTOR_SECRET, TASK_SECRET, WEBHOOK_SECRET, WEBHOOK_KEY, SIGNING_KEY };

// Names every planted value found in `text`, so that a failure says which secret leaked where.
function leaks(text: string): string[] {
  return Object.entries(PLANTED)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

describe('secrets: planted env values, webhook secret and signing key appear on no surface', () => {
  let h: Harness;
  let worker: ChildProcess;
  let workerLog = '';
  const receiver = new WebhookReceiver();
  let dashboard: RunningDashboard;
  const surfaces = new Map<string, string>();
  let shellId = '';
  let claudeId = '';

  beforeAll(async () => {
    await receiver.start();
    h = createHarness({
      extraExecutors: `  - name: vault
    type: local
    claude_path: ${FAKE_CLAUDE}
    env:
      EXECUTOR_SECRET: ${EXECUTOR_SECRET}
`,
      extraConfig: `task_signing_key: ${SIGNING_KEY}
defaults:
  webhook_url: ${receiver.url}/hook
  webhook_secret: ${WEBHOOK_SECRET}
`,
    });
    // The worker's own log from its first byte, as verbose as it gets.
    worker = spawn('node', [BIN, 'worker', '--executor', 'vault', '--verbose'], {
      env: h.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    await eventually(async () => (workerLog.includes('ready') ? true : undefined), 'the worker to be ready');
    dashboard = await startDashboard({ config: h.config(), port: 0, home: h.home });

    const shell = await h.cli([
      'run',
      '-e',
      'vault',
      '-f',
      '--env',
      `TASK_SECRET=${TASK_SECRET}`,
      '--',
      'sh',
      '-c',
      'test -n "$TASK_SECRET" && echo "TASK_SECRET is set"; test -n "$EXECUTOR_SECRET" && echo "EXECUTOR_SECRET is set"',
    ]);
    expect(shell.exitCode).toBe(0);
    expect(shell.stdout).toBe('TASK_SECRET is set\nEXECUTOR_SECRET is set\n');
    shellId = /task ([0-9a-f-]{36})/.exec(shell.stderr)![1]!;

    const claude = await h.cli(['start', '-e', 'vault', '--workspace', h.dir, '--prompt', 'echo-env:EXECUTOR_SECRET']);
    expect(claude.exitCode).toBe(0);
    claudeId = claude.stdout.trim();
    const claudeLogs = await h.cli(['logs', claudeId, '-f']);
    expect(claudeLogs.stdout).toContain('EXECUTOR_SECRET is set');
    await eventually(async () => (receiver.to('/hook').length >= 2 ? true : undefined), 'both webhooks');
  }, 60_000);

  afterAll(async () => {
    await dashboard?.close();
    if (worker) await stopProcess(worker);
    await h?.cleanup();
    await receiver.stop();
  });

  async function cli(args: string[]): Promise<void> {
    const r = await h.cli(args);
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    surfaces.set(`openclaw-agent ${args.join(' ')}`, r.stdout + r.stderr);
  }

  async function api(path: string): Promise<void> {
    const response = await fetch(`${dashboard.url}${path}`);
    const text = await response.text();
    expect(response.status, `${path}: ${text}`).toBe(200);
    surfaces.set(`GET ${path}`, text);
  }

  it('the tasks ran with their secrets set', async () => {
    const status = JSON.parse((await h.cli(['status', shellId, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'completed', env_keys: ['TASK_SECRET'] });
    expect(JSON.parse((await h.cli(['status', claudeId, '--json'])).stdout)).toMatchObject({ status: 'completed' });
  });

  it('a task posted to the dashboard API is signed (the worker checks signatures) and runs', async () => {
    const response = await fetch(`${dashboard.url}/api/tasks`, {
      method: 'POST',
      // Writes on loopback want the local secret, as the CLI and the client send it.
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await readLocalSecret(h.home)}` },
      body: JSON.stringify({ executor: 'vault', payload: { type: 'shell_command', command: 'true' } }),
    });
    const created = (await response.json()) as { task_id: string };
    expect(response.status).toBe(201);
    const status = await eventually(async () => {
      const r = JSON.parse((await h.cli(['status', created.task_id, '--json'])).stdout) as Record<string, unknown>;
      return r.finished_at ? r : undefined;
    }, 'the posted task to end');
    expect(status).toMatchObject({ status: 'completed', exit_code: 0 });
  });

  it('no surface shows any planted value', async () => {
    for (const id of [shellId, claudeId]) {
      await cli(['status', id]);
      await cli(['status', id, '--json']);
      await cli(['logs', id]);
      await cli(['logs', id, '--raw']);
    }
    await cli(['list']);
    await cli(['list', '--json']);
    await cli(['executors']);
    await cli(['executors', '--json']);
    await cli(['config']);
    for (const id of [shellId, claudeId]) await api(`/api/tasks/${id}`);
    await api('/api/tasks');
    await api('/api/executors');
    await api('/metrics');
    await api('/queues/api/queues?activeQueue=vault&status=latest&page=1&jobsPerPage=50');
    await api(`/queues/api/queues/vault/${shellId}`);
    await api(`/queues/api/queues/vault/${shellId}/logs`);
    for (const request of receiver.to('/hook'))
      surfaces.set(`webhook ${request.headers['webhook-id']}`, JSON.stringify(request));
    await stopProcess(worker);
    surfaces.set('the worker log', workerLog);

    expect(surfaces.size).toBeGreaterThanOrEqual(24);
    const found = [...surfaces].flatMap(([surface, text]) => leaks(text).map((secret) => `${secret} in ${surface}`));
    expect(found).toEqual([]);
  });
});
