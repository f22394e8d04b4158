import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, TaskKeys, type LoadedConfig } from '../../src/index.js';
import {
  OUTBOX_DEAD_LETTERS_KEPT,
  outboxDeadLetterKey,
  relayOutbox,
  type WebhookJob,
} from '../../src/notify/outbox-relay.js';
import { deleteKeys } from '../helpers/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { taskEndEvent } from '../helpers/task-end-event.js';

const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
const keys = new TaskKeys(prefix);
const config: LoadedConfig = {
  ...parseConfigText(`redis:\n  prefix: ${prefix}\nnotifiers:\n  desk:\n    type: command\n    argv: ["true"]\n`, 't'),
  sourcePath: undefined,
};
const HOOK = 'http://127.0.0.1:2/hook';

let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  queue = new Queue('callbacks', { connection: redis, prefix });
});
afterEach(async () => {
  await deleteKeys(redis, `${prefix}:*`);
});
afterAll(async () => {
  await queue.close();
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

// An ended task's record (deliveries are recorded only on a record that exists) and its outbox entry.
async function endedTask(fields: Record<string, unknown> = {}): Promise<{ id: string; raw: string }> {
  const id = randomUUID();
  await redis.hset(keys.record(id), 'id', id);
  return { id, raw: JSON.stringify({ task_id: id, urls: [HOOK], body: { task_id: id }, notify: [], ...fields }) };
}

// Relays the outbox once, keeping the lines it logs.
async function relay(): Promise<{ relayed: number; lines: string[] }> {
  const lines: string[] = [];
  const relayed = await relayOutbox(redis, keys, queue, config, (line) => lines.push(line));
  return { relayed, lines };
}

const webhookState = async (id: string) => JSON.parse((await redis.hget(keys.record(id), 'wh:0')) ?? 'null') as unknown;

describe('relayOutbox', () => {
  it('queues each entry once and empties the outbox', async () => {
    const { id, raw } = await endedTask();
    await redis.rpush(keys.outbox(), raw);

    expect((await relay()).relayed).toBe(1);
    expect(await redis.llen(keys.outbox())).toBe(0);
    expect((await queue.getJob(`${id}-cb0`))?.data as WebhookJob).toMatchObject({ task_id: id, url: HOOK });
    expect(await webhookState(id)).toEqual({ url: HOOK, state: 'pending', attempts: 0 });
  });

  it('moves an entry whose task id is not a UUID to the dead letters in one line, and queues the entries behind it', async () => {
    const bad = JSON.stringify({ task_id: 'abc:def', urls: [HOOK], body: {}, notify: [] });
    const good = await endedTask();
    await redis.rpush(keys.outbox(), bad, good.raw);

    const { lines } = await relay();

    expect(await redis.llen(keys.outbox())).toBe(0);
    expect(await queue.getJob(`${good.id}-cb0`)).toBeDefined();
    expect(await webhookState(good.id)).toEqual({ url: HOOK, state: 'pending', attempts: 0 });
    const dead = await redis.lrange(outboxDeadLetterKey(keys), 0, -1);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!)).toMatchObject({ entry: bad, error: expect.stringMatching(/task_id.*UUID/) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/abc:def/);
    expect(lines[0]).toContain(outboxDeadLetterKey(keys));
    expect(lines[0]).not.toContain('\n');
  });

  it('moves an entry the queue refuses to the dead letters, and a later pass does not meet it again', async () => {
    const refused = await endedTask({ notify: ['desk:2'], event: taskEndEvent() });
    const good = await endedTask();
    await redis.rpush(keys.outbox(), refused.raw, good.raw);

    const first = await relay();
    const second = await relay();

    expect(await queue.getJob(`${good.id}-cb0`)).toBeDefined();
    const dead = await redis.lrange(outboxDeadLetterKey(keys), 0, -1);
    expect(dead.map((text) => (JSON.parse(text) as { entry: string }).entry)).toEqual([refused.raw]);
    expect(JSON.parse(dead[0]!)).toMatchObject({ error: expect.stringContaining('Custom Id cannot contain :') });
    const notifier = JSON.parse((await redis.hget(keys.record(refused.id), 'nt:desk:2')) ?? 'null') as unknown;
    expect(notifier).toMatchObject({ state: 'failed', error: expect.stringContaining('Custom Id cannot contain :') });
    expect(first.lines).toHaveLength(1);
    expect(first.lines[0]).toContain(refused.id);
    expect(second).toEqual({ relayed: 0, lines: [] });
  });

  it('moves an entry that is not JSON to the dead letters instead of dropping it unsaid', async () => {
    await redis.rpush(keys.legacyOutbox(), '{"task_id": ');

    const { lines } = await relay();

    expect(await redis.llen(keys.legacyOutbox())).toBe(0);
    expect(await redis.lrange(outboxDeadLetterKey(keys), 0, -1)).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/not JSON/);
  });

  it('keeps only the newest dead letters, as many as OUTBOX_DEAD_LETTERS_KEPT', async () => {
    const entries = Array.from({ length: OUTBOX_DEAD_LETTERS_KEPT + 5 }, (_, n) => `not json ${n}`);
    await redis.rpush(keys.outbox(), ...entries);

    await relay();

    const dead = await redis.lrange(outboxDeadLetterKey(keys), 0, -1);
    expect(dead).toHaveLength(OUTBOX_DEAD_LETTERS_KEPT);
    expect((JSON.parse(dead[0]!) as { entry: string }).entry).toBe(entries.at(-1));
    expect(dead.map((text) => (JSON.parse(text) as { entry: string }).entry)).not.toContain(entries[4]);
  });
});

describe('relayOutbox and an error Redis answers', () => {
  let server: RedisServer;
  let own: Redis;
  let ownQueue: Queue;

  beforeAll(async () => {
    server = await startRedisServer();
    own = new Redis(server.url);
    ownQueue = new Queue('callbacks', { connection: own, prefix });
  });
  afterAll(async () => {
    await ownQueue?.close();
    own?.disconnect();
    await server?.destroy();
  });

  it('keeps the entry for the next pass while Redis refuses writes (out of memory), and relays it once it takes them', async () => {
    const id = randomUUID();
    await own.hset(keys.record(id), 'id', id);
    const raw = JSON.stringify({ task_id: id, urls: [HOOK], body: { task_id: id }, notify: [] });
    await own.rpush(keys.outbox(), raw);
    // A Redis at its memory limit refuses every write with an OOM reply, for as long as it lasts.
    await own.config('SET', 'maxmemory-policy', 'noeviction');
    await own.config('SET', 'maxmemory', '1');
    const lines: string[] = [];
    const failed = await relayOutbox(own, keys, ownQueue, config, (line) => lines.push(line)).catch(
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ name: 'ReplyError', message: expect.stringMatching(/^OOM /) });
    await own.config('SET', 'maxmemory', '0');
    expect(await own.lrange(keys.outbox(), 0, -1)).toEqual([raw]);
    expect(await own.exists(outboxDeadLetterKey(keys))).toBe(0);
    expect(lines).toEqual([]);
    expect(await relayOutbox(own, keys, ownQueue, config)).toBe(1);
    expect(await ownQueue.getJob(`${id}-cb0`)).toBeDefined();
    expect(await own.llen(keys.outbox())).toBe(0);
  });
});
