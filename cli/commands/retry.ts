// `openclaw-agent retry`: enqueues an earlier task's request again, as a new task.
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { taskControl } from '../load-library.js';

export default class Retry extends BaseCommand {
  static override summary = 'Enqueue a new task with the same request as an earlier one; prints the new id';
  static override args = taskIdArgs;
  static override flags = { ...taskIdFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Retry);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const { retryTask } = await taskControl();
    const created = await retryTask(client, id);
    this.log(created.id);
  }
}
