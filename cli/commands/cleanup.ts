// `openclaw-agent cleanup`: removes an ended task's spool directory, worktree, logs and record.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { taskControl } from '../load-library.js';

export default class Cleanup extends BaseCommand {
  static override summary = 'Remove an ended task: its spool directory, worktree, logs and record';
  static override description =
    'A task that ran in a git worktree has it removed; its branch stays unless --delete-branch.';
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    'delete-branch': Flags.boolean({ description: "Also delete the branch of the task's worktree (oca/<short id>)" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Cleanup);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const { cleanupTask } = await taskControl();
    const { id: taskId, worktree } = await cleanupTask(client, id, { deleteBranch: flags['delete-branch'] });
    if (worktree === 'in-use') this.log(`Its worktree is kept: a task continuing it runs there.`);
    this.log(`Task ${taskId} cleaned up.`);
  }
}
