import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Fixed seeds keep CI repeatable; FUZZ_SEED explores another part of the space and FUZZ_RUNS
 * multiplies every property's case count. A failure's message names its seed and shrink path
 * (`{ seed: …, path: … }`), so a red run can be replayed with FUZZ_SEED.
 */
export function fuzzParameters<T>(seed: number, numRuns: number): fc.Parameters<T> {
  const chosen = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : seed;
  const factor = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1;
  return { seed: chosen, numRuns: Math.max(1, Math.round(numRuns * factor)) };
}

/** A line of a JavaScript stack trace. */
export const STACK_FRAME = /^\s+at .*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$|node:internal/m;

/** A message a user reads: one line, no stack frame, not empty. */
export function expectOneLine(message: string, what: string): void {
  expect(message.trim(), `${what} is empty`).not.toBe('');
  expect(message, `${what} has a line break: ${JSON.stringify(message)}`).not.toMatch(/[\r\n\u2028\u2029]/);
  expect(message, `${what} carries a stack frame`).not.toMatch(STACK_FRAME);
}

/** Text a test may hand anywhere: unicode, control characters, but no NUL (argv and env cannot carry it). */
export const junkText = (maxLength = 40): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ maxLength }),
      fc.string({ unit: 'grapheme', maxLength }),
      fc.string({ unit: 'binary', maxLength }),
      fc.constantFrom(
        '',
        ' ',
        '\n',
        'a\nb',
        '\r\n',
        '\t',
        '-',
        '--',
        '=',
        '\u2028',
        '💥',
        'é\u0301',
        '%s%n',
        '${HOME}',
        '$(id)',
        '`id`',
        "'",
        '"',
        '\\',
      ),
    )
    .map((text) => text.replace(/\0/g, ''));

/** Strings shaped like durations, sizes or numbers, most of them not quite right. */
export const nearDuration: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0',
    '0s',
    '-1s',
    '1',
    '30s',
    '2h',
    '1h30m',
    '1.5h',
    '10ms',
    '1e3',
    'NaN',
    'Infinity',
    '1d1d',
    's',
    'ms',
    '5 m',
    ' 5m ',
    '5M',
    '5mm',
    '1y',
    '0x10',
    '99999999999999999999999d',
    '.5s',
    '5.s',
    '٣s',
    '５s',
  ),
  fc
    .tuple(
      fc.oneof(fc.nat(), fc.double({ noNaN: false })),
      fc.constantFrom('', 'ms', 's', 'm', 'h', 'd', 'w', 'x', ' s', 'sec'),
    )
    .map(([n, unit]) => `${n}${unit}`),
  fc.stringMatching(/^[0-9.\-+e]{0,6}(ms|s|m|h|d)?[0-9hms]{0,4}$/),
);
