// `openclaw-agent list`: tasks, newest first, filtered, as a table, JSON or JSON lines.
import { Flags } from '@oclif/core';
import type { TaskStatus } from '../../src/index.js';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';
import { checkSelection } from '../task-selection.js';

export default class List extends BaseCommand {
  static override summary = 'List tasks, newest first';
  static override examples = [
    '<%= config.bin %> list --status running',
    '<%= config.bin %> list --executor crib --jsonl',
  ];
  static override flags = {
    status: Flags.string({
      description:
        'Only tasks with this status (blocked, scheduled, queued, running, completed, failed, killed, timed_out, lost, cancelled)',
    }),
    executor: Flags.string({ description: 'Only tasks of this executor' }),
    label: Flags.string({ description: 'Only tasks with this label' }),
    type: Flags.string({ description: 'Only tasks of this type', options: ['claude_code', 'shell_command'] }),
    limit: Flags.integer({ description: 'At most this many tasks', default: 50, min: 1 }),
    json: Flags.boolean({ description: 'Print a JSON array' }),
    jsonl: Flags.boolean({ description: 'Print one JSON object per line' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(List);
    const { UsageError } = await lib();
    if (flags.json && flags.jsonl)
      throw new UsageError('give --json (one array) or --jsonl (a line per task), not both');
    // A name not in the config would list nothing, as if the executor had no tasks.
    await checkSelection(await this.loadConfig(flags.config), flags, { active: false });
    const client = await this.openClient(flags.config);
    const views = await client.list({
      status: flags.status as TaskStatus | undefined,
      executor: flags.executor,
      label: flags.label,
      taskType: flags.type as 'claude_code' | 'shell_command' | undefined,
      limit: flags.limit,
    });
    if (flags.jsonl || flags.json) {
      const { toTaskJson } = await lib();
      const records = views.map((view) => toTaskJson(view));
      if (flags.jsonl) process.stdout.write(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      else this.printJson(records);
      return;
    }
    const { formatTaskTable } = await lib();
    this.log(formatTaskTable(views));
    // A paused executor explains why its tasks wait.
    const names = client.config.executors.map((e) => e.name).filter((n) => !flags.executor || n === flags.executor);
    for (const name of await client.pausedExecutors(names)) {
      this.log(`Executor ${name} is paused: it starts no new tasks (\`openclaw-agent resume --executor ${name}\`).`);
    }
  }
}
