// `openclaw-agent schedule add`: a named cron that runs a `run` or `start` command at each tick.
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { ownWords } from '../../flag-values.js';
import { lib, schedules } from '../../load-library.js';
import Run from '../run.js';
import Start from '../start.js';

export default class ScheduleAdd extends BaseCommand {
  static override summary = 'Add a schedule: run a task at every tick of a cron pattern';
  static override description =
    'The words after `--` are a `run` or `start` command, checked now and kept; each tick makes an ordinary task named after the schedule and labelled schedule:NAME. Patterns have 5 fields, or 6 with seconds first.';
  static override examples = [
    '<%= config.bin %> schedule add nightly --cron "0 3 * * *" --tz Europe/Prague -- run -e crib -- nix build',
    '<%= config.bin %> schedule add review --cron "0 9 * * 1-5" --overlap skip -- start -e crib -w ~/app --prompt "Review open PRs"',
  ];
  static override strict = false;
  static override args = {
    name: Args.string({ description: 'Schedule name (letters, digits, -, _, .)', required: false }),
  };
  static override flags = {
    cron: Flags.string({ description: 'Cron pattern, like "0 3 * * *" (or "*/10 * * * * *" with seconds)' }),
    tz: Flags.string({ description: 'Time zone the pattern is read in (IANA name)', default: 'UTC' }),
    overlap: Flags.string({
      description: 'While the last tick’s task still runs: queue another (default) or skip the tick',
      options: ['queue', 'skip'],
      default: 'queue',
    }),
    replace: Flags.boolean({ description: 'Replace a schedule of the same name' }),
    json: Flags.boolean({ description: 'Print the schedule as JSON' }),
  };

  async run(): Promise<void> {
    // Only the words before `--` are parsed: oclif would take the first word after it (the task's
    // `run` or `start`) for a NAME left out. (parse keeps what it is given as this.argv.)
    const argv = this.argv;
    const { args, flags } = await this.parse(ScheduleAdd, [...ownWords(argv)]);
    const { UsageError } = await lib();
    const separator = argv.indexOf('--');
    const task = separator === -1 ? [] : argv.slice(separator + 1);
    if (args.name === undefined) {
      throw new UsageError('missing schedule name: `openclaw-agent schedule add NAME --cron "…" -- run …`');
    }
    if (flags.cron === undefined) throw new UsageError('missing --cron: give a pattern like "0 3 * * *"');
    const [verb, ...words] = task;
    if (verb !== 'run' && verb !== 'start') {
      throw new UsageError('after `--` give the task as a `run` or `start` command: `… -- run -e crib -- nix build`');
    }
    // The inner command's own flags and checks, as if it were typed alone.
    const inner = verb === 'run' ? new Run(words, this.config) : new Start(words, this.config);
    inner.takeConfig(await this.loadConfig(flags.config));
    const { input, flags: taskFlags } = await inner.taskInput();
    if ('continue' in taskFlags && taskFlags.continue !== undefined) {
      throw new UsageError('a scheduled `start` cannot --continue a task: each tick starts its own session');
    }
    if (taskFlags.follow || taskFlags.json) {
      throw new UsageError('--follow and --json belong to a task you start now, not to a schedule');
    }
    if (input.after !== undefined || input.delayMs !== undefined || input.runAt !== undefined) {
      throw new UsageError('a scheduled task starts at its tick: --after, --delay and --at have no place in it');
    }
    const { addSchedule, scheduleJson, formatSchedule, requireScheduleName, nextTick, escapeScheduleView } =
      await schedules();
    // Checked before anything connects or starts: the name, the pattern and its time zone.
    requireScheduleName(args.name);
    nextTick(flags.cron.trim(), flags.tz);
    const client = await this.openClient(flags.config, (c) => c.prepare(input));
    const view = await addSchedule(
      client,
      { name: args.name, cron: flags.cron, tz: flags.tz, overlap: flags.overlap as 'queue' | 'skip', task: input },
      { replace: flags.replace },
    );
    if (flags.json) this.printJson(scheduleJson(view));
    else this.log(`Schedule ${view.name} added: ${formatSchedule(escapeScheduleView(view))}`);
  }
}
