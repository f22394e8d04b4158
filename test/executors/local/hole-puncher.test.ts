import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HolePuncher } from '../../../src/executors/local/hole-puncher.js';

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

  it('fails what waits when it is closed, and starts a new shell for the next punch', async () => {
    const file = path.join(dir, 'again');
    writeFileSync(file, Buffer.alloc(MiB, 'z'));
    const waiting = puncher.punch(file, 0, MiB);
    puncher.close();
    await expect(waiting).rejects.toThrow('the shell that runs fallocate ended');
    await puncher.punch(file, 0, MiB);
    expect(statSync(file).blocks).toBeLessThan(64);
  });
});
