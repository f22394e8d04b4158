import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import type { CliResult, Harness } from '../helpers/harness.js';
import { expectOneLine, STACK_FRAME } from './fuzz-support.js';

export interface Tally {
  refused: number;
  accepted: number;
}

const connections = new WeakMap<Harness, Redis>();

// One connection per harness for all the checks (the harness closes it in cleanup).
function redisOf(h: Harness): Redis {
  let redis = connections.get(h);
  if (!redis) connections.set(h, (redis = h.redis()));
  return redis;
}

/** Every key of the prefix with its type and size: a rejected command must leave this unchanged. */
async function snapshotKeys(h: Harness): Promise<Map<string, string>> {
  const redis = redisOf(h);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${h.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const types = await Promise.all(keys.map((key) => redis.type(key)));
  const sizes = await Promise.all(
    keys.map((key, i) => {
      switch (types[i]) {
        case 'zset':
          return redis.zcard(key);
        case 'list':
          return redis.llen(key);
        case 'set':
          return redis.scard(key);
        case 'hash':
          return redis.hlen(key);
        case 'stream':
          return redis.xlen(key);
        default:
          return Promise.resolve(0);
      }
    }),
  );
  return new Map(keys.map((key, i) => [key, `${types[i]}:${sizes[i]}`]));
}

async function dropKeysNotIn(h: Harness, before: Map<string, string>): Promise<void> {
  const after = await snapshotKeys(h);
  const added = [...after.keys()].filter((key) => !before.has(key));
  if (added.length > 0) await redisOf(h).del(...added);
}

/**
 * The contract for one CLI run: no crash; a rejection exits non-zero with exactly one stderr line,
 * nothing on stdout and nothing written to Redis; no run prints a stack trace.
 */
export async function checkRun(
  h: Harness,
  argv: string[],
  run: (argv: string[]) => Promise<CliResult>,
  tally: Tally,
): Promise<void> {
  const before = await snapshotKeys(h);
  const r = await run(argv);
  expect(r.stderr + r.stdout, 'a stack trace was printed').not.toMatch(STACK_FRAME);
  if (r.exitCode === 0) {
    tally.accepted++;
    await dropKeysNotIn(h, before);
    return;
  }
  tally.refused++;
  expect(r.exitCode, r.stderr).toBeGreaterThan(0);
  // `wait --timeout` running out and `kill` of a task nobody follows are answers, not rejections.
  if (r.exitCode === 124) return;
  expect(r.stderr.endsWith('\n'), JSON.stringify(r.stderr)).toBe(true);
  expectOneLine(r.stderr.slice(0, -1), `stderr of ${JSON.stringify(argv)}`);
  expect(r.stderr.startsWith('openclaw-agent: '), r.stderr).toBe(true);
  expect(r.stdout, `stdout of a refused ${JSON.stringify(argv)}`).toBe('');
  expect(await snapshotKeys(h), `Redis changed by a refused ${JSON.stringify(argv)}`).toEqual(before);
}
