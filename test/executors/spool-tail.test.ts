import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpoolTail } from '../../src/executors/local/spool-tail.js';
import { HolePuncher } from '../../src/executors/local/hole-puncher.js';

describe('spool tail', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-spool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a flood into two buffers in turn, so a read stays intact while the next one is made', async () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join('');
    writeFileSync(path.join(dir, 'stdout'), text);
    writeFileSync(path.join(dir, 'stderr'), 'err\n');
    const tail = new SpoolTail(dir, {});
    const reads: { views: Buffer[]; copies: string[]; more: boolean }[] = [];
    const out = { stdout: '', stderr: '' };
    for (;;) {
      const { chunks, bytes, more } = await tail.read(true);
      if (bytes === 0) break;
      const views = chunks.map((c) => c.text as Buffer);
      reads.push({ views, copies: views.map((v) => v.toString()), more });
      for (const chunk of chunks) out[chunk.stream as 'stdout' | 'stderr'] += chunk.text.toString();
      // The read before this one (the one a shipper may still be sending) is unchanged.
      const before = reads.at(-2);
      if (before?.more) expect(before.views.map((v) => v.toString())).toEqual(before.copies);
    }
    // 64 KiB, then 256 KiB reads: the flood took several, all but the last with more to come.
    expect(reads.length).toBeGreaterThan(2);
    expect(reads.slice(0, -1).every((r) => r.more)).toBe(true);
    expect(reads.at(-1)!.more).toBe(false);
    expect(out).toEqual({ stdout: text, stderr: 'err\n' });
    expect(tail.checkpoint()).toEqual({ stdout: String(Buffer.byteLength(text)), stderr: '4' });
    await tail.close();
  });

  it('returns small pieces as they come, each whole, with nothing more waiting', async () => {
    const sub = mkdtempSync(path.join(dir, 'small-'));
    const tail = new SpoolTail(sub, {});
    let seen = '';
    for (let i = 0; i < 5; i++) {
      appendFileSync(path.join(sub, 'stdout'), `piece ${i}\n`);
      const { chunks, more } = await tail.read(false);
      expect(more).toBe(false);
      seen += chunks.map((c) => c.text.toString()).join('');
    }
    expect(seen).toBe([0, 1, 2, 3, 4].map((i) => `piece ${i}\n`).join(''));
    await tail.close();
  });

  it('never ships the zeros of output another follower of the task freed after this one opened it', async () => {
    const sub = mkdtempSync(path.join(dir, 'two-followers-'));
    const MiB = 1024 * 1024;
    const line = `${'a'.repeat(99)}\n`;
    const size = Math.floor((4 * MiB) / 100) * 100;
    writeFileSync(path.join(sub, 'stdout'), line.repeat(size / 100));
    // This follower (no cap of its own) has read its first piece: the file is open.
    const follower = new SpoolTail(sub, {}, 'h');
    let shipped = (await follower.read(false)).chunks.map((c) => c.text.toString()).join('');
    expect(shipped.length).toBeGreaterThan(0);
    // A second follower, with a 1 MiB cap, frees all but the newest MiB meanwhile.
    const puncher = new HolePuncher();
    const other = new SpoolTail(sub, {}, 'h', { maxBytes: MiB, punch: (f, o, l) => puncher.punch(f, o, l) });
    await other.read(false);
    await other.settleCap();
    await other.close();
    puncher.close();
    let notes = '';
    for (;;) {
      const { chunks, bytes } = await follower.read(true);
      if (bytes === 0) break;
      for (const chunk of chunks) {
        if (chunk.stream === 'system') notes += chunk.text.toString();
        else shipped += chunk.text.toString();
      }
    }
    await follower.close();
    expect(shipped.includes('\0')).toBe(false);
    expect(notes).toMatch(
      /^\d+(\.\d+)? [KM]iB of earlier output was dropped here: the spool on h keeps only a task's newest output \(logs\.max_spool_bytes\)\n$/,
    );
    // Everything is accounted for: what was shipped and what the note says was dropped.
    expect(Number(follower.checkpoint().stdout)).toBe(size);
    expect(shipped.endsWith(line)).toBe(true);
    expect(shipped.length).toBeLessThan(size / 2);
  });
});
