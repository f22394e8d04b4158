import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildShellPayload, TaskClient } from '../../src/index.js';
import { startWorkerHint } from '../../src/tasks/worker-roster.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// How the warning of a dispatch nobody serves says to start a worker. With a Redis the user named
// (REDIS_URL, redis.url) a plain `up` would start a private Redis of its own and leave the task
// queued: only `up --redis-url` serves it, and a URL is shown only when it can hold no password.

const SECRET = 'hunter2S3cret';
const WORKER = 'start one with `openclaw-agent worker --executor crib`';

describe('startWorkerHint', () => {
  it('offers a plain `up` when the user named no Redis (the private stack, or the default address)', () => {
    expect(startWorkerHint('crib')).toBe(`${WORKER} (or \`openclaw-agent up\`)`);
  });

  it('offers `up --redis-url` with the named Redis when its URL holds no password', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://redis.internal:6380/2', 'redis+cluster://a:7000,b:7001']) {
      expect(startWorkerHint('crib', url), url).toBe(`${WORKER} (or \`openclaw-agent up --redis-url ${url}\`)`);
    }
  });

  it('names only `worker` when the URL may hold a password or would need quoting: never a password, never a plain `up`', () => {
    for (const url of [
      `redis://:${SECRET}@127.0.0.1:6379`,
      `redis://default:${SECRET}@127.0.0.1:6379/0`,
      `rediss://user:${SECRET}@redis.internal:6380`,
      `redis://user@127.0.0.1:6379`,
      `redis://127.0.0.1:6379?password=${SECRET}`,
      `redis+sentinel://:${SECRET}@s1:26379,s2:26379/mymaster`,
      'redis://[::1]:6379',
      'redis://127.0.0.1:6379/0;touch x',
      '127.0.0.1:6379',
    ]) {
      expect(startWorkerHint('crib', url), url).toBe(WORKER);
    }
  });
});

describe('the warning of a dispatch nobody serves, through the client', () => {
  let h: Harness;
  let client: TaskClient;
  let savedRedisUrl: string | undefined;

  beforeAll(async () => {
    h = createHarness({ extraExecutors: '  - name: crib\n    type: local\n' });
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });
  // The named Redis is read from REDIS_URL first: each case sets it as it needs.
  beforeEach(() => {
    savedRedisUrl = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
  });
  afterEach(() => {
    if (savedRedisUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = savedRedisUrl;
  });

  // A client over the same connection whose config names `url` as its Redis.
  const namingRedis = (url: string | undefined) =>
    new TaskClient({ ...client.config, redis: { ...client.config.redis, url } }, client.redis);

  // The enqueue warning and the queued task's `waitingFor`, for a task to `crib` (no worker serves it).
  async function hintsOf(via: TaskClient): Promise<[string | undefined, string | undefined]> {
    const { id, warning } = await via.enqueue({ executor: 'crib', payload: buildShellPayload({ cmd: 'true' }) });
    return [warning, (await via.get(id)).waitingFor];
  }

  it('with redis.url holding a password: `worker` only, the password nowhere', async () => {
    for (const hint of await hintsOf(namingRedis(`redis://:${SECRET}@127.0.0.1:6379`))) {
      expect(hint?.endsWith(WORKER), hint).toBe(true);
      expect(hint).not.toContain(SECRET);
      expect(hint).not.toContain('openclaw-agent up');
    }
  });

  it('with REDIS_URL naming a Redis without a password: `up --redis-url` with it, over redis.url', async () => {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    for (const hint of await hintsOf(namingRedis(`redis://:${SECRET}@redis.internal:6379`))) {
      expect(hint).toContain(`${WORKER} (or \`openclaw-agent up --redis-url redis://127.0.0.1:6379\`)`);
      expect(hint).not.toContain(SECRET);
    }
  });

  it('with REDIS_URL holding a password over a plain redis.url: `worker` only', async () => {
    process.env.REDIS_URL = `redis://:${SECRET}@127.0.0.1:6379`;
    for (const hint of await hintsOf(namingRedis('redis://127.0.0.1:6379'))) {
      expect(hint?.endsWith(WORKER), hint).toBe(true);
      expect(hint).not.toContain(SECRET);
    }
  });

  it('with redis.url `private`, or none: a plain `up`', async () => {
    for (const url of ['private', undefined]) {
      for (const hint of await hintsOf(namingRedis(url))) {
        expect(hint, String(url)).toContain(`${WORKER} (or \`openclaw-agent up\`)`);
      }
    }
  });
});
