import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = path.resolve(import.meta.dirname, '../../dist/cli');
const LOADER = path.join(DIST, 'bundle-loader.cjs');

// Loads a bundle in a fresh Node (as the CLI does) and reports whether V8 took its code cache.
function cacheUsed(bundle: string): string {
  const script = `const { loadBundle } = await import(${JSON.stringify(LOADER)}); console.log(loadBundle(${JSON.stringify(bundle)}).cacheUsed);`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}

describe('the one-file CLI bundle', () => {
  it('starts from a code cache that V8 accepts, and compiles from source when the cache is not for this bundle', () => {
    const bundle = path.join(DIST, 'openclaw-agent.cjs');
    expect(cacheUsed(bundle)).toBe('true');

    // A cache made for other source is refused by V8; the bundle then compiles from source.
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-bundle-'));
    try {
      const copy = path.join(dir, 'openclaw-agent.cjs');
      copyFileSync(bundle, copy);
      writeFileSync(`${copy}.v8-cache`, 'not a code cache');
      expect(cacheUsed(copy)).toBe('false');
      // The real cache beside an edited bundle of the same length: V8 alone would accept it.
      copyFileSync(`${bundle}.v8-cache`, `${copy}.v8-cache`);
      const source = readFileSync(copy, 'utf8');
      writeFileSync(copy, source.replace('unknown command', 'unknown-command'));
      expect(readFileSync(copy).length).toBe(Buffer.byteLength(source));
      expect(cacheUsed(copy)).toBe('false');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
