// The CLI's commands by name, the table oclif finds them in.
import Cleanup from './cleanup.js';
import Config from './config.js';
import Dashboard from './dashboard.js';
import Diff from './diff.js';
import Down from './down.js';
import Executors from './executors.js';
import Kill from './kill.js';
import List from './list.js';
import Logs from './logs.js';
import Mcp from './mcp.js';
import Pause from './pause.js';
import Resume from './resume.js';
import Retry from './retry.js';
import Run from './run.js';
import ScheduleAdd from './schedule/add.js';
import ScheduleList from './schedule/list.js';
import SchedulePause from './schedule/pause.js';
import ScheduleResume from './schedule/resume.js';
import ScheduleRm from './schedule/rm.js';
import Skill from './skill.js';
import Start from './start.js';
import Status from './status.js';
import Up from './up.js';
import Wait from './wait.js';
import Worker from './worker.js';

/** Every command, for oclif's explicit command discovery (no directory scan at start-up). */
export const COMMANDS = {
  cleanup: Cleanup,
  config: Config,
  dashboard: Dashboard,
  diff: Diff,
  down: Down,
  executors: Executors,
  kill: Kill,
  list: List,
  logs: Logs,
  mcp: Mcp,
  pause: Pause,
  resume: Resume,
  retry: Retry,
  run: Run,
  'schedule:add': ScheduleAdd,
  'schedule:list': ScheduleList,
  'schedule:pause': SchedulePause,
  'schedule:resume': ScheduleResume,
  'schedule:rm': ScheduleRm,
  skill: Skill,
  start: Start,
  status: Status,
  up: Up,
  wait: Wait,
  worker: Worker,
};
