import { Flags } from '@oclif/core';
import { BaseCommand } from './base-command.js';
import { dispatchFlags, dispatchTask } from './dispatch.js';
import { lib } from './lib.js';

export default class Start extends BaseCommand {
  static override summary = 'Start a Claude Code task';
  static override description = 'Runs `claude -p` on the executor with the prompt on stdin; prints the task id at once.';
  static override examples = ['<%= config.bin %> start --executor crib --workspace ~/app --prompt "Fix the nix build"'];
  static override flags = {
    ...dispatchFlags,
    prompt: Flags.string({ char: 'p', description: 'The prompt' }),
    workspace: Flags.string({ char: 'w', aliases: ['workdir'], description: 'Workspace directory (~ expands on the executor)' }),
    'max-turns': Flags.integer({ description: 'Maximum agent turns (default: defaults.max_turns)', min: 1 }),
    'allowed-tools': Flags.string({ description: 'Tool Claude may use without asking (repeatable or comma-separated)', multiple: true }),
    model: Flags.string({ description: 'Model name or alias for claude --model' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Start);
    const { buildClaudePayload } = await lib();
    const payload = buildClaudePayload({
      prompt: flags.prompt,
      maxTurns: flags['max-turns'],
      workspace: flags.workspace,
      allowedTools: flags['allowed-tools'],
      model: flags.model,
    });
    const client = await this.openClient(flags.config);
    process.exitCode = await dispatchTask(client, payload, flags);
  }
}
