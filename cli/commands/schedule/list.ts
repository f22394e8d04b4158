// `openclaw-agent schedule list`: the schedules, their next tick and last result.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { schedules } from '../../load-library.js';

export default class ScheduleList extends BaseCommand {
  static override summary = 'List schedules with their next run and last result';
  static override flags = { json: Flags.boolean({ description: 'Print a JSON array' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(ScheduleList);
    const client = await this.openClient(flags.config);
    const { listSchedules, scheduleJson, formatScheduleTable, escapeScheduleView } = await schedules();
    const views = await listSchedules(client);
    if (flags.json) this.printJson(views.map(scheduleJson));
    else this.log(formatScheduleTable(views.map(escapeScheduleView)));
  }
}
