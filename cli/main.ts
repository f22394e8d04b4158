// The CLI's entry point: checks the command word and runs the command through oclif; and the
// warm-up the build runs before it saves the code cache.
import { Config, execute, Parser } from '@oclif/core';
import { COMMANDS } from './commands/index.js';
import { hoistGlobalFlags } from './global-flags.js';
import { lib } from './load-library.js';
import { preferOneShotParsing } from './parse-mode.js';
import { escapeControls } from '../src/text/escape.js';

export { COMMANDS };

/**
 * The CLI. `root` is the file oclif starts from (it finds package.json above it). The original
 * tool took `-c/--config` and `-v/--verbose` before the subcommand; they still work.
 */
export async function main(argv: string[], root: string): Promise<void> {
  const args = topicCommand(hoistGlobalFlags(argv, process.env));
  if (args === undefined) return;
  const first = args[0];
  const rootFlag = first === '--help' || first === '--version';
  if (first !== undefined && !rootFlag && first !== 'help' && !Object.hasOwn(COMMANDS, first)) {
    process.stderr.write(
      `openclaw-agent: unknown command "${escapeControls(first)}" — commands: ${[...new Set(Object.keys(COMMANDS).map((id) => id.replace(/:.*/, '')))].sort().join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  // `run --help anything`: oclif would look for a command "run:anything" and print a stack.
  const help = args.indexOf('--help');
  if (
    first !== undefined &&
    Object.hasOwn(COMMANDS, first) &&
    help > 0 &&
    (args.indexOf('--') === -1 || help < args.indexOf('--'))
  ) {
    await execute({ args: [first, '--help'], dir: root });
    return;
  }
  const stray = first === undefined ? undefined : strayWord(first, args[1]);
  if (stray !== undefined) {
    process.stderr.write(
      `openclaw-agent: unexpected argument "${escapeControls(stray)}": \`${first}\` takes no arguments (see \`openclaw-agent ${first} --help\`)\n`,
    );
    process.exitCode = 2;
    return;
  }
  // Workers, the stack and the dashboard parse job data and request bodies for as long as they run.
  if (first === undefined || !LONG_RUNNING.has(first)) preferOneShotParsing();
  await execute({ args, dir: root });
}

const LONG_RUNNING = new Set(['worker', 'up', 'dashboard']);

/** Topics: commands of two words, like `schedule add` (`schedule:add` in COMMANDS). */
const TOPICS = new Set(Object.keys(COMMANDS).flatMap((id) => (id.includes(':') ? [id.split(':')[0]!] : [])));

// `schedule add …` as the command id `schedule:add …`; the topic alone (or --help) lists its commands.
// Returns undefined when it has answered.
function topicCommand(args: string[]): string[] | undefined {
  const [topic, verb] = args;
  if (topic === undefined || !TOPICS.has(topic)) return args;
  const verbs = Object.keys(COMMANDS)
    .filter((id) => id.startsWith(`${topic}:`))
    .map((id) => id.slice(topic.length + 1));
  if (verb !== undefined && verbs.includes(verb)) return [`${topic}:${verb}`, ...args.slice(2)];
  const usage = `openclaw-agent ${topic} ${verbs.join('|')} — see \`openclaw-agent ${topic} ${verbs[0]} --help\``;
  if (verb === undefined || verb === '--help' || verb === 'help') {
    process.stdout.write(`${usage}\n`);
    if (verb === undefined) process.exitCode = 2;
    return undefined;
  }
  process.stderr.write(`openclaw-agent: unknown command "${topic} ${escapeControls(verb)}": ${usage}\n`);
  process.exitCode = 2;
  return undefined;
}

// oclif reads a word after a command that takes no arguments as a subcommand (`list foo` is
// "command list:foo not found", printed in oclif's own multi-line format): refuse it here instead.
function strayWord(command: string, next: string | undefined): string | undefined {
  if (next === undefined || next.startsWith('-') || next.includes('=') || !Object.hasOwn(COMMANDS, command))
    return undefined;
  const Command = COMMANDS[command as keyof typeof COMMANDS] as { strict?: boolean; args?: Record<string, unknown> };
  return Command.strict !== false && Object.keys(Command.args ?? {}).length === 0 ? next : undefined;
}

/**
 * Runs the start-up path of a typical command without Redis: the library's initialisation, a
 * config and a task request through their schemas, oclif's config and flag parsing. The build
 * runs this before it saves the code cache, so that the cache holds these functions compiled.
 */
export async function warm(root: string): Promise<void> {
  const library = await lib();
  const config = library.parseConfigText(
    'executors:\n  - name: local\n    type: local\n    env: { A: "1" }\n',
    'warm-up',
  );
  const payload = library.buildShellPayload({
    cmd: 'true',
    argv: [],
    env: library.parseEnvAssignments(['A=1'], {}),
    workdir: '/',
  });
  const notifiers = library.resolveTaskNotifiers(config, undefined, undefined, {
    notify: '--notify',
    session: '--notify-session',
  });
  library.TaskRequestSchema.parse({
    executor: config.executors[0]!.name,
    payload,
    createdAt: Date.now(),
    ...notifiers,
  });
  await Config.load(root);
  await Parser.parse(['-e', 'local', '-c', 'true'], {
    flags: COMMANDS.run.flags,
    args: COMMANDS.run.args,
    strict: false,
  });
}
