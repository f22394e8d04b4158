/** What the schedule commands use of the library, loaded only by them (see load-library.ts). */
export {
  addSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  scheduleJson,
} from '../src/schedules/schedule-store.js';
export { formatSchedule, formatScheduleTable } from '../src/schedules/schedule-format.js';
