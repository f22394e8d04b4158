/**
 * The library, loaded lazily so that `--help` and argument errors never pay for it. In the CLI
 * bundle these imports are lazily initialised parts of the same file. `lib()` is what every
 * task command needs; `taskControl()` adds kill, wait, retry and cleanup, which reach into the
 * executors; `schedules()` the schedule commands.
 */
import type * as Library from './command-library.js';
import type * as TaskControl from '../src/tasks/control.js';
import type * as Schedules from './schedule-library.js';

let loading: Promise<typeof Library> | undefined;
let loadingControl: Promise<typeof TaskControl> | undefined;
let loadingSchedules: Promise<typeof Schedules> | undefined;

export function lib(): Promise<typeof Library> {
  loading ??= import('./command-library.js');
  return loading;
}

export function taskControl(): Promise<typeof TaskControl> {
  loadingControl ??= import('../src/tasks/control.js');
  return loadingControl;
}

export function schedules(): Promise<typeof Schedules> {
  loadingSchedules ??= import('./schedule-library.js');
  return loadingSchedules;
}
