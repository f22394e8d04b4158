// `openclaw-agent schedule pause`: no ticks until resumed; tasks it made go on.
import { ScheduleChangeCommand, scheduleNameArgs } from './change.js';

export default class SchedulePause extends ScheduleChangeCommand {
  static override summary = 'Pause a schedule: no ticks until resumed (tasks it made go on)';
  static override args = scheduleNameArgs;
  protected readonly action = 'pauseSchedule';
  protected readonly done = 'paused';
}
