/** What the schedule commands use of the library, loaded only by them (see load-library.ts). */
import type { ScheduleView } from '../src/schedules/schedule-store.js';
import { escapeControls } from '../src/text/escape.js';

export {
  addSchedule,
  listSchedules,
  nextTick,
  pauseSchedule,
  removeSchedule,
  requireScheduleName,
  resumeSchedule,
  scheduleJson,
} from '../src/schedules/schedule-store.js';
export { formatSchedule, formatScheduleTable } from '../src/schedules/schedule-format.js';

/**
 * A schedule with its text (the task's command or prompt, its last result) made safe for a
 * terminal, as `list` and `status` show tasks: control characters escaped, line breaks as ⏎.
 */
export function escapeScheduleView(view: ScheduleView): ScheduleView {
  const safe = (text: string) => escapeControls(text.replace(/\s*\n\s*/g, ' ⏎ '));
  return {
    ...view,
    name: safe(view.name),
    cron: safe(view.cron),
    tz: safe(view.tz),
    executor: safe(view.executor),
    summary: safe(view.summary),
    ...(view.lastResult !== undefined ? { lastResult: safe(view.lastResult) } : {}),
  };
}
