import fc from 'fast-check';
import { junkText, nearDuration } from './fuzz-support.js';

/** A task id that exists in the fuzz prefix (queued on `idle`, no worker), for status/logs/kill. */
export const KNOWN_ID = 'f0f0f0f0-0000-4000-8000-00000000beef';

// Tokens that would make a command follow a queued task forever, or read the test's own stdin.
// `--verbose` asks for stack traces, so it is left out.
function blocks(argv: readonly string[]): boolean {
  return argv.some(
    (word, i) =>
      /^--verbose(=|$)/.test(word) ||
      /^--?f(ollow)?(=|$)/.test(word) ||
      /^-[a-zA-Z]*f/.test(word) ||
      (word === '-' && /^(-p|--prompt)$/.test(argv[i - 1] ?? '')),
  );
}

const executorName = fc.oneof(
  fc.constantFrom('idle', 'local', 'nope', 'callbacks', '', ' idle', 'IDLE', 'idle\n', '../idle', 'idle;rm'),
  junkText(12),
);
const url = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1:2/hook',
    'https://example.com/x',
    'ftp://example.com/',
    'http://',
    'https://[::1',
    'javascript:alert(1)',
    'http://exa mple.com',
    '//x',
    'HTTP://EXAMPLE.COM',
  ),
  fc.webUrl(),
  junkText(30),
);
const envWord = fc.oneof(
  fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), junkText(12)).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('FOO', '=x', '1A=2', 'A-B=1', 'A B=1', 'A\n=1', 'é=1', 'A==', 'PATH=', '_=_'),
  junkText(16),
);
const integerish = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('-1', '0', '101', '1e2', '3.5', 'NaN', 'many', '', ' 2', '0x10', '99999999999999999999'),
  junkText(6),
);
const idish = fc.oneof(
  fc.constantFrom(
    KNOWN_ID,
    KNOWN_ID.slice(0, 8),
    KNOWN_ID.toUpperCase(),
    'f0f0f0',
    'f0f0',
    'abcdef12-0000-4000-8000-000000000001',
    'zzzzzz',
    '-1',
    `${KNOWN_ID}\n`,
    ' f0f0f0f0 ',
  ),
  fc.stringMatching(/^[0-9a-f-]{1,40}$/),
  junkText(20),
);
const unknownFlag = fc.oneof(
  fc.stringMatching(/^--[a-z][a-z-]{0,12}$/),
  fc.stringMatching(/^-[A-Za-z0-9]$/),
  junkText(10).map((t) => `--${t}`),
);

// Flag/value pairs a command knows, plus the odd unknown flag or stray word.
type Pair = fc.Arbitrary<string[]>;
const flag = (name: string, value: fc.Arbitrary<string>): Pair => value.map((v) => [name, v]);
const equalsFlag = (name: string, value: fc.Arbitrary<string>): Pair => value.map((v) => [`${name}=${v}`]);
const noise: Pair[] = [
  unknownFlag.map((f) => [f]),
  fc.tuple(unknownFlag, junkText(8)).map(([f, v]) => [f, v]),
  junkText(12).map((w) => [w]),
  fc.constantFrom(['--'], ['--help'], ['--json'], ['--config'], ['-h']),
];

const dispatch: Pair[] = [
  flag('--executor', executorName),
  flag('-e', executorName),
  flag('--timeout', nearDuration),
  equalsFlag('--timeout', nearDuration),
  flag('--retries', integerish),
  flag('--backoff', nearDuration),
  flag('--callback', url),
  flag('--label', fc.oneof(fc.constantFrom('quick', 'rust', 'gpu', ''), junkText(8))),
  flag('--name', junkText(40)),
  flag('--notify', fc.oneof(fc.constantFrom('none', 'desk', '', 'none,desk', 'desk,desk', ','), junkText(10))),
  flag('--notify-session', fc.oneof(fc.constantFrom('agent:main:x', ''), junkText(12))),
];

const commandArgs: Record<string, { always: string[]; pairs: Pair[] }> = {
  run: {
    always: ['-e', 'idle'],
    pairs: [
      ...dispatch,
      flag('--cmd', junkText(20)),
      flag('-c', fc.constantFrom('true', 'echo hi', '', ' ')),
      flag('--env', envWord),
      flag('--workdir', junkText(20)),
      flag('-w', junkText(10)),
    ],
  },
  start: {
    always: ['-e', 'idle'],
    pairs: [
      ...dispatch,
      flag('--prompt', junkText(30)),
      flag('-p', fc.constantFrom('fix it', '', '  ')),
      flag('--prompt-file', fc.constantFrom('/nonexistent', '/etc', '/dev/null', '')),
      flag('--continue', idish),
      flag('--max-turns', integerish),
      flag('--allowed-tools', junkText(12)),
      flag('--permission-mode', fc.oneof(fc.constantFrom('default', 'plan', 'yolo', 'PLAN', ''), junkText(10))),
      flag(
        '--max-budget-usd',
        fc.oneof(fc.constantFrom('2.50', '0', '-1', 'Infinity', 'NaN', '1e309', '$2'), junkText(6)),
      ),
      flag('--model', junkText(10)),
    ],
  },
  kill: {
    always: [],
    pairs: [flag('--grace', nearDuration), flag('--task-id', idish), flag('-t', idish), idish.map((id) => [id])],
  },
  wait: {
    always: ['--timeout', '1s'],
    pairs: [
      flag('--timeout', nearDuration),
      idish.filter((id) => !KNOWN_ID.startsWith(id.trim().toLowerCase())).map((id) => [id]),
    ],
  },
  logs: {
    always: [],
    pairs: [
      flag('--lines', integerish),
      flag('-l', integerish),
      flag('--task-id', idish),
      fc.constant(['--raw']),
      idish.map((id) => [id]),
    ],
  },
  list: {
    always: [],
    pairs: [
      flag('--status', fc.oneof(fc.constantFrom('queued', 'running', 'done', 'QUEUED', ''), junkText(10))),
      flag('--executor', executorName),
      flag('--type', fc.constantFrom('claude_code', 'shell_command', 'shell', '')),
      flag('--limit', integerish),
      fc.constantFrom(['--json'], ['--jsonl']),
    ],
  },
  status: { always: [], pairs: [flag('--task-id', idish), idish.map((id) => [id]), fc.constant(['--json'])] },
};

export const COMMAND_NAMES = Object.keys(commandArgs);

/** A whole argv for one command: some always-present words, then known and unknown flags in any order. */
export function argvFor(command: string): fc.Arbitrary<string[]> {
  const { always, pairs } = commandArgs[command]!;
  return fc
    .tuple(
      fc.array(fc.oneof({ arbitrary: fc.oneof(...pairs), weight: 5 }, { arbitrary: fc.oneof(...noise), weight: 1 }), {
        maxLength: 5,
      }),
      fc.boolean(),
    )
    .map(([parts, keepAlways]) => [command, ...(keepAlways || command === 'wait' ? always : []), ...parts.flat()])
    .filter((argv) => !blocks(argv) && !(command === 'wait' && argv.includes(KNOWN_ID)));
}

/** Any of the commands, or a word that is not one. */
export const anyArgv: fc.Arbitrary<string[]> = fc.oneof(
  { arbitrary: fc.constantFrom(...COMMAND_NAMES).chain(argvFor), weight: 9 },
  {
    arbitrary: fc
      .tuple(junkText(10), fc.array(junkText(8), { maxLength: 3 }))
      .map(([first, rest]) => [first, ...rest])
      .filter((argv) => !blocks(argv) && !COMMAND_NAMES.includes(argv[0]!)),
    weight: 1,
  },
);
