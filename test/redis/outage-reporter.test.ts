import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  isOutageError,
  redisAddress,
  reminderDueMs,
  RedisOutageReporter,
  type OutageClock,
} from '../../src/redis/outage-reporter.js';
import type { LogFields, LogSink } from '../../src/text/process-log.js';

// A clock moved by hand: timers fire in order of their due time when it passes them.
function manualClock(start = Date.UTC(2026, 11, 6, 12, 0, 0)): OutageClock & { advanceTo(ms: number): void } {
  let now = start;
  const timers = new Map<number, { due: number; fn: () => void }>();
  let next = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(++next, { due: now + ms, fn });
      return next;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advanceTo(ms) {
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.due <= start + ms).sort((a, b) => a[1].due - b[1].due)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].due;
        due[1].fn();
      }
      now = start + ms;
    },
  };
}

interface Said {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields?: LogFields;
}

function recordingSink(): LogSink & { said: Said[] } {
  const said: Said[] = [];
  return {
    said,
    info: (msg, fields) => said.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => said.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => said.push({ level: 'error', msg, fields }),
  };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('RedisOutageReporter', () => {
  it('reminds at 30 s, 1 m, 2 m, 4 m, 8 m, 15 m and then every 15 minutes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(reminderDueMs)).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 1_800_000, 2_700_000,
    ]);
  });

  it('says one line when Redis goes, a reminder on the schedule while it stays away, and one when it is back', () => {
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis://:s3cret@127.0.0.1:6390/0', log, clock });
    // Every connection and BullMQ object of a process repeats the error on each reconnect attempt.
    for (let second = 0; second < 600; second++) {
      clock.advanceTo(second * 1000);
      reporter.report('worker', refused());
      reporter.report('callbacks queue', new Error('Connection is closed.'));
    }
    clock.advanceTo(600_000);
    reporter.reachable();

    expect(log.said.map((s) => [s.level, s.fields?.event, s.fields?.down_for_ms])).toEqual([
      ['error', 'redis_down', undefined],
      ['warn', 'redis_still_down', 30_000],
      ['warn', 'redis_still_down', 60_000],
      ['warn', 'redis_still_down', 120_000],
      ['warn', 'redis_still_down', 240_000],
      ['warn', 'redis_still_down', 480_000],
      ['info', 'redis_back', 600_000],
    ]);
    expect(log.said[0]!.msg).toBe(
      'Redis at 127.0.0.1:6390 is unreachable (ECONNREFUSED) since 2026-12-06T12:00:00.000Z; retrying in the background',
    );
    expect(log.said[0]!.fields).toMatchObject({ redis: '127.0.0.1:6390', code: 'ECONNREFUSED' });
    expect(log.said.at(-1)!.msg).toBe('Redis at 127.0.0.1:6390 is back after 10m00s');
    expect(JSON.stringify(log.said)).not.toContain('s3cret');
    expect(reporter.downSince).toBeUndefined();
  });

  it('counts the outage from the moment a connection closed, and stops reminding once Redis is back', () => {
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log, clock });
    const connection = new EventEmitter();
    reporter.watch(connection);
    connection.emit('close');
    clock.advanceTo(2_000);
    connection.emit('error', refused());
    expect(reporter.downSince).toBe(clock.now() - 2_000);
    clock.advanceTo(20_000);
    connection.emit('ready');
    clock.advanceTo(3_600_000);
    expect(log.said.map((s) => [s.fields?.event, s.fields?.down_for_ms])).toEqual([
      ['redis_down', undefined],
      ['redis_back', 20_000],
    ]);
  });

  it('takes late connection errors just after Redis is back as the echo, and a later outage as a new one', () => {
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log, clock });
    reporter.report('worker', refused());
    clock.advanceTo(5_000);
    reporter.reachable();
    clock.advanceTo(6_000);
    reporter.report('schedule ticks', new Error('Connection is closed.'));
    clock.advanceTo(60_000);
    reporter.report('worker', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    expect(log.said.map((s) => [s.fields?.event, s.fields?.code])).toEqual([
      ['redis_down', 'ECONNREFUSED'],
      ['redis_back', undefined],
      ['redis_down', 'ETIMEDOUT'],
    ]);
  });

  it('takes connection errors while a watched connection is ready as echoes, not as an outage', () => {
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log, clock });
    const connection = Object.assign(new EventEmitter(), { status: 'ready' });
    reporter.watch(connection);
    clock.advanceTo(60_000);
    reporter.report('worker', new Error('Connection is closed.'));
    expect(log.said).toEqual([]);
    connection.status = 'reconnecting';
    reporter.report('worker', refused());
    expect(log.said.map((s) => s.fields?.event)).toEqual(['redis_down']);
  });

  it('does not take a ready Redis Cluster client as proof that Redis answers: it stays ready while a master is gone', () => {
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001', log, clock });
    reporter.watch(Object.assign(new EventEmitter(), { status: 'ready', isCluster: true }));
    clock.advanceTo(60_000);
    reporter.report('worker', refused());
    expect(log.said.map((s) => s.fields?.event)).toEqual(['redis_down']);
  });

  it('says other errors in one line each, repeats at most once a minute with a count, and a stack only when verbose', () => {
    const clock = manualClock();
    const quiet = recordingSink();
    const verbose = recordingSink();
    const reporters = [
      new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log: quiet, clock }),
      new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log: verbose, clock, verbose: true }),
    ];
    for (let second = 0; second <= 61; second++) {
      clock.advanceTo(second * 1000);
      for (const reporter of reporters) reporter.report('worker', new Error('ERR unknown command'));
    }
    expect(quiet.said.map((s) => s.msg)).toEqual([
      'worker: ERR unknown command',
      'worker: ERR unknown command (59 more like it in the last 1m00s)',
    ]);
    expect(quiet.said.every((s) => s.fields?.stack === undefined)).toBe(true);
    expect(verbose.said[0]!.fields?.stack).toMatch(/^Error: ERR unknown command\n\s+at /);
  });

  it('knows an outage by its errors, not by any error', () => {
    expect(isOutageError(refused())).toBe(true);
    expect(isOutageError(new Error('NOAUTH Authentication required.'))).toBe(true);
    expect(isOutageError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isOutageError(new Error('ERR unknown command'))).toBe(false);
    expect(isOutageError(new Error('Missing lock for job 1. moveToFinished'))).toBe(false);
  });

  it("takes a connection's socket timeout for the outage: its cause at the start, silence during one", () => {
    // ioredis's socketTimeout (20 s on long-lived connections); its timer, set before Redis went,
    // can fire in the middle of the outage, on the socket of a reconnect attempt.
    const timeout = () => new Error("Socket timeout. Expecting data, but didn't receive any in 20000ms.");
    expect(isOutageError(timeout())).toBe(true);
    const clock = manualClock();
    const log = recordingSink();
    const reporter = new RedisOutageReporter({ url: 'redis://127.0.0.1:6390', log, clock });
    reporter.report('worker', refused());
    clock.advanceTo(19_000);
    reporter.report('callbacks worker', timeout());
    reporter.report('worker', timeout());
    clock.advanceTo(20_000);
    reporter.reachable();
    // A connection whose peer went silent: the timeout is the first sign.
    clock.advanceTo(120_000);
    reporter.report('worker', timeout());
    expect(log.said.map((s) => [s.fields?.event, s.fields?.code])).toEqual([
      ['redis_down', 'ECONNREFUSED'],
      ['redis_back', undefined],
      ['redis_down', 'socket timeout'],
    ]);
  });

  it('names the address without credentials', () => {
    expect(redisAddress('redis://:pw@10.0.0.5:6380/2')).toBe('10.0.0.5:6380');
    expect(redisAddress('rediss://user:pw@redis.example:6380')).toBe('redis.example:6380');
    expect(redisAddress('redis+sentinel://:pw@s1:26379,s2:26379/mymaster')).toBe('s1:26379,s2:26379');
    // ioredis takes `p@ss` here as the password: none of it is an address.
    expect(redisAddress('redis://:p@ss@127.0.0.1:6379/0')).toBe('127.0.0.1:6379');
    expect(redisAddress('redis://u:a/b@c@10.0.0.7:6379')).toBe('10.0.0.7:6379');
    expect(redisAddress('redis://127.0.0.1:6379')).toBe('127.0.0.1:6379');
  });
});
