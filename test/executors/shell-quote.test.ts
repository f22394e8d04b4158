import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isUserFacingError } from '../../src/errors.js';
import { shellJoin, shellQuote } from '../../src/executors/shell/quote.js';

// Remote login shells are usually one of these; each must read the quoting back the same way.
const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash', '/bin/zsh', '/bin/ksh', '/bin/mksh'].filter((shell) =>
  existsSync(shell),
);

const TRICKY = [
  '',
  ' ',
  'plain',
  "it's",
  "'",
  "''",
  "'\\''",
  '"double"',
  '$(id)',
  '`id`',
  '${HOME}',
  '$HOME',
  '\\',
  '\\n',
  'a\nb',
  '\n',
  '\r\n\t',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~root',
  '-n',
  '--',
  '-e',
  '!',
  '!!',
  'a;b',
  'a&&b',
  'a|b',
  '>out',
  '<in',
  '#comment',
  'a b  c',
  '%s%d%%',
  'héllo wörld',
  '日本語',
  '🙂 emoji',
  '\u00a0non-breaking',
  '\u2028line separator',
  Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join(''),
];

// The bytes each word arrives as: run `printf '%s\0' <words>` through the shell and split on NUL.
function echoThroughShell(shell: string, words: readonly string[]): Buffer[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellJoin(words)}`], { env: { PATH: process.env.PATH } });
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0) {
      parts.push(out.subarray(start, i));
      start = i + 1;
    }
  }
  expect(start).toBe(out.length);
  return parts;
}

// Deterministic, so a failure reproduces.
function randomWords(count: number, seed: number): string[] {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state;
  };
  const alphabet = [...'\'"\\$`!*?[]{}()<>|&;#~ \t\n-=%^', 'a', 'Z', '0', 'é', '中', '🙂'];
  return Array.from({ length: count }, () =>
    Array.from({ length: next() % 24 }, () =>
      next() % 4 === 0 ? String.fromCharCode(1 + (next() % 126)) : alphabet[next() % alphabet.length]!,
    ).join(''),
  );
}

describe('shellQuote', () => {
  it('single-quotes every word, even safe ones and the empty string', () => {
    expect(shellQuote('plain')).toBe("'plain'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellJoin(['echo', 'a b', ''])).toBe("'echo' 'a b' ''");
    expect(shellJoin([])).toBe('');
  });

  it('refuses a word with a NUL byte with INVALID_INPUT and a one-line message', () => {
    let thrown: unknown;
    try {
      shellJoin(['ok', 'a\0b']);
    } catch (error) {
      thrown = error;
    }
    expect(isUserFacingError(thrown) && thrown.code).toBe('INVALID_INPUT');
    expect((thrown as Error).message).toMatch(/NUL byte .*index 1/);
    expect((thrown as Error).message).not.toContain('\n');
  });
});

describe.each(SHELLS)('shellJoin through %s', (shell) => {
  it('delivers tricky words byte for byte', () => {
    const got = echoThroughShell(shell, TRICKY);
    expect(got).toHaveLength(TRICKY.length);
    for (const [i, word] of TRICKY.entries()) {
      expect({ i, bytes: got[i]!.toString('hex') }).toEqual({ i, bytes: Buffer.from(word, 'utf8').toString('hex') });
    }
  });

  it('delivers random words byte for byte', () => {
    const words = randomWords(400, 20_240_611);
    expect(echoThroughShell(shell, words).map((b) => b.toString('hex'))).toEqual(
      words.map((w) => Buffer.from(w, 'utf8').toString('hex')),
    );
  });

  // Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN), and `sh -c` gets the whole line as one.
  it('delivers a 56 kB word intact', () => {
    const word = 'x\'y"$z\n'.repeat(8_000);
    const [got] = echoThroughShell(shell, [word]);
    expect(got!.equals(Buffer.from(word))).toBe(true);
  });
});
