import { Config, execute, Parser } from '@oclif/core';
import { COMMANDS } from './commands.js';
import { hoistGlobalFlags } from './global-flags.js';
import { lib } from './lib.js';

export { COMMANDS };

/**
 * The CLI. `root` is the file oclif starts from (it finds package.json above it). The original
 * tool took `-c/--config` and `-v/--verbose` before the subcommand; they still work.
 */
export async function main(argv: string[], root: string): Promise<void> {
  const args = hoistGlobalFlags(argv, process.env);
  const first = args[0];
  if (first !== undefined && !first.startsWith('-') && first !== 'help' && !Object.hasOwn(COMMANDS, first)) {
    process.stderr.write(`openclaw-agent: unknown command "${first}" — commands: ${Object.keys(COMMANDS).sort().join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  await execute({ args, dir: root });
}

/**
 * Runs the start-up path of a typical command without Redis: the library's initialisation, a
 * config and a task request through their schemas, oclif's config and flag parsing. The build
 * runs this before it saves the code cache, so that the cache holds these functions compiled.
 */
export async function warm(root: string): Promise<void> {
  const library = await lib();
  const config = library.parseConfigText('executors:\n  - name: local\n    type: local\n    env: { A: "1" }\n', 'warm-up');
  const payload = library.buildShellPayload({ cmd: 'true', argv: [], env: library.parseEnvAssignments(['A=1']), workdir: '/' });
  library.TaskRequestSchema.parse({ executor: config.executors[0]!.name, payload, createdAt: Date.now() });
  await Config.load(root);
  await Parser.parse(['-e', 'local', '-c', 'true'], { flags: COMMANDS.run.flags, args: COMMANDS.run.args, strict: false });
}
