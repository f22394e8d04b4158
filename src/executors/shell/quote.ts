// Words quoted for a POSIX shell, so that a command line gives every argument back byte for byte.
import { InvalidInputError } from '../../errors.js';

/**
 * Quotes one word for a POSIX shell (sh, dash, bash, zsh, ksh): the shell gets it
 * back byte for byte. Every word is single-quoted, even a "safe" one, so that no character can
 * ever be special; inside single quotes only `'` needs care, written as `'\''`.
 */
export function shellQuote(word: string): string {
  // A C string ends at NUL: the remote program would silently get a shorter argument.
  if (word.includes('\0')) {
    throw new InvalidInputError(
      `cannot pass an argument containing a NUL byte to a shell (at index ${word.indexOf('\0')}) — remove it or pass the data through a file`,
    );
  }
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes each word and joins them with spaces: one command line for `sh -c`. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
