// `openclaw-agent wait`: waits for tasks to end, then exits with the first failing one's code.
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib, taskControl } from '../load-library.js';
import { checkSelection, noneSelectedLine, selectionFlags, selectTasks } from '../task-selection.js';
import type { TaskView } from '../../src/index.js';

export default class Wait extends BaseCommand {
  static override summary = 'Wait for tasks to end; exit with the exit code of the (first failing) task';
  static override examples = [
    '<%= config.bin %> wait 3f2a9c',
    '<%= config.bin %> wait 3f2a9c 81be07 --timeout 2h',
    '<%= config.bin %> wait --label nightly',
  ];
  static override strict = false;
  static override args = { ids: Args.string({ description: 'Task ids or unique prefixes', required: false }) };
  static override flags = {
    timeout: Flags.string({ description: 'Give up after this long (exit 124)' }),
    ...selectionFlags('Wait for', 'that has not ended yet'),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Wait);
    const ids = argv as string[];
    const { UsageError } = await lib();
    const bulk = flags.label !== undefined || flags.executor !== undefined || flags.status !== undefined;
    if (ids.length === 0 && !bulk) throw new UsageError('missing task id: `openclaw-agent wait <id…>`');
    const { requireDuration } = await lib();
    const timeoutMs = flags.timeout === undefined ? undefined : requireDuration('--timeout', flags.timeout);
    if (bulk) await checkSelection(await this.loadConfig(flags.config), flags, { active: true });
    const client = await this.openClient(flags.config);
    const full: string[] = [];
    const unserved = new Map<string, string>();
    // A task that waits for a worker nobody runs would be waited for forever: say so once per executor.
    const noteUnserved = (view: TaskView) => {
      if (view.waitingReason === 'no_worker' && view.waitingFor !== undefined)
        unserved.set(view.record.executor, view.waitingFor);
    };
    for (const id of ids) {
      const view = await client.get(id);
      full.push(view.record.id);
      noteUnserved(view);
    }
    if (bulk) {
      // The tasks selected that have not ended yet (yesterday's failed nightly must not fail
      // tonight's wait); tasks enqueued later are not waited for. Name ids to wait for ended ones.
      const { views } = await selectTasks(client, flags, { active: true });
      for (const view of views) {
        if (full.includes(view.record.id)) continue;
        full.push(view.record.id);
        noteUnserved(view);
      }
      if (full.length === 0) {
        this.log(noneSelectedLine(flags));
        return;
      }
    }
    for (const waitingFor of unserved.values()) process.stderr.write(`openclaw-agent: waiting for ${waitingFor}\n`);
    const { waitForTasks } = await taskControl();
    const { formatEndSummary } = await lib();
    const views = await waitForTasks(client, full, { timeoutMs });
    let code = 0;
    for (const view of views) {
      this.log(formatEndSummary(view));
      if (code === 0 && view.status !== 'completed') code = view.record.exitCode || 1;
    }
    process.exitCode = code;
  }
}
