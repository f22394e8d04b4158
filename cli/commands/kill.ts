// `openclaw-agent kill`: cancels a queued task or stops a running one, then says how it ended.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { lib, taskControl } from '../load-library.js';

export default class Kill extends BaseCommand {
  static override summary =
    'Kill a task: cancel it if queued, else SIGTERM its process group, then SIGKILL after the grace period';
  static override examples = ['<%= config.bin %> kill 3f2a9c', '<%= config.bin %> kill 3f2a9c --grace 30s'];
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    grace: Flags.string({ description: 'Time between SIGTERM and SIGKILL', default: '10s' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Kill);
    const id = await requireTaskId(args.id, flags['task-id']);
    const { requireDuration } = await lib();
    const graceMs = flags.grace === '0' ? 0 : requireDuration('--grace', flags.grace);
    const client = await this.openClient(flags.config);
    const { killTask, waitForTasks, WaitTimeoutError } = await taskControl();
    const result = await killTask(client, id, graceMs);
    const taskId = result.view.record.id;
    if (result.kind === 'already-ended') {
      this.log(`Task ${taskId} already ended (${result.view.status}).`);
      return;
    }
    if (result.kind === 'cancelled') {
      this.log(
        result.view.status === 'killed'
          ? `Task ${taskId} killed (it was waiting for a retry).`
          : `Task ${taskId} cancelled (it had not started).`,
      );
      return;
    }
    try {
      const [view] = await waitForTasks(client, [taskId], { timeoutMs: graceMs + 5000 });
      this.log(
        view!.status === 'killed'
          ? `Task ${taskId} killed.`
          : `Task ${taskId} ended (${view!.status}) before the kill took effect.`,
      );
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      this.log(
        `Kill of task ${taskId} requested; it stops as soon as a worker follows it (no worker acted within ${Math.round(graceMs / 1000) + 5}s).`,
      );
    }
  }
}
