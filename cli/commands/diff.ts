// `openclaw-agent diff`: what a worktree task changed against its base, as a diff or per file.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';

export default class Diff extends BaseCommand {
  static override summary = 'What a task changed in its git worktree, against its base';
  static override description =
    'For tasks started with --worktree: committed and uncommitted changes (new files too) as a unified diff — kept when the task ended, read live while it runs.';
  static override examples = ['<%= config.bin %> diff 3f2a9c', '<%= config.bin %> diff 3f2a9c --stat'];
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    stat: Flags.boolean({ description: 'A line per changed file and the totals, as git diff --stat' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Diff);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const { readTaskDiff, diffStat, formatDiffStat } = await import('../../src/git/task-diff.js');
    const diff = await readTaskDiff(client, await client.get(id));
    process.stdout.write(flags.stat ? formatDiffStat(diffStat(diff)) : diff);
  }
}
