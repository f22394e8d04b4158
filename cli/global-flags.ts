// The process's argv as the CLI takes it: the original tool's leading global flags, and words
// that were not valid UTF-8 on the command line.
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { escapeControls } from '../src/text/escape.js';

/**
 * Moves `-c/--config PATH` and `-v/--verbose` given before the subcommand (the original tool's
 * global flags) into the environment, and returns the rest. `-c` after the subcommand is
 * `run`'s `--cmd`, so only the leading flags are taken. An empty PATH is handed to the command
 * as `--config=` (before any `--`), which refuses it: an empty `OPENCLAW_AGENT_CONFIG` would
 * mean the default file.
 */
export function hoistGlobalFlags(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const rest = [...argv];
  let emptyConfig = false;
  const setConfig = (file: string) => {
    if (file === '') emptyConfig = true;
    else env.OPENCLAW_AGENT_CONFIG = file;
  };
  while (rest.length > 0) {
    const word = rest[0]!;
    if (word === '-v' || word === '--verbose') {
      env.OPENCLAW_AGENT_VERBOSE = '1';
      rest.shift();
    } else if ((word === '-c' || word === '--config') && rest.length > 1) {
      setConfig(rest[1]!);
      rest.splice(0, 2);
    } else if (word.startsWith('--config=')) {
      setConfig(word.slice('--config='.length));
      rest.shift();
    } else {
      break;
    }
  }
  if (emptyConfig && rest.length > 0) {
    const separator = rest.indexOf('--');
    rest.splice(separator === -1 ? rest.length : separator, 0, '--config=');
  }
  return rest;
}

/**
 * Why the command's words (`words`, a tail of the process's argv) cannot be taken as typed: the
 * first one that was not valid UTF-8 on the command line, named; or undefined. Node hands argv over decoded, with U+FFFD for each byte that is not UTF-8, and a
 * task keeps its command as text, so such a word would silently change. The bytes are read back
 * from /proc/self/cmdline (Linux) to tell a replaced byte from a U+FFFD typed as such; where
 * they cannot be read, any word with U+FFFD is refused.
 */
export function argvEncodingProblem(
  words: readonly string[],
  processArgv: readonly string[] = process.argv,
  rawArgv: () => Buffer[] | undefined = readRawArgv,
): string | undefined {
  const index = words.findIndex((word) => word.includes(REPLACEMENT));
  // Words that are not the end of this process's argv did not come from the command line.
  if (index === -1 || !endsWith(processArgv, words)) return undefined;
  const describe = (at: number) => describeWord(words, at);
  const raw = alignedRawWords(rawArgv(), processArgv.slice(processArgv.length - words.length));
  const hint = (at: number) => encodingHint(words, at);
  if (raw === undefined)
    return `${describe(index)} (\`${shorten(escapeControls(words[index]!))}\`) holds U+FFFD, which is what a byte that is not valid UTF-8 becomes, and this system cannot show the bytes typed — ${hint(index)}`;
  const bad = raw.findIndex((bytes) => !isUtf8(bytes));
  if (bad === -1) return undefined;
  return `${describe(bad)} (\`${showBytes(raw[bad]!)}\`) is not valid UTF-8 — ${hint(bad)}`;
}

const REPLACEMENT = '\uFFFD';

// How to pass what the word meant: bytes of a command made by the task's shell, other text in UTF-8.
function encodingHint(words: readonly string[], index: number): string {
  const separator = words.indexOf('--');
  const previous = index > 0 ? words[index - 1]! : '';
  const command =
    (separator !== -1 && index > separator) || ['-c', '--cmd'].includes(previous) || words[index]!.startsWith('--cmd=');
  return command
    ? "a task's command is stored as UTF-8 text: to pass such bytes let the task's shell make them, with --cmd and printf octal escapes like \"$(printf 'caf\\351')\""
    : 'a task stores it as UTF-8 text: convert it to UTF-8 first (iconv -t UTF-8)';
}

// "word 2 after --", "the value of --name", "argument 3".
function describeWord(words: readonly string[], index: number): string {
  const separator = words.indexOf('--');
  if (separator !== -1 && index > separator) return `word ${index - separator} after --`;
  const word = words[index]!;
  if (word.startsWith('-')) return `the value of ${word.split('=')[0]}`;
  const previous = index > 0 ? words[index - 1]! : '';
  return previous.startsWith('-') ? `the value of ${previous}` : `argument ${index + 1}`;
}

function endsWith(all: readonly string[], tail: readonly string[]): boolean {
  const offset = all.length - tail.length;
  return offset >= 0 && tail.every((word, i) => all[offset + i] === word);
}

// This process's argv as the bytes it was given (Linux), or undefined.
function readRawArgv(): Buffer[] | undefined {
  try {
    const cmdline = readFileSync('/proc/self/cmdline');
    const words: Buffer[] = [];
    for (let start = 0; start < cmdline.length;) {
      const end = cmdline.indexOf(0, start);
      const stop = end === -1 ? cmdline.length : end;
      words.push(cmdline.subarray(start, stop));
      start = stop + 1;
    }
    return words;
  } catch {
    return undefined;
  }
}

// The raw words matching `tail` (the end of process.argv), or undefined when they do not line up.
function alignedRawWords(raw: Buffer[] | undefined, tail: readonly string[]): Buffer[] | undefined {
  if (raw === undefined || raw.length < tail.length) return undefined;
  const words = raw.slice(raw.length - tail.length);
  const match = words.every((bytes, i) => {
    const word = tail[i]!;
    return bytes.toString('utf8') === word || (!isUtf8(bytes) && word.includes(REPLACEMENT));
  });
  return match ? words : undefined;
}

// A word as typed: its UTF-8 text, control characters escaped, and each other byte as \xNN.
function showBytes(bytes: Buffer): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let shown = '';
  for (let i = 0; i < bytes.length;) {
    const length = [1, 2, 3, 4].find((n) => i + n <= bytes.length && isUtf8(bytes.subarray(i, i + n)));
    if (length === undefined) {
      shown += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    } else {
      shown += escapeControls(decoder.decode(bytes.subarray(i, i + length)));
      i += length;
    }
  }
  return shorten(shown);
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
