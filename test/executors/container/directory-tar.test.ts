import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directoriesTar } from '../../../src/executors/container/directory-tar.js';

// The archive that makes missing directories in a container, read back by the system's tar.
describe('directoriesTar', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-dirtar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes each directory, parents first, mode 0700, a path past 100 bytes included', () => {
    const long = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}`;
    const names = ['.claude', '.claude/projects', 'a'.repeat(60), `${'a'.repeat(60)}/${'b'.repeat(60)}`, long];
    const archive = path.join(dir, 'dirs.tar');
    writeFileSync(archive, directoriesTar(names, Date.UTC(2026, 0, 2)));

    const listed = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(listed.map((line) => line.split(/\s+/).at(-1))).toEqual(names.map((name) => `${name}/`));
    for (const line of listed) expect(line).toMatch(/^drwx------ (root\/root|0\/0) /);

    const into = path.join(dir, 'into');
    mkdirSync(into);
    execFileSync('tar', ['-xf', archive, '-C', into]);
    expect(statSync(path.join(into, long)).isDirectory()).toBe(true);
    expect(statSync(path.join(into, '.claude/projects')).mode & 0o777).toBe(0o700);
  });

  it('refuses a name that no ustar header can hold', () => {
    expect(() => directoriesTar(['x'.repeat(120)])).toThrow(/too long a path for a tar header/);
  });
});
