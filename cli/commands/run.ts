// `openclaw-agent run`: dispatches a shell command, a `sh -c` string or an argv, as a task.
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { dispatchFlags, dispatchOptions, dispatchTask } from '../dispatch.js';
import { argvEncodingProblem } from '../global-flags.js';
import { lib } from '../load-library.js';
import { checkTaskInput } from '../task-check.js';
import type { EnqueueInput } from '../../src/index.js';

export default class Run extends BaseCommand {
  static override summary = 'Run a shell command as a detached task';
  static override description =
    'Prints the task id at once. `--cmd` is run by `sh -c`; words after `--` are run as argv, without a shell.';
  static override examples = [
    '<%= config.bin %> run --executor crib --workdir ~/lez-framework --cmd "cargo test --workspace"',
    '<%= config.bin %> run -e local --follow -- printf "%s\\n" "it\'s" \'$(id)\'',
  ];
  static override strict = false;
  static override args = { argv: Args.string({ description: 'Command and arguments after --', required: false }) };
  static override flags = {
    ...dispatchFlags,
    cmd: Flags.string({ char: 'c', description: 'Command string, run with sh -c' }),
    workspace: Flags.string({
      char: 'w',
      aliases: ['workdir'],
      description: 'Working directory (~ expands on the executor)',
    }),
    env: Flags.string({
      description:
        'Environment variable for the task: KEY=VALUE, or KEY for the value it has here (repeatable; values are never printed)',
      multiple: true,
    }),
  };

  /** The task these words ask for, checked; nothing connects yet (`schedule add` keeps it). */
  async taskInput(): Promise<{ input: EnqueueInput; flags: Awaited<ReturnType<Run['parseFlags']>> }> {
    // The words after `--` are the argv exactly as given, and never go through oclif's parser:
    // it loses their order when a word equals a flag's value (`--name build -- make build`), and
    // takes time quadratic in their number (`run -- true $(seq 1 40000)`).
    const words = this.argv;
    const separator = words.indexOf('--');
    const { buildShellPayload, parseEnvAssignments, UsageError } = await lib();
    const problem = argvEncodingProblem(words);
    if (problem !== undefined) throw new UsageError(problem);
    const flags = await this.parseFlags(separator === -1 ? words : words.slice(0, separator));
    const argv = separator === -1 ? flags.argv : words.slice(separator + 1);
    if (flags.cmd === undefined && argv[0] === '')
      throw new UsageError('the first word after -- is empty: give the program to run');
    const payload = buildShellPayload({
      cmd: flags.cmd,
      argv,
      env: parseEnvAssignments(flags.env ?? [], process.env),
      workdir: flags.workspace,
    });
    const config = await this.loadConfig(flags.config);
    const input = { ...(await dispatchOptions(config, flags)), payload };
    await checkTaskInput(config, input, { argv: words, flags: Run.flags });
    return { input, flags };
  }

  private async parseFlags(words: string[]) {
    const { flags, argv } = await this.parse(Run, words);
    return { ...flags, argv: argv as string[] };
  }

  async run(): Promise<void> {
    const { input, flags } = await this.taskInput();
    const client = await this.openClient(flags.config, (c) => c.prepare(input));
    process.exitCode = await dispatchTask(client, input.payload, input, flags);
  }
}
