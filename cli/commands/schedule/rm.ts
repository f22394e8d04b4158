// `openclaw-agent schedule rm`: removes a schedule; the tasks it made stay.
import { ScheduleChangeCommand, scheduleNameArgs } from './change.js';

export default class ScheduleRm extends ScheduleChangeCommand {
  static override summary = 'Remove a schedule (the tasks it made stay)';
  static override args = scheduleNameArgs;
  protected readonly action = 'removeSchedule';
  protected readonly done = 'removed';
}
