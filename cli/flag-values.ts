// How the user typed a command's flags: the spelling of a flag (an alias, say), and values given
// empty, which a command would otherwise take as the flag not given.
import { lib } from './load-library.js';

/** What a flag's definition says about its spellings and values. */
interface FlagShape {
  type: string;
  aliases?: readonly string[];
}

/** The words of a command line that are ours: those before `--` (after it: the task's argv). */
export function ownWords(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

/** `--workdir` when the user typed that alias of `workspace`, else `--NAME`: for messages. */
export function typedFlag(argv: readonly string[], name: string, shape?: { aliases?: readonly string[] }): string {
  const words = ownWords(argv);
  const alias = (shape?.aliases ?? []).find((a) => words.some((w) => w === `--${a}` || w.startsWith(`--${a}=`)));
  return `--${alias ?? name}`;
}

// What to give instead of an empty value, by flag; any other flag asks for "a value".
const WANTED: Record<string, string> = {
  executor: 'an executor name (see `openclaw-agent executors`)',
  workspace: 'a directory',
  dir: 'a directory',
  name: 'a name',
  label: 'a label',
  timeout: 'a duration like 30s or 2h',
  backoff: 'a duration like 30s or 2h',
  delay: 'a duration like 30s or 2h',
  grace: 'a duration like 30s or 2h',
  at: 'a time like 2026-12-07T03:00:00Z',
  callback: 'an http(s) URL',
  notify: 'a notifier name, or none for no notifier',
  'notify-session': 'an OpenClaw session key',
  'task-id': 'a task id or a unique prefix of 6+ characters',
  after: 'a task id or a unique prefix of 6+ characters',
  continue: 'a task id or a unique prefix of 6+ characters',
  cmd: 'a command string',
  env: 'KEY=VALUE',
  prompt: 'a prompt, or - to read it from stdin',
  'prompt-file': 'a file',
  'token-file': 'a file',
  base: 'a branch, tag or commit',
  model: 'a model name or alias',
  'allowed-tools': 'a tool name',
  'disallowed-tools': 'a tool name',
  'append-system-prompt': 'the text to add',
  'max-budget-usd': 'a number of dollars like 2.50',
  host: 'an address to listen on',
  'concurrency-key': 'a key',
  'redis-url': 'a URL like redis://127.0.0.1:6379',
  cron: 'a pattern like "0 3 * * *"',
  tz: 'an IANA time zone like Europe/Prague',
  status: 'a status',
};

/**
 * Refuses a flag given an empty value (`--workdir ""`, `--executor=`): most commands read an
 * empty value as the flag left out and would fall back to a default without a word. `--config`
 * is left to the config loader, which says where the default file is.
 */
export async function refuseEmptyFlags(
  raw: readonly { type: string; flag?: string; input?: string }[],
  shapes: Readonly<Record<string, FlagShape>>,
  argv: readonly string[],
): Promise<void> {
  const empty = raw.find(
    (token) =>
      token.type === 'flag' &&
      token.input === '' &&
      token.flag !== 'config' &&
      shapes[token.flag ?? '']?.type === 'option',
  );
  if (empty?.flag === undefined) return;
  const { UsageError } = await lib();
  const typed = typedFlag(argv, empty.flag, shapes[empty.flag]);
  throw new UsageError(`${typed} is empty: give ${WANTED[empty.flag] ?? 'a value'}`);
}
