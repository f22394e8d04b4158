import Config from './config.js';
import Executors from './executors.js';
import List from './list.js';
import Logs from './logs.js';
import Run from './run.js';
import Start from './start.js';
import Status from './status.js';
import Worker from './worker.js';

/** Every command, for oclif's explicit command discovery (no directory scan at start-up). */
export const COMMANDS = {
  config: Config,
  executors: Executors,
  list: List,
  logs: Logs,
  run: Run,
  start: Start,
  status: Status,
  worker: Worker,
};
