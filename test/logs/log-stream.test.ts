import { randomUUID } from 'node:crypto';
import { Command, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendSystemLine,
  APPEND_SCRIPT,
  finishTask,
  followLog,
  LogWriter,
  OwnershipLostError,
  readLog,
  readLogTail,
  TaskEndedError,
  TaskKeys,
  type LogEntry,
} from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';

describe('log streams', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  afterAll(async () => {
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
  });

  // Ends a task as a worker's sweep ends one whose host is gone: its end marker in the log.
  const endLost = (id: string) =>
    finishTask(
      redis,
      keys,
      id,
      { outcome: 'lost', exitCode: null, signal: null, finishedAt: Date.now() },
      { retentionMs: 60_000, maxLogEntries: 1000 },
    );
  const text = async (id: string) =>
    (await readLog(redis, keys, id)).map((e) => (e.kind === 'output' ? e.text : '')).join('');

  it('takes a second append sent before the first is answered, in order; a refused first refuses the second', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
    const first = writer.append([{ stream: 'stdout', text: Buffer.from('one\n') }], { stdout: '4' });
    const second = writer.append([{ stream: 'stdout', text: Buffer.from('two\n') }], { stdout: '8' });
    await Promise.all([first, second]);
    expect(await text(id)).toBe('one\ntwo\n');
    expect(await redis.hget(keys.record(id), 'c:stdout')).toBe('8');

    // Another writer moved the checkpoint meanwhile: this one's next two appends both go nowhere.
    await redis.hset(keys.record(id), 'c:stdout', '99');
    const third = writer.append([{ stream: 'stdout', text: 'three\n' }], { stdout: '14' });
    const fourth = writer.append([{ stream: 'stdout', text: 'four\n' }], { stdout: '19' });
    await expect(third).rejects.toBeInstanceOf(OwnershipLostError);
    await expect(fourth).rejects.toBeInstanceOf(OwnershipLostError);
    expect(await text(id)).toBe('one\ntwo\n');
  });

  it('takes an append that ran before the one sent ahead of it, when that one had to be sent again (Redis had lost the script)', async () => {
    // A private server: its script cache is flushed, as after a restart.
    const server = await startRedisServer();
    const conn = new Redis(server.url);
    try {
      await conn.script('FLUSH');
      const id = randomUUID();
      const writer = new LogWriter(conn, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
      // The first append's EVALSHA finds no script; the script is loaded right behind it (another
      // connection could do that), so the second one's EVALSHA runs before the first one's EVAL.
      const send = conn.sendCommand.bind(conn);
      let loaded = false;
      conn.sendCommand = (command: Parameters<typeof send>[0]) => {
        const sent = send(command);
        if (!loaded && command.name === 'evalsha') {
          loaded = true;
          void send(new Command('script', ['LOAD', APPEND_SCRIPT.source], { replyEncoding: 'utf8' }));
        }
        return sent;
      };
      const first = writer.append([{ stream: 'stdout', text: Buffer.from('one\n') }], { stdout: '4' });
      const second = writer.append([{ stream: 'stdout', text: Buffer.from('two\n') }], { stdout: '8' });
      await Promise.all([first, second]);
      expect(loaded).toBe(true);
      expect((await readLog(conn, keys, id)).map((e) => (e.kind === 'output' ? e.text : '')).join('')).toBe(
        'one\ntwo\n',
      );
      expect(await conn.hget(keys.record(id), 'c:stdout')).toBe('8');
    } finally {
      conn.disconnect();
      await server.destroy();
    }
  });

  it('refuses a second writer whose checkpoint is stale, so no byte is shipped twice', async () => {
    const id = randomUUID();
    const first = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
    const second = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
    await first.append([{ stream: 'stdout', text: 'hello\n' }], { stdout: '6' });
    await expect(second.append([{ stream: 'stdout', text: 'hello\n' }], { stdout: '6' })).rejects.toBeInstanceOf(
      OwnershipLostError,
    );
    await first.append([{ stream: 'stdout', text: Buffer.from('wörld\n') }], { stdout: '13' });
    expect(await text(id)).toBe('hello\nwörld\n');
    expect(await redis.hget(keys.record(id), 'c:stdout')).toBe('13');
    // A writer that starts from the recorded checkpoint (a re-attach) goes on where it stopped.
    const resumed = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 }, { stdout: '13' });
    await resumed.append([{ stream: 'stderr', text: 'late\n' }], { stdout: '13', stderr: '5' });
    expect(await text(id)).toBe('hello\nwörld\nlate\n');
  });

  it('refuses output once the task has ended, so nothing follows the end marker', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
    await writer.append([{ stream: 'stdout', text: 'before\n' }], { stdout: '7' });
    await endLost(id);
    await expect(writer.append([{ stream: 'stdout', text: 'after\n' }], { stdout: '13' })).rejects.toBeInstanceOf(
      TaskEndedError,
    );
    const entries = await readLog(redis, keys, id);
    expect(entries.map((e) => e.kind)).toEqual(['output', 'end']);
    expect(await redis.hget(keys.record(id), 'c:stdout')).toBe('7');
  });

  it('takes a line of ours until the task ends, and none after its end marker', async () => {
    // Workers of two hosts may both see a task to end lost: the second one's note comes too late.
    const id = randomUUID();
    await appendSystemLine(redis, keys, id, 'host "a" stopped answering', 1000);
    await endLost(id);
    await appendSystemLine(redis, keys, id, 'host "a" stopped answering', 1000);
    const entries = await readLog(redis, keys, id);
    expect(entries.map((e) => (e.kind === 'output' ? `${e.stream}:${e.text}` : e.kind))).toEqual([
      'system:host "a" stopped answering\n',
      'end',
    ]);
  });

  it('tails the last N lines across entries and streams, and reports the newest id', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
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
    expect(
      (await readLogTail(redis, keys, id, 4)).entries.map((e) => (e.kind === 'output' ? e.text : '')).join(''),
    ).toBe('b\ncd\ne\nf');
    const none = await readLogTail(redis, keys, id, 0);
    expect(none.entries).toEqual([]);
    const all = await readLog(redis, keys, id);
    expect(none.lastId).toBe(all.at(-1)!.id);
  });

  it('keeps the newest output within max_bytes, drops the oldest, and readers are told how much', async () => {
    const id = randomUUID();
    const cap = 100_000;
    const writer = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: cap });
    // 50 lines of 10,000 bytes: 500,000 bytes through a 100,000-byte cap.
    for (let i = 0; i < 50; i++)
      await writer.append([{ stream: 'stdout', text: `${String(i).padStart(2, '0')}:${'x'.repeat(9_996)}\n` }]);
    const kept = (await readLog(redis, keys, id))
      .slice(1)
      .map((e) => (e.kind === 'output' ? e.text : ''))
      .join('');
    const [logBytes, dropped] = (await redis.hmget(keys.record(id), 'log_bytes', 'log_dropped')).map(Number);
    expect(logBytes).toBe(kept.length);
    expect(logBytes).toBeLessThanOrEqual(cap);
    expect(dropped! + logBytes!).toBe(500_000);
    // What is kept is the newest output, whole entries in order up to the last one written.
    const lines = kept
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.slice(0, 2)));
    expect(lines.at(-1)).toBe(49);
    expect(lines).toEqual(lines.map((_, i) => lines[0]! + i));
    const first = (await readLog(redis, keys, id))[0]!;
    expect(first).toMatchObject({ kind: 'output', stream: 'system' });
    expect(first.kind === 'output' && first.text).toMatch(
      /^\d+(\.\d+)? KiB of earlier output was dropped here: .*logs\.max_bytes/,
    );
    // A tail asking for more lines than are kept starts with the note; one asking for fewer does not.
    expect((await readLogTail(redis, keys, id, 1000)).entries[0]).toEqual({ ...first, id: '0-0' });
    expect(
      (await readLogTail(redis, keys, id, 2)).entries.every((e) => e.kind === 'output' && e.stream === 'stdout'),
    ).toBe(true);
    // A follower from the start gets the note, then the kept output, then the end.
    await finishTask(
      redis,
      keys,
      id,
      { outcome: 'completed', exitCode: 0, signal: null, finishedAt: Date.now() },
      { retentionMs: 60_000, maxLogEntries: 1000 },
    );
    const followed: LogEntry[] = [];
    const end = await followLog(redis, keys, id, (entry) => followed.push(entry));
    expect(end?.status).toBe('completed');
    expect(followed[0]).toMatchObject({ kind: 'output', stream: 'system' });
    expect(
      followed
        .slice(1)
        .map((e) => (e.kind === 'output' ? e.text : ''))
        .join(''),
    ).toBe(kept);
  });

  it('a follower whose block times out just as the task ends still gets its last output and end marker', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, { maxEntries: 1000, maxBytes: 1 << 30 });
    await writer.append([{ stream: 'stdout', text: 'a\n' }]);
    const follower = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const followed: string[] = [];
      // The task ends after the follower's block timed out and before it looked at the record.
      const isEnded = async () => {
        await writer.append([{ stream: 'stdout', text: 'b\n' }]);
        await finishTask(
          redis,
          keys,
          id,
          { outcome: 'failed', exitCode: 3, signal: null, finishedAt: Date.now() },
          { retentionMs: 60_000, maxLogEntries: 1000 },
        );
        return true;
      };
      const end = await followLog(follower, keys, id, (e) => followed.push(e.kind === 'output' ? e.text : ''), {
        blockMs: 20,
        isEnded,
      });
      expect(end).toMatchObject({ status: 'failed', exit_code: 3 });
      expect(followed.join('')).toBe('a\nb\n');
    } finally {
      follower.disconnect();
    }
  });

  it('trims by entry count too, and never drops the end marker', async () => {
    const id = randomUUID();
    const writer = new LogWriter(redis, keys, id, { maxEntries: 100, maxBytes: 1 << 30 });
    for (let i = 0; i < 150; i++) await writer.append([{ stream: 'stdout', text: `${i}\n` }]);
    expect(await redis.xlen(keys.log(id))).toBeLessThanOrEqual(100);
    await finishTask(
      redis,
      keys,
      id,
      { outcome: 'completed', exitCode: 0, signal: null, finishedAt: Date.now() },
      { retentionMs: 60_000, maxLogEntries: 100 },
    );
    // A stray writer after the end marker is refused: the marker stays, and stays the last entry.
    await expect(writer.append([{ stream: 'stdout', text: '150\n' }])).rejects.toBeInstanceOf(TaskEndedError);
    const entries = await readLog(redis, keys, id);
    expect(entries.filter((e) => e.kind === 'end')).toHaveLength(1);
    expect(entries.at(-1)?.kind).toBe('end');
    expect(Number(await redis.hget(keys.record(id), 'log_dropped'))).toBeGreaterThan(0);
  });
});
