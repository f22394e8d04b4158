import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandFrame } from '../../src/redis/command-frame.js';
import { deleteKeys } from '../helpers/harness.js';

describe('command frames', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `oca-test-${randomUUID().slice(0, 8)}`;
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('frames strings (UTF-8), numbers, empty words and binary buffers exactly, reusing one buffer', async () => {
    const frame = new CommandFrame();
    const binary = Buffer.from([0, 1, 13, 10, 36, 42, 0xff, 0xc3]);
    const big = Buffer.alloc(300_000, 'x');
    const cases: [string, string | Buffer | number][] = [
      ['text', 'héllo ✓ \r\n $3 *2'],
      ['binary', binary],
      ['big', big],
      ['number', 42],
      ['empty', ''],
    ];
    // Large first, then smaller: the frame is reused, and nothing of the longer one leaks through.
    for (const [name, value] of [cases[2]!, ...cases]) {
      expect(await frame.send(redis, 'set', [`${prefix}:${name}`, value])).toBe('OK');
    }
    expect(await redis.get(`${prefix}:text`)).toBe('héllo ✓ \r\n $3 *2');
    expect(await redis.getBuffer(`${prefix}:binary`)).toEqual(binary);
    expect((await redis.getBuffer(`${prefix}:big`))?.equals(big)).toBe(true);
    expect(await redis.get(`${prefix}:number`)).toBe('42');
    expect(await redis.get(`${prefix}:empty`)).toBe('');
    // Replies come as ioredis gives them; errors reject.
    expect(await frame.send(redis, 'eval', ['return {1, ARGV[1]}', 0, 'ü'])).toEqual([1, 'ü']);
    await expect(frame.send(redis, 'incr', [`${prefix}:text`])).rejects.toThrow(/not an integer/);
  });

  it('is written after a reconnect when it was sent while the connection was down', async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    try {
      await client.connect();
      const id = await client.client('ID');
      const closed = new Promise((resolve) => client.once('close', resolve));
      await redis.client('KILL', 'ID', String(id));
      await closed;
      expect(client.status).not.toBe('ready');
      const pending = new CommandFrame().send(client, 'set', [`${prefix}:offline`, Buffer.from('queued')]);
      expect(await pending).toBe('OK');
      expect(await redis.get(`${prefix}:offline`)).toBe('queued');
    } finally {
      client.disconnect();
    }
  });
});
