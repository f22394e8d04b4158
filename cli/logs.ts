import { Flags } from '@oclif/core';
import { BaseCommand } from './base-command.js';
import { followTask, printEntry, exitCodeOfEnd } from './log-output.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from './task-id.js';
import { lib } from './lib.js';

export default class Logs extends BaseCommand {
  static override summary = 'Print a task\'s output (stderr to stderr)';
  static override examples = ['<%= config.bin %> logs 3f2a9c --lines 100', '<%= config.bin %> logs 3f2a9c --follow'];
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    lines: Flags.integer({ char: 'l', description: 'How many of the last lines to print', default: 50, min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'Keep printing until the task ends, then exit with its exit code' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const view = await client.get(id);
    const { readLogTail } = await lib();
    const { entries, lastId } = await readLogTail(client.redis, client.keys, view.record.id, flags.lines);
    entries.forEach(printEntry);
    if (!flags.follow) return;
    const last = entries.at(-1);
    if (last?.kind === 'end') {
      process.exitCode = exitCodeOfEnd(last.end);
      return;
    }
    process.exitCode = await followTask(client, view.record.id, lastId);
  }
}
