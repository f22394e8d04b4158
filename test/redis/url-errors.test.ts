// A Redis URL no connection could use is one config error (exit 2) that names the problem and the
// fix and never shows the password; the URL forms that work keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, exitCodeFor } from '../../src/errors.js';
import { connectRedis } from '../../src/redis/connection.js';
import { checkRedisUrl, redactRedisUrl } from '../../src/redis/options.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const SECRET = 's3cr3tPW';

// Each bad URL, and what its one line must say.
const BAD: [url: string, says: RegExp][] = [
  [
    `redis://:${SECRET}%ZZ@127.0.0.1:6379`,
    /its password has a "%" that is not followed by two hex digits — percent-encode/,
  ],
  [`redis://u%G0:${SECRET}@127.0.0.1:6379`, /its user name has a "%"/],
  ['redis://127.0.0.1:99999', /port "99999" is not a port number \(1-65535\)/],
  ['redis://127.0.0.1:0', /port "0" is not a port number/],
  ['redis://127.0.0.1:63a9', /port "63a9" is not a port number/],
  ['http://127.0.0.1:6379', /"http:" is not a Redis scheme — use redis:\/\//],
  ['unix:///run/redis.sock', /"unix:" is not a Redis scheme/],
  ['redis:/127.0.0.1:6379', /no "\/\/" after the scheme/],
  ['redis://127.0.0.1:6379/abc', /"abc" after host:port is no database number/],
  [`redis://:${SECRET}@[::1:6379`, /its IPv6 address has no closing "\]"/],
  [`redis://:${SECRET}/x@127.0.0.1:6379`, /user name or password has a "\/", "\?" or "#" that is not percent-encoded/],
  [`redis+sentinel://:${SECRET}%zz@127.0.0.1:26379/mymaster`, /invalid Sentinel URL .*its password has a "%"/],
  [`redis+sentinel://127.0.0.1:99999/mymaster`, /invalid Sentinel URL .*port 99999 is not a port number/],
  [`redis+cluster://:${SECRET}@127.0.0.1:70000`, /invalid Redis Cluster URL .*port 70000 is not a port number/],
];

describe('checkRedisUrl', () => {
  it.each(BAD)('refuses %s in one line, as a config error, without the password', (url, says) => {
    let thrown: unknown;
    try {
      checkRedisUrl(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(thrown)).toBe(2);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^invalid (Redis|Sentinel|Redis Cluster) URL /);
    expect(message).toMatch(says);
    expect(message).toMatch(/ — \S/);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(SECRET);
  });

  it.each([
    'redis://127.0.0.1:6379',
    'redis://127.0.0.1',
    'redis://127.0.0.1:6379/',
    'redis://127.0.0.1:6379/3',
    'REDIS://127.0.0.1:6379',
    'redis://:p%40ss%25w%2Frd@127.0.0.1:6379/0',
    'redis://app:pass@127.0.0.1:6379?family=4',
    // An `@` in the query is no password's end.
    'redis://127.0.0.1:6379/0?name=ci@host',
    'redis://:p@ss@127.0.0.1:6379',
    'rediss://redis.internal:6380',
    'redis://[::1]:6379',
    '127.0.0.1:6379',
    'localhost:6379/2',
    '/run/redis/redis.sock',
    'redis+sentinel://:pw@s1:26379,s2/mymaster/1',
    'redis+cluster://:pw@n1:7000,n2:7001',
  ])('lets %s through', (url) => {
    expect(() => checkRedisUrl(url)).not.toThrow();
  });

  it('hides a password with an unencoded / or @ whole', () => {
    expect(redactRedisUrl(`redis://:${SECRET}/x@127.0.0.1:6379`)).toBe('redis://:***@127.0.0.1:6379');
    expect(redactRedisUrl(`redis://app:a@${SECRET}@127.0.0.1:6379/0`)).toBe('redis://app:***@127.0.0.1:6379/0');
  });

  it('connectRedis refuses a bad URL before connecting, as a config error', async () => {
    await expect(connectRedis('redis://127.0.0.1:99999')).rejects.toBeInstanceOf(ConfigError);
    await expect(connectRedis(`redis://:${SECRET}%ZZ@127.0.0.1:6379`, { persistent: true })).rejects.toThrow(
      /invalid Redis URL redis:\/\/:\*\*\*@127\.0\.0\.1:6379: its password/,
    );
  });
});

describe('a bad REDIS_URL on the command line', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it.each([
    [`redis://:${SECRET}%ZZ@127.0.0.1:6379`, /its password has a "%"/],
    ['redis://127.0.0.1:99999', /port "99999" is not a port number/],
    ['http://127.0.0.1:6379', /"http:" is not a Redis scheme/],
    ['redis://127.0.0.1:6379/abc', /"abc" after host:port is no database number/],
  ])('%s → exit 2 and one line naming the problem', async (url, says) => {
    const r = await h.cli(['list'], { env: { REDIS_URL: url } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^openclaw-agent: invalid Redis URL /);
    expect(lines[0]).toMatch(says);
    expect(r.stderr).not.toContain(SECRET);
  });

  it('a database the server does not have → exit 2, not "cannot reach"', async () => {
    const r = await h.cli(['list'], {
      env: { REDIS_URL: `${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}/99999` },
    });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^openclaw-agent: Redis at redis:\/\/\S+\/99999 has no such database/),
    ]);
  });
});
