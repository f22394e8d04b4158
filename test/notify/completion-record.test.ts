import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { completionsDir, removeCompletionRecord, sweepCompletionRecords } from '../../src/notify/completion-record.js';

describe('completion files', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'oca-completions-'));
  const dir = completionsDir(home);
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  // A file in the completions directory, written `ageMs` ago.
  const file = (name: string, ageMs: number) => {
    mkdirSync(dir, { recursive: true });
    const at = path.join(dir, name);
    writeFileSync(at, '{}\n');
    const when = new Date(Date.now() - ageMs);
    utimesSync(at, when, when);
    return at;
  };

  it('are swept once older than the retention; newer ones and files not named after a task stay', async () => {
    const day = 86_400_000;
    const old = file(`${randomUUID()}.json`, 8 * day);
    const halfWritten = file(`${randomUUID()}.json.tmp`, 8 * day);
    const recent = file(`${randomUUID()}.json`, 6 * day);
    const foreign = file('notes.json', 8 * day);
    const notAnId = file('0123abcd.json', 8 * day);
    expect(await sweepCompletionRecords(7 * day, home)).toBe(2);
    expect([old, halfWritten].map(existsSync)).toEqual([false, false]);
    expect([recent, foreign, notAnId].map(existsSync)).toEqual([true, true, true]);
  });

  it('sweep nothing where no directory is, and cleanup removes one task’s file only', async () => {
    expect(await sweepCompletionRecords(0, path.join(home, 'nowhere'))).toBe(0);
    const [mine, other] = [randomUUID(), randomUUID()];
    file(`${mine}.json`, 0);
    file(`${other}.json`, 0);
    removeCompletionRecord(mine, home);
    removeCompletionRecord(mine, home);
    expect(existsSync(path.join(dir, `${mine}.json`))).toBe(false);
    expect(existsSync(path.join(dir, `${other}.json`))).toBe(true);
    expect(() => removeCompletionRecord('../../etc/passwd', home)).toThrow(/not a task id/);
  });
});
