import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSentinelUrl, redactRedisUrl } from '../../src/index.js';
import { createHarness, deleteKeys, type Harness } from '../helpers/harness.js';
import { startSentinelGroup, type SentinelGroup } from '../helpers/redis-sentinel.js';

describe('redis+sentinel:// URLs', () => {
  it('name the Sentinels, the master group and the master password, which messages hide', () => {
    const url = 'redis+sentinel://app:s3cret@10.0.0.1:26379,[::1],sentinel-c:26380/prod-master/2';
    expect(parseSentinelUrl(url)).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26379 },
        { host: 'sentinel-c', port: 26380 },
      ],
      master: 'prod-master',
      username: 'app',
      password: 's3cret',
      db: 2,
    });
    expect(redactRedisUrl(url)).toBe('redis+sentinel://app:***@10.0.0.1:26379,[::1],sentinel-c:26380/prod-master/2');
    expect(() => parseSentinelUrl('redis+sentinel://:pw@10.0.0.1:26379')).toThrow(
      /^invalid Sentinel URL redis\+sentinel:\/\/:\*\*\*@10\.0\.0\.1:26379: expected .*\/master-name$/,
    );
  });
});

describe('Redis Sentinel: tasks run through the Sentinels and survive a failover', () => {
  let group: SentinelGroup;
  let h: Harness;

  beforeAll(async () => {
    group = await startSentinelGroup();
    h = createHarness();
    h.env.REDIS_URL = group.url;
    h.env.OPENCLAW_AGENT_SENTINEL_PASSWORD = group.sentinelPassword;
  });

  afterAll(async () => {
    // The harness deletes the prefix's keys through REDIS_URL: point it at whichever server is master now.
    process.env.REDIS_URL = (await group.currentMaster().catch(() => undefined))?.url ?? 'redis://127.0.0.1:1';
    await h?.cleanup();
    delete process.env.REDIS_URL;
    await group?.destroy();
  });

  it('after kill -9 of the master, the same worker runs new tasks and the CLI reaches the new master', async () => {
    const worker: ChildProcess = await h.startWorker();
    const before = await h.cli(['run', '--follow', '--', 'echo', 'before the failover']);
    expect(before).toMatchObject({ exitCode: 0, stdout: 'before the failover\n' });
    const beforeId = /task ([0-9a-f-]{36})/.exec(before.stderr)![1]!;

    const master = await group.currentMaster();
    // Replication is asynchronous: make sure the replica has everything so far, then crash the master.
    const direct = new Redis(master.url);
    try {
      expect(await direct.call('WAIT', '1', '10000')).toBe(1);
    } finally {
      direct.disconnect();
    }
    const switched = await group.nextSwitch();
    await master.stop('SIGKILL');
    const newPort = await switched();
    expect(newPort).not.toBe(master.port);
    expect((await group.currentMaster()).port).toBe(newPort);

    // A fresh CLI asks the Sentinels and finds the task on the new master.
    const status = await h.cli(['status', beforeId, '--json']);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'completed' });

    // The worker that was connected to the old master reconnects through the Sentinels and keeps working.
    for (const n of [1, 2, 3]) {
      const after = await h.cli(['run', '--follow', '--', 'echo', `after the failover ${n}`]);
      expect(after).toMatchObject({ exitCode: 0, stdout: `after the failover ${n}\n` });
    }
    expect(worker.exitCode).toBeNull();
    const listed = await h.cli(['list', '--jsonl']);
    expect(
      listed.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { status: string }).status),
    ).toEqual(['completed', 'completed', 'completed', 'completed']);
  });

  it('unreachable Sentinels, an unknown master or a wrong Sentinel password are one line and exit 4', async () => {
    const closedPort = group.sentinelPorts.map((p) => p + 7919).find((p) => !group.sentinelPorts.includes(p))!;
    const cases: [Record<string, string>, string, RegExp][] = [
      [
        { REDIS_URL: `redis+sentinel://:${group.password}@127.0.0.1:${closedPort}/${group.master}` },
        'unreachable',
        /no Sentinel named a master: (Connection is closed|.*ECONNREFUSED)/,
      ],
      [
        { REDIS_URL: group.url.replace(`/${group.master}`, '/no-such-master') },
        'unknown master',
        /no Sentinel named a master: ERR No such master with that name/,
      ],
      [
        { OPENCLAW_AGENT_SENTINEL_PASSWORD: 'wrong' },
        'wrong sentinel password',
        /no Sentinel named a master: WRONGPASS/,
      ],
    ];
    for (const [env, what, cause] of cases) {
      const r = await h.cli(['list'], { env });
      expect(r.exitCode, what).toBe(4);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr, what).toMatch(
        /^openclaw-agent: cannot reach Redis through the Sentinels at redis\+sentinel:\/\/:\*\*\*@127\.0\.0\.1:\d+.* \(.+\) — check the Sentinel addresses and the master name in the URL, and \$OPENCLAW_AGENT_SENTINEL_PASSWORD if the Sentinels need a password\n$/,
      );
      expect(r.stderr, what).toMatch(cause);
      expect(r.stderr).not.toContain(group.password);
    }
    // The master's own password, wrong in the URL: the master refuses it, the Sentinels are fine.
    const wrongMaster = await h.cli(['list'], {
      env: { REDIS_URL: group.url.replace(`:${group.password}@`, ':not-it@') },
    });
    expect(wrongMaster).toMatchObject({ exitCode: 4, stdout: '' });
    expect(wrongMaster.stderr).toMatch(
      /^openclaw-agent: Redis refused the credentials of the default user at redis\+sentinel:\/\/:\*\*\*@.* \(WRONGPASS\) — check the user name and password in REDIS_URL or redis\.url\n$/,
    );
  });
});

// CRC16/XMODEM, as Redis Cluster hashes keys (of the `{hash tag}` when the key has one).
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('a hash-tagged prefix for Redis Cluster', () => {
  let h: Harness;
  let tagged: string;

  beforeAll(() => {
    h = createHarness();
    tagged = `{${h.prefix}}`;
    writeFileSync(
      h.configPath,
      readFileSync(h.configPath, 'utf8').replace(`prefix: ${h.prefix}`, `prefix: "${tagged}"`),
    );
  });

  afterAll(async () => {
    // The worker first: stopping, it withdraws from the executor's presence keys.
    await h.cleanup();
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await deleteKeys(redis, `${tagged}:*`);
    redis.disconnect();
  });

  it('puts every key of the deployment in one slot', async () => {
    await h.startWorker();
    const r = await h.cli(['run', '--follow', '--', 'echo', 'one slot']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'one slot\n' });
    expect((await h.cli(['list', '--jsonl'])).stdout).toContain('"status":"completed"');

    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `*${h.prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      // Queue keys, the task record, its log, the indexes: all under the tag, all in its slot.
      expect(keys.length).toBeGreaterThan(5);
      for (const key of keys) expect(key.startsWith(`${tagged}:`), key).toBe(true);
      expect(new Set(keys.map(keySlot))).toEqual(new Set([keySlot(tagged)]));
    } finally {
      redis.disconnect();
    }
  });

  it('a prefix with a brace that is not one {tag} is a config error', async () => {
    writeFileSync(
      `${h.configPath}.bad`,
      readFileSync(h.configPath, 'utf8').replace(`prefix: "${tagged}"`, 'prefix: "a{b"'),
    );
    const r = await h.cli(['list'], { env: { OPENCLAW_AGENT_CONFIG: `${h.configPath}.bad` } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^openclaw-agent: config error in .* line \d+: `redis\.prefix`: use letters, digits, "-", "_", "\." and at most one \{hash-tag\}, got `a\{b`\n$/,
    );
  });
});
