// What `schedule pause`, `resume` and `rm` share: a command that changes one schedule by name.
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { lib, schedules } from '../../load-library.js';

/** The one argument of each: the schedule's name. */
export const scheduleNameArgs = { name: Args.string({ description: 'Schedule name', required: false }) };

/** A command that applies `action` to the schedule named by its argument, then says `done`. */
export abstract class ScheduleChangeCommand extends BaseCommand {
  protected abstract readonly action: 'pauseSchedule' | 'resumeSchedule' | 'removeSchedule';
  protected abstract readonly done: string;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.constructor as typeof ScheduleChangeCommand);
    const { UsageError } = await lib();
    if (args.name === undefined) throw new UsageError('missing schedule name: see `openclaw-agent schedule list`');
    const client = await this.openClient(flags.config);
    await (await schedules())[this.action](client, args.name);
    this.log(`Schedule ${args.name} ${this.done}.`);
  }
}
