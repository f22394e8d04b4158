// `openclaw-agent logs`: a task's last lines (a Claude task's as a transcript); --follow to its end.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { entryPrinterFor, exitCodeOfEnd, followTask } from '../log-output.js';
import { requireTaskId, taskIdArgs, taskIdFlag } from '../task-id.js';
import { lib } from '../load-library.js';

export default class Logs extends BaseCommand {
  static override summary = "Print a task's output (stderr to stderr)";
  static override description =
    "A Claude Code task's output is shown as a transcript: its text, `→ Bash: cargo build` per tool call, shortened tool results and the outcome with turns and cost. `--raw` prints its stream-json lines as stored.";
  static override examples = [
    '<%= config.bin %> logs 3f2a9c --lines 100',
    '<%= config.bin %> logs 3f2a9c --follow',
    '<%= config.bin %> logs 3f2a9c --raw | jq -c \'select(.type == "result")\'',
  ];
  static override args = taskIdArgs;
  static override flags = {
    ...taskIdFlag,
    lines: Flags.integer({
      char: 'l',
      description: 'How many of the last lines to print (of the stream-json, for a Claude task)',
      default: 50,
      min: 0,
    }),
    follow: Flags.boolean({
      char: 'f',
      description: 'Keep printing until the task ends, then exit with its exit code',
    }),
    raw: Flags.boolean({ description: "Print a Claude task's stream-json lines as stored instead of a transcript" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const id = await requireTaskId(args.id, flags['task-id']);
    const client = await this.openClient(flags.config);
    const view = await client.get(id);
    const { readLogTail, isEndedStatus } = await lib();
    const { entries, lastId } = await readLogTail(client.redis, client.keys, view.record.id, flags.lines);
    const printer = await entryPrinterFor(view.record.taskType, flags.raw);
    for (const entry of entries) printer.print(entry);
    const last = entries.at(-1);
    if (flags.follow && last?.kind !== 'end') {
      process.exitCode = await followTask(client, view.record.id, lastId, printer);
      return;
    }
    // A running task's last line may be half written: it is shown whole next time.
    if (last?.kind === 'end' || isEndedStatus(view.status)) printer.end();
    if (flags.follow && last?.kind === 'end') process.exitCode = exitCodeOfEnd(last.end);
  }
}
