import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, FIXTURES, stopProcess, type Harness } from '../helpers/harness.js';
import { WebhookReceiver, type ReceivedRequest } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('completion webhooks', () => {
  let h: Harness;
  let worker: ChildProcess;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    h = createHarness({
      extraExecutors: '  - name: idle\n    type: local\n',
      extraConfig: `defaults:\n  webhook_secret: ${SECRET}\n  webhook_retry_schedule: [200ms, 200ms, 200ms]\n  webhook_timeout: 2s\n`,
    });
    worker = await h.startWorker();
  });
  afterAll(async () => {
    await h.cleanup();
    await receiver.stop();
  });

  async function runTask(hookPath: string, cmd = 'echo done; exit 3'): Promise<string> {
    const r = await h.cli(['run', '-e', 'local', '--callback', `${receiver.url}${hookPath}`, '-c', cmd]);
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  }
  async function webhookState(id: string): Promise<{ state: string; attempts: number }[]> {
    return (
      JSON.parse((await h.cli(['status', id, '--json'])).stdout) as { webhooks: { state: string; attempts: number }[] }
    ).webhooks;
  }
  const verify = (r: ReceivedRequest, body = r.body) =>
    new Webhook(SECRET).verify(body, {
      'webhook-id': String(r.headers['webhook-id']),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    });

  it('POSTs the completion record signed the Standard Webhooks way, verified by svix', async () => {
    const id = await runTask('/ok');
    const [request] = await eventually(
      async () => (receiver.to('/ok').length ? receiver.to('/ok') : undefined),
      'the webhook',
    );
    const payload = verify(request!) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual([
      'task_id',
      'status',
      'exit_code',
      'completed_at',
      'executor',
      'task_type',
      'duration_ms',
      'name',
      'error',
      'signal',
      'attempt',
    ]);
    expect(payload).toMatchObject({
      task_id: id,
      status: 'failed',
      exit_code: 3,
      executor: 'local',
      task_type: 'shell_command',
      attempt: 1,
    });
    expect(payload.duration_ms).toEqual(expect.any(Number));
    const tampered = request!.body.replace('"exit_code":3', '"exit_code":0');
    expect(tampered).not.toBe(request!.body);
    expect(() => verify(request!, tampered)).toThrow();
    await eventually(
      async () => ((await webhookState(id))[0]?.state === 'delivered' ? true : undefined),
      'delivered state',
    );
    expect((await h.cli(['status', id])).stdout).toMatch(
      /Webhook: {2}http:\/\/127\.0\.0\.1:\d+ delivered after 1 attempt/,
    );
    const record = JSON.parse(
      readFileSync(path.join(h.home, '.openclaw-agent', 'completions', `${id}.json`), 'utf8'),
    ) as Record<string, unknown>;
    expect(record).toEqual({
      task_id: id,
      status: 'failure',
      exit_code: 3,
      completed_at: payload.completed_at,
      executor: 'local',
    });
  });

  it('refuses a callback URL on a port fetch refuses, naming the port, and enqueues nothing', async () => {
    const before = await h.redis().zcard(`${h.prefix}:_index:created`);
    const r = await h.cli(['run', '-e', 'local', '--callback', 'http://127.0.0.1:1/h', '--', 'true']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'openclaw-agent: `--callback`: fetch refuses to connect to port 1 (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port\n',
    );
    expect(await h.redis().zcard(`${h.prefix}:_index:created`)).toBe(before);
  });

  it('retries a 500 and delivers once, every attempt with the same webhook-id', async () => {
    receiver.script('/flaky', [500, 200]);
    const id = await runTask('/flaky', 'true');
    await eventually(
      async () => ((await webhookState(id))[0]?.state === 'delivered' ? true : undefined),
      'delivered state',
    );
    const requests = receiver.to('/flaky');
    expect(requests.map((r) => r.answered)).toEqual([500, 200]);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of requests) expect(verify(r)).toMatchObject({ task_id: id, status: 'completed' });
    expect((await webhookState(id))[0]).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('announces a task cancelled before it started', async () => {
    const r = await h.cli(['run', '-e', 'idle', '--callback', `${receiver.url}/cancelled`, '-c', 'echo never']);
    const id = r.stdout.trim();
    expect((await h.cli(['kill', id])).stdout).toContain('cancelled');
    await eventually(
      async () => (receiver.to('/cancelled').length ? true : undefined),
      'the webhook of the cancelled task',
    );
    expect(verify(receiver.to('/cancelled')[0]!)).toMatchObject({
      task_id: id,
      status: 'cancelled',
      exit_code: null,
      error: 'cancelled before it started',
    });
  });

  it('stops at 410 Gone', async () => {
    receiver.script('/gone', [410]);
    const id = await runTask('/gone');
    await eventually(async () => ((await webhookState(id))[0]?.state === 'gone' ? true : undefined), 'gone state');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(receiver.to('/gone')).toHaveLength(1);
  });

  it('does not follow redirects, and gives up after the retry schedule', async () => {
    receiver.script('/moved', [302]);
    const id = await runTask('/moved');
    await eventually(async () => ((await webhookState(id))[0]?.state === 'failed' ? true : undefined), 'failed state');
    expect(receiver.to('/moved')).toHaveLength(4);
    expect(receiver.to('/redirected')).toHaveLength(0);
  });

  it('still delivers when the worker is SIGKILLed right after the task ended, before relaying', async () => {
    await stopProcess(worker);
    // The preload SIGKILLs the worker as it writes the task's completion record, before it relays.
    const doomed = await h.startWorker('local', {
      NODE_OPTIONS: `--require ${path.join(FIXTURES, 'die-after-task-end.cjs')}`,
    });
    const exited = new Promise<number | null>((resolve) =>
      doomed.once('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? 137 : _code)),
    );
    const id = await runTask('/after-crash', 'echo finishing');
    expect(await exited).toBe(137);
    expect(receiver.to('/after-crash')).toHaveLength(0);
    worker = await h.startWorker();
    await eventually(
      async () => (receiver.to('/after-crash').length ? true : undefined),
      'the webhook after the crash',
    );
    expect(verify(receiver.to('/after-crash')[0]!)).toMatchObject({ task_id: id, status: 'completed' });
  });
});
