import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Webhook } from 'svix';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  parseConfigText,
  startDeliveryWorker,
  TaskKeys,
  type LoadedConfig,
  type RunningDeliveries,
} from '../../src/index.js';
import { deleteKeys, eventually } from '../helpers/harness.js';
import { testPort } from '../helpers/ports.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
const keys = new TaskKeys(prefix);
const receiver = new WebhookReceiver();

let redis: Redis;
let deliveries: RunningDeliveries | undefined;
let lines: string[] = [];

beforeAll(async () => {
  // BullMQ's workers block on their connection: no per-request retry limit.
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  await receiver.start(await testPort());
});
afterEach(async () => {
  await deliveries?.close();
  deliveries = undefined;
  lines = [];
  receiver.requests.length = 0;
  delete process.env.OPENCLAW_AGENT_WEBHOOK_SECRET;
  await deleteKeys(redis, `${prefix}:*`);
});
afterAll(async () => {
  await receiver.stop();
  redis.disconnect();
});

// The config a library caller may build by hand: a secret here has not been through the YAML's checks.
function configWith(secret: string | undefined): LoadedConfig {
  const parsed = parseConfigText(
    `redis:\n  prefix: ${prefix}\ndefaults:\n  webhook_retry_schedule: [1h]\n  webhook_timeout: 5s\n`,
    't',
  );
  return { ...parsed, defaults: { ...parsed.defaults, webhook_secret: secret }, sourcePath: undefined };
}

// Starts the deliverer and puts one ended task's webhook in the outbox; resolves once its first attempt is over.
async function deliverOne(
  config: LoadedConfig,
  url = `${receiver.url}/hook`,
): Promise<{ id: string; state: Record<string, unknown> }> {
  deliveries = await startDeliveryWorker({ config, redis, keys, onLog: (line) => lines.push(line) });
  const id = randomUUID();
  await redis.hset(keys.record(id), 'id', id);
  const entry = { task_id: id, urls: [url], body: { task_id: id, status: 'completed' } };
  await redis.rpush(keys.outbox(), JSON.stringify(entry));
  await deliveries.relay();
  const queue = deliveries.queue;
  await eventually(
    async () => ((await queue.getJob(`${id}-cb0`))?.attemptsMade ?? 0) >= 1 || undefined,
    'the first delivery attempt',
  );
  const state = JSON.parse((await redis.hget(keys.record(id), 'wh:0')) ?? '{}') as Record<string, unknown>;
  return { id, state };
}

describe('startDeliveryWorker', () => {
  it('POSTs a completion signed with the secret, and records it delivered', async () => {
    const secret = generateWebhookSecret();
    const { state } = await deliverOne(configWith(secret));

    expect(state).toMatchObject({ state: 'delivered', attempts: 1, status: 200 });
    expect(receiver.to('/hook')).toHaveLength(1);
    const [request] = receiver.to('/hook');
    const headers = Object.fromEntries(Object.entries(request!.headers).map(([k, v]) => [k, String(v)]));
    expect(new Webhook(secret).verify(request!.body, headers)).toMatchObject({ status: 'completed' });
  });

  it('records a webhook it cannot sign as failed, with the reason, says so in one line and does not retry', async () => {
    const { id, state } = await deliverOne(configWith('my-webhook-secret'));

    expect(state).toMatchObject({ state: 'failed', attempts: 1, error: expect.stringMatching(/whsec_/) });
    expect(JSON.stringify(state)).not.toContain('my-webhook-secret');
    expect(receiver.requests).toHaveLength(0);
    const told = lines.filter((line) => line.includes(id.slice(0, 8)));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/not delivered.*whsec_/);
    expect(told[0]).not.toContain('my-webhook-secret');
    expect(await deliveries!.queue.getJobState(`${id}-cb0`)).toBe('failed');
  });

  it('records a webhook to a port fetch refuses as failed at its first attempt, naming the port, and does not retry', async () => {
    // As a task of an earlier version may have it: enqueue refuses such a URL now.
    const { id, state } = await deliverOne(configWith(generateWebhookSecret()), 'http://127.0.0.1:1/h');

    const error =
      'fetch refuses to connect to port 1 (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port';
    expect(state).toMatchObject({ state: 'failed', attempts: 1, error });
    expect(lines.filter((line) => line.includes(id.slice(0, 8)))).toEqual([
      `webhook http://127.0.0.1:1/h: task ${id.slice(0, 8)} not delivered: ${error}`,
    ]);
    expect(await deliveries!.queue.getJobState(`${id}-cb0`)).toBe('failed');
  });

  it('records a webhook as failed when OPENCLAW_AGENT_WEBHOOK_SECRET is malformed, naming the variable', async () => {
    process.env.OPENCLAW_AGENT_WEBHOOK_SECRET = 'my-webhook-secret';
    const { state } = await deliverOne(configWith(generateWebhookSecret()));

    expect(state).toMatchObject({ state: 'failed', error: expect.stringContaining('OPENCLAW_AGENT_WEBHOOK_SECRET') });
    expect(JSON.stringify(state)).not.toContain('my-webhook-secret');
    expect(receiver.requests).toHaveLength(0);
  });
});
