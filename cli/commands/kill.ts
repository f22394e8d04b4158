// `openclaw-agent kill`: cancels a task that has not started or stops a running one, then says how
// it ended; with --label/--executor/--status, every task that matches.
import { Flags } from '@oclif/core';
import type { KillResult, TaskClient } from '../../src/index.js';
import { BaseCommand } from '../base-command.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { lib, taskControl } from '../load-library.js';
import {
  checkSelection,
  noneSelectedLine,
  selectTasks,
  selectionFlags,
  type SelectionFlags,
} from '../task-selection.js';

export default class Kill extends BaseCommand {
  static override summary =
    'Kill a task: cancel it if it has not started, else SIGTERM its process group, then SIGKILL after the grace period';
  static override examples = [
    '<%= config.bin %> kill 3f2a9c',
    '<%= config.bin %> kill 3f2a9c --grace 30s',
    '<%= config.bin %> kill --label nightly',
    '<%= config.bin %> kill --executor crib --status queued',
  ];
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    ...selectionFlags('Kill', 'that has not ended'),
    grace: Flags.string({ description: 'Time between SIGTERM and SIGKILL', default: '10s' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Kill);
    const { requireDuration } = await lib();
    const graceMs = flags.grace === '0' ? 0 : requireDuration('--grace', flags.grace);
    const bulk = flags.label !== undefined || flags.executor !== undefined || flags.status !== undefined;
    if (bulk) {
      await this.killSelected(flags, graceMs, args.id ?? flags['task-id']);
      return;
    }
    const id = await requireTaskId(args.id, flags['task-id'], 'select tasks with --label, --executor or --status');
    const client = await this.openClient(flags.config);
    const { killTask } = await taskControl();
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
    if ((await this.waitForStops(client, [taskId], graceMs)) === 0) {
      this.log(
        `Kill of task ${taskId} requested; it has not stopped within ${Math.round(graceMs / 1000) + 5}s and stops once its worker reaches it (\`openclaw-agent logs ${taskId}\` says why it waits).`,
      );
      return;
    }
    const view = await client.get(taskId);
    this.log(
      view.status === 'killed'
        ? `Task ${taskId} killed.`
        : `Task ${taskId} ended (${view.status}) before the kill took effect.`,
    );
  }

  // Every task that matches and has not ended: those not started first (they are only cancelled),
  // then the running ones, whose stops are awaited together.
  private async killSelected(flags: SelectionFlags & { config?: string }, graceMs: number, id: string | undefined) {
    const { UsageError } = await lib();
    if (id !== undefined) throw new UsageError('give a task id or --label/--executor/--status, not both');
    await checkSelection(await this.loadConfig(flags.config), flags, { active: true });
    const client = await this.openClient(flags.config);
    const { views, described } = await selectTasks(client, flags, { active: true });
    const { killTask } = await taskControl();
    const results: KillResult[] = [];
    const order = [...views].sort((a, b) => Number(a.status === 'running') - Number(b.status === 'running'));
    for (const view of order) results.push(await killTask(client, view.record.id, graceMs));
    const cancelled = results.filter((r) => r.kind === 'cancelled').length;
    const stopping = results.filter((r) => r.kind === 'stop-requested').map((r) => r.view.record.id);
    const stopped = await this.waitForStops(client, stopping, graceMs);
    const parts = [`${cancelled} cancelled before starting`, `${stopped} stopped`];
    if (stopped < stopping.length) parts.push(`${stopping.length - stopped} still stopping`);
    const gone = results.length - cancelled - stopping.length;
    if (gone > 0) parts.push(`${gone} ended meanwhile`);
    this.log(
      results.length === 0
        ? noneSelectedLine(flags)
        : `Killed ${results.length} task${results.length === 1 ? '' : 's'} ${described}: ${parts.join(', ')}.`,
    );
  }

  // Waits for stop-requested tasks to end (the grace period and a margin); returns how many did.
  private async waitForStops(client: TaskClient, ids: string[], graceMs: number): Promise<number> {
    if (ids.length === 0) return 0;
    const { waitForTasks, WaitTimeoutError } = await taskControl();
    try {
      await waitForTasks(client, ids, { timeoutMs: graceMs + 5000 });
      return ids.length;
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      const { isEndedStatus } = await lib();
      return (await client.views(ids)).filter((view) => isEndedStatus(view.status)).length;
    }
  }
}
