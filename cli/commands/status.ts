// `openclaw-agent status`: one task's status, as a block of text or as JSON.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { lib } from '../load-library.js';

export default class Status extends BaseCommand {
  static override summary = "Show a task's status";
  static override examples = ['<%= config.bin %> status 3f2a9c', '<%= config.bin %> status -t 3f2a9c1e-… --json'];
  static override args = taskIdArgs;
  static override flags = { ...taskIdFlag, json: Flags.boolean({ description: 'Print the task record as JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Status);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const view = await client.get(id);
    if (flags.json) {
      const { toTaskJson } = await lib();
      this.printJson(toTaskJson(view));
    } else {
      const { formatStatusBlock } = await lib();
      this.log(formatStatusBlock(view));
    }
  }
}
