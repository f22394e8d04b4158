import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HolePuncher, PuncherClosedError } from '../../../src/executors/local/hole-puncher.js';

const dir = mkdtempSync(path.join(tmpdir(), 'oca-punch-'));
const puncher = new HolePuncher();
afterAll(() => {
  puncher.close();
  rmSync(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

describe('HolePuncher', () => {
  it('frees the range: the file keeps its size, the range reads as zeros, the rest is untouched', async () => {
    const file = path.join(dir, "it's a file");
    writeFileSync(file, Buffer.alloc(4 * MiB, 'x'));
    const before = statSync(file).blocks;
    await puncher.punch(file, 0, 3 * MiB);
    const after = statSync(file);
    expect(after.size).toBe(4 * MiB);
    expect(before * 512 - after.blocks * 512).toBeGreaterThanOrEqual(3 * MiB);
    const text = readFileSync(file);
    expect(text.subarray(0, 3 * MiB).every((b) => b === 0)).toBe(true);
    expect(text.subarray(3 * MiB).every((b) => b === 0x78)).toBe(true);
  });

  it("answers punches in order, a failed one with fallocate's own words, and goes on after it", async () => {
    const good = path.join(dir, 'good');
    writeFileSync(good, Buffer.alloc(2 * MiB, 'y'));
    const results = await Promise.allSettled([
      puncher.punch(good, 0, MiB),
      puncher.punch(path.join(dir, 'missing'), 0, MiB),
      puncher.punch(good, MiB, MiB),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/fallocate: .*missing.*No such file/);
    expect(statSync(good).blocks).toBeLessThan(64);
  });

  it('remembers that this host cannot punch holes (no fallocate on the PATH)', async () => {
    const path0 = process.env.PATH;
    const bare = new HolePuncher();
    process.env.PATH = dir;
    try {
      const file = path.join(dir, 'kept-whole');
      writeFileSync(file, Buffer.alloc(MiB, 'w'));
      await expect(bare.punch(file, 0, MiB)).rejects.toThrow(/fallocate: not found/);
      expect(bare.unsupported).toMatch(/not found/);
      expect(readFileSync(file).every((b) => b === 0x77)).toBe(true);
    } finally {
      process.env.PATH = path0;
      bare.close();
    }
    expect(puncher.unsupported).toBeUndefined();
  });

  it('fails what waits when it is closed, and every punch after, as a shutdown', async () => {
    const file = path.join(dir, 'again');
    writeFileSync(file, Buffer.alloc(MiB, 'z'));
    const waiting = puncher.punch(file, 0, MiB);
    puncher.close();
    await expect(waiting).rejects.toBeInstanceOf(PuncherClosedError);
    const later = path.join(dir, 'later');
    writeFileSync(later, Buffer.alloc(MiB, 'z'));
    await expect(puncher.punch(later, 0, MiB)).rejects.toBeInstanceOf(PuncherClosedError);
    expect(readFileSync(later).every((b) => b === 0x7a)).toBe(true);
  });
});
