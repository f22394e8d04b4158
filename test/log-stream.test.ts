import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LogWriter, OwnershipLostError, readLog, readLogTail, TaskKeys } from '../src/index.js';
import { deleteKeys } from './helpers/harness.js';

describe('log streams', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  afterAll(async () => {
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
  });

  const text = async (id: string) => (await readLog(redis, keys, id)).map((e) => (e.kind === 'output' ? e.text : '')).join('');

  it('refuses a second writer whose checkpoint is stale, so no byte is shipped twice', async () => {
    const id = randomUUID();
    const first = new LogWriter(redis, keys, id, 1000);
    const second = new LogWriter(redis, keys, id, 1000);
    await first.append([{ stream: 'stdout', text: 'hello\n' }], { stdout: '6' });
    await expect(second.append([{ stream: 'stdout', text: 'hello\n' }], { stdout: '6' })).rejects.toBeInstanceOf(OwnershipLostError);
    await first.append([{ stream: 'stdout', text: Buffer.from('wörld\n') }], { stdout: '13' });
    expect(await text(id)).toBe('hello\nwörld\n');
    expect(await redis.hget(keys.record(id), 'c:stdout')).toBe('13');
    // A writer that starts from the recorded checkpoint (a re-attach) goes on where it stopped.
    const resumed = new LogWriter(redis, keys, id, 1000, { stdout: '13' });
    await resumed.append([{ stream: 'stderr', text: 'late\n' }], { stdout: '13', stderr: '5' });
    expect(await text(id)).toBe('hello\nwörld\nlate\n');
  });

  it('tails the last N lines across entries and streams, and reports the newest id', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, 1000);
    await writer.append([{ stream: 'stdout', text: 'a\nb\nc' }]);
    await writer.append([{ stream: 'stderr', text: 'd\ne\n' }]);
    await writer.append([{ stream: 'stdout', text: 'f' }]);
    const tail = await readLogTail(redis, keys, id, 3);
    // The lines are a, b, cd (stdout c then stderr d), e and f: the last three start at `c`.
    expect(tail.entries.map((e) => (e.kind === 'output' ? [e.stream, e.text] : []))).toEqual([
      ['stdout', 'c'],
      ['stderr', 'd\ne\n'],
      ['stdout', 'f'],
    ]);
    expect((await readLogTail(redis, keys, id, 4)).entries.map((e) => (e.kind === 'output' ? e.text : '')).join('')).toBe('b\ncd\ne\nf');
    const none = await readLogTail(redis, keys, id, 0);
    expect(none.entries).toEqual([]);
    const all = await readLog(redis, keys, id);
    expect(none.lastId).toBe(all.at(-1)!.id);
  });
});
