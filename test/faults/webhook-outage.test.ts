import type { ChildProcess } from 'node:child_process';
import { Webhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEndedStatus, type TaskClient } from '../../src/index.js';
import { createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { testPort } from '../helpers/ports.js';
import { HANG, WebhookReceiver, type ReceivedRequest } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/**
 * Each phase of the outage: refusing connections, answering 503, then hanging past the timeout.
 * Twice the steady retry interval: every phase sees each task's webhook tried again.
 */
const PHASE_MS = 20_000;
const TASKS_PER_PHASE = 4;
// Short first retries, then every 10 s: about 5 minutes of retries, far more than the outage (a
// minute or more).
const RETRY_SCHEDULE = ['1s', '2s', '4s', '8s', ...Array.from({ length: 30 }, () => '10s')];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WebhookView {
  state: string;
  attempts: number;
}

describe('webhook faults: a receiver down for over a minute gets every completion once it is back', () => {
  let h: Harness;
  let port: number;
  let client: TaskClient;
  const receiver = new WebhookReceiver();

  beforeEach(async () => {
    port = await testPort();
    h = createHarness({
      extraConfig: `defaults:
  webhook_url: http://127.0.0.1:${port}/hook
  webhook_secret: ${SECRET}
  webhook_retry_schedule: [${RETRY_SCHEDULE.join(', ')}]
  webhook_timeout: 2s
`,
    });
    client = await h.client();
  });
  afterEach(async () => {
    await h.cleanup();
    await receiver.stop();
  });

  const webhookIdOf = (r: ReceivedRequest) => String(r.headers['webhook-id']);
  const verify = (r: ReceivedRequest) =>
    new Webhook(SECRET).verify(r.body, {
      'webhook-id': webhookIdOf(r),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    }) as Record<string, unknown>;

  // Runs quick tasks and waits until they have ended (their webhooks are then due).
  async function endTasks(phase: string): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 0; n < TASKS_PER_PHASE; n++) {
      const r = await h.cli(['run', '-e', 'local', '-c', `echo ${phase} ${n}; exit ${n}`]);
      expect(r.exitCode, r.stderr).toBe(0);
      ids.push(r.stdout.trim());
    }
    await eventually(
      async () => ((await client.views(ids)).every((v) => isEndedStatus(v.status)) ? true : undefined),
      `the ${phase} tasks to end`,
    );
    return ids;
  }

  async function webhookStates(ids: string[]): Promise<(WebhookView | undefined)[]> {
    return (await client.views(ids)).map((v) => v.record.webhooks[0]);
  }

  // SIGTERM, then a new worker: a restart, as a deploy does it.
  async function restartWorker(worker: ChildProcess): Promise<ChildProcess> {
    await stopProcess(worker);
    expect(worker.exitCode).toBe(0);
    return h.startWorker();
  }

  // Deliveries the receiver holds unanswered right now, with how often their job has stalled.
  async function heldDeliveries(): Promise<{ taskId: string; stalls: number }[]> {
    const held = receiver.requests.filter((r) => r.held).map((r) => String(verify(r).task_id));
    return Promise.all(
      held.map(async (taskId) => ({
        taskId,
        stalls: Number(await client.redis.hget(`${h.prefix}:callbacks:${taskId}-cb0`, 'stc')),
      })),
    );
  }

  // The task ids whose webhook the receiver has seen answered with `status`.
  function seen(status: number): Set<string> {
    return new Set(receiver.requests.filter((r) => r.answered === status).map((r) => String(verify(r).task_id)));
  }

  it('tasks that end while the receiver refuses, fails and hangs, each for 20 s or more (the worker restarted twice meanwhile) are each delivered once, signed', async () => {
    let worker: ChildProcess = await h.startWorker();

    // Refusing connections: nothing listens on the webhook's port.
    const refused = await endTasks('refused');
    await sleep(PHASE_MS);
    expect(receiver.requests).toHaveLength(0);
    for (const state of await webhookStates(refused)) {
      expect(state?.state).toBe('retrying');
      expect(state?.attempts).toBeGreaterThan(1);
    }

    // Listening again but answering 503.
    receiver.script('/hook', [503]);
    await receiver.start(port);
    const failing = await endTasks('failing');
    await sleep(PHASE_MS);
    const all = [...refused, ...failing];
    expect([...seen(503)].sort()).toEqual([...all].sort());

    // Hanging past webhook_timeout. The worker is restarted while deliveries hang, and again once a
    // delivery is retried by the new worker and hangs again. A restart lets the attempts under way
    // end at their timeout and records them: none is cut off and found stalled.
    receiver.script('/hook', [HANG]);
    const hanging = await endTasks('hanging');
    all.push(...hanging);
    const hangStart = Date.now();
    await eventually(async () => (seen(HANG).size === all.length ? true : undefined), 'a hung delivery of every task');
    await eventually(async () => ((await heldDeliveries()).length > 0 ? true : undefined), 'a delivery to hang');
    worker = await restartWorker(worker);
    const sinceRestart = receiver.requests.length;
    await eventually(
      async () => (receiver.requests.slice(sinceRestart).some((r) => r.held) ? true : undefined),
      'a delivery retried by the new worker to hang again',
    );
    expect((await heldDeliveries()).filter((d) => d.stalls > 0)).toEqual([]);
    await restartWorker(worker);
    await sleep(Math.max(0, PHASE_MS - (Date.now() - hangStart)));
    expect(receiver.requests.filter((r) => r.acknowledged)).toHaveLength(0);
    for (const state of await webhookStates(all)) expect(state?.state).toBe('retrying');

    // Back: a restarted receiver that answers 200.
    await receiver.stop();
    receiver.script('/hook', [200]);
    await receiver.start(port);
    let states: (string | undefined)[] = [];
    try {
      await eventually(
        async () =>
          (states = (await webhookStates(all)).map((s) => s?.state)).every((s) => s === 'delivered') ? true : undefined,
        'every webhook to be delivered',
        120_000,
      );
    } catch {
      const jobs = await Promise.all(
        all.map(async (id) => (await client.queue('callbacks').getJob(`${id}-cb0`))?.failedReason),
      );
      expect({ states, jobs }).toEqual({ states: all.map(() => 'delivered'), jobs: all.map(() => undefined) });
    }
    // Nothing left to deliver or retry: no later redelivery can come.
    const queue = client.queue('callbacks');
    await eventually(async () => {
      const { completed, ...pending } = await queue.getJobCounts(
        'active',
        'wait',
        'delayed',
        'prioritized',
        'completed',
      );
      return Object.values(pending).every((n) => n === 0) && completed === all.length ? true : undefined;
    }, 'the callbacks queue to settle');

    const acknowledged = receiver.requests.filter((r) => r.acknowledged);
    const ids = acknowledged.map(webhookIdOf);
    expect(ids.length - new Set(ids).size, 'duplicates of acknowledged webhook-ids').toBe(0);
    expect(acknowledged.map((r) => verify(r).task_id).sort()).toEqual([...all].sort());
    for (const r of acknowledged) {
      const payload = verify(r);
      expect(webhookIdOf(r)).toBe(`msg_${String(payload.task_id).replace(/-/g, '')}_0`);
      // Every earlier attempt carried the same id and the same signed body.
      const attempts = receiver.requests.filter((other) => webhookIdOf(other) === webhookIdOf(r));
      expect(attempts.length).toBeGreaterThan(2);
      expect(new Set(attempts.map((a) => a.body))).toEqual(new Set([r.body]));
    }
    for (const id of all) {
      const status = (await h.taskJson(id)) as { webhooks: WebhookView[] };
      expect(status.webhooks).toEqual([expect.objectContaining({ state: 'delivered' })]);
    }
    // What an operator reads, for one of each phase (a CLI process per task would cost seconds).
    for (const id of [refused[0]!, failing[0]!, hanging[0]!]) {
      expect((await h.cli(['status', id])).stdout).toMatch(
        /Webhook: {2}http:\/\/127\.0\.0\.1:\d+ delivered after \d+ attempts/,
      );
    }
  }, 300_000);
});
