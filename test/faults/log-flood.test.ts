import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskKeys } from '../../src/index.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const MiB = 1024 * 1024;
const CAP = 16 * MiB;
// Set bounds: the log key holds at most the cap and the append that crossed it (an entry is at
// most 1 MiB) plus 5 % for Redis's own overhead, and the worker's peak resident memory stays
// under a fixed ceiling however much the task writes.
const LOG_KEY_BOUND = (CAP + 2 * MiB) * 1.05;
const WORKER_RSS_BOUND = 250 * MiB;

// The kernel's high-water mark of a process's resident memory.
function peakRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN) * 1024;
}

describe('log flood: a task writing far more than the log cap keeps Redis and the worker within bounds', () => {
  const h: Harness = createHarness({ extraConfig: `logs:\n  max_bytes: ${CAP}\n` });
  const keys = new TaskKeys(h.prefix);
  let worker: ChildProcess;

  beforeAll(async () => {
    worker = await h.startWorker();
  });
  afterAll(() => h.cleanup());

  // Runs the command as a task; samples the log key's memory until it ends, and returns the peak.
  async function runFlood(command: string): Promise<{ id: string; peakLogBytes: number }> {
    const started = await h.cli(['run', '--executor', 'local', '--', 'sh', '-c', command]);
    expect(started.exitCode).toBe(0);
    const id = started.stdout.trim();
    const redis = h.redis();
    let peakLogBytes = 0;
    let done = false;
    const waited = h.cli(['wait', id]).finally(() => (done = true));
    while (!done) {
      peakLogBytes = Math.max(peakLogBytes, (await redis.memory('USAGE', keys.log(id), 'SAMPLES', '0')) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await waited).exitCode).toBe(0);
    peakLogBytes = Math.max(peakLogBytes, (await redis.memory('USAGE', keys.log(id), 'SAMPLES', '0')) ?? 0);
    const mib = (n: number) => (n / MiB).toFixed(1);
    console.info(
      `log flood: log key peak ${mib(peakLogBytes)} MiB (cap ${mib(CAP)} MiB), worker peak RSS ${mib(peakRssBytes(worker.pid!))} MiB`,
    );
    return { id, peakLogBytes };
  }

  it('1 GiB of output: the log keeps its newest 16 MiB, says how much went, and every byte is accounted for', async () => {
    // 100-byte lines numbered in their first ten characters, 1 GiB in all.
    const { id, peakLogBytes } = await runFlood(
      `seq -f '%010.0f' 1 10737418 | awk '{printf "%s%089d\\n", $1, 0}'; printf '%023d\\n' 0`,
    );
    expect(peakLogBytes).toBeGreaterThan(CAP / 2);
    expect(peakLogBytes).toBeLessThanOrEqual(LOG_KEY_BOUND);
    expect(peakRssBytes(worker.pid!)).toBeLessThanOrEqual(WORKER_RSS_BOUND);

    const redis = h.redis();
    const [kept, dropped] = (await redis.hmget(keys.record(id), 'log_bytes', 'log_dropped')).map(Number);
    expect(kept! + dropped!).toBe(1024 * MiB);
    expect(kept).toBeLessThanOrEqual(CAP);

    // The tail is the task's real last lines; reading from the start begins with the note.
    const tail = await h.cli(['logs', id, '-l', '3']);
    expect(tail.stdout).toBe(`${'0010737417'}${'0'.repeat(89)}\n${'0010737418'}${'0'.repeat(89)}\n${'0'.repeat(23)}\n`);
    const all = await h.cli(['logs', id, '-l', '1000000']);
    expect(all.stderr).toMatch(
      /^\[openclaw-agent\] 10\d\d(\.\d+)? MiB of earlier output was dropped here: .*logs\.max_bytes/,
    );
    const lines = all.stdout.split('\n').filter(Boolean);
    // Whole lines from the first one kept to the last: no line lost or repeated after the cut.
    const numbers = lines.slice(1, -1).map((line) => Number(line.slice(0, 10)));
    expect(numbers.at(-1)).toBe(10_737_418);
    expect(numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)).toBe(true);
    expect(numbers.length * 100).toBeGreaterThan(CAP * 0.8);
  });

  it('8 KiB lines: the same bounds hold, and the kept lines arrive whole', async () => {
    // 32,768 lines of 8 KiB (256 MiB), each starting with its number.
    const { id, peakLogBytes } = await runFlood(
      `awk 'BEGIN { pad = sprintf("%8185s", ""); gsub(/ /, "y", pad); for (i = 1; i <= 32768; i++) printf "%06d%s\\n", i, pad }'`,
    );
    expect(peakLogBytes).toBeLessThanOrEqual(LOG_KEY_BOUND);
    expect(peakRssBytes(worker.pid!)).toBeLessThanOrEqual(WORKER_RSS_BOUND);
    const [kept, dropped] = (await h.redis().hmget(keys.record(id), 'log_bytes', 'log_dropped')).map(Number);
    expect(kept! + dropped!).toBe(32_768 * 8192);

    const tail = await h.cli(['logs', id, '-l', '1000']);
    const lines = tail.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1000);
    lines.forEach((line, i) => {
      expect(line.length).toBe(8191);
      expect(Number(line.slice(0, 6))).toBe(32_768 - 999 + i);
    });
  });
});
