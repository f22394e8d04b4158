import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpoolTail } from '../../src/executors/local/spool-tail.js';

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
});
