// `openclaw-agent schedule resume`: ticks again, from the pattern's next time.
import { ScheduleChangeCommand, scheduleNameArgs } from './change.js';

export default class ScheduleResume extends ScheduleChangeCommand {
  static override summary = 'Resume a paused schedule from its next tick';
  static override args = scheduleNameArgs;
  protected readonly action = 'resumeSchedule';
  protected readonly done = 'resumed';
}
