import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepEndedSpools } from '../../../src/executors/local/spool-retention.js';

const root = mkdtempSync(path.join(tmpdir(), 'oca-retention-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A spool directory with these files, each last changed `ageMs` ago.
function spool(name: string, files: Record<string, string>, ageMs: number): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const when = (Date.now() - ageMs) / 1000;
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), text);
    utimesSync(path.join(dir, file), when, when);
  }
  return dir;
}

describe('sweepEndedSpools', () => {
  it('removes the directories of tasks that ended before the retention, by their exit file or the exit code on their pid file, and of runs that never started', async () => {
    const hour = 3_600_000;
    const ended = spool('ended', { pid: '1\n\n', exit: '0\n' }, 2 * hour);
    const fullDisk = spool('full-disk', { pid: '2\n\nexit 1\n', exit: '' }, 2 * hour);
    const noExitFileAtAll = spool('no-exit-file', { pid: '3\n\nexit 0\n' }, 2 * hour);
    const running = spool('running', { pid: '4\n\n' }, 2 * hour);
    const recent = spool('recent', { pid: '5\n\nexit 0\n' }, 60_000);
    // Claimed for a run that a kill kept from starting: an empty directory, no pid file.
    const neverStarted = spool('never-started', {}, 2 * hour);
    const oldDirTime = (Date.now() - 2 * hour) / 1000;
    utimesSync(neverStarted, oldDirTime, oldDirTime);
    const justClaimed = spool('just-claimed', {}, 0);
    expect(await sweepEndedSpools(root, hour)).toBe(4);
    for (const gone of [ended, fullDisk, noExitFileAtAll, neverStarted]) expect(existsSync(gone)).toBe(false);
    for (const kept of [running, recent, justClaimed]) expect(existsSync(kept)).toBe(true);
  });
});
