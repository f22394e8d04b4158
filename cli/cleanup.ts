import { BaseCommand } from './base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from './task-id.js';
import { taskControl } from './lib.js';

export default class Cleanup extends BaseCommand {
  static override summary = 'Remove an ended task: its spool directory, logs and record';
  static override args = taskIdArgs;
  static override flags = { ...taskIdFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Cleanup);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const { cleanupTask } = await taskControl();
    const { id: taskId } = await cleanupTask(client, id);
    this.log(`Task ${taskId} cleaned up.`);
  }
}
