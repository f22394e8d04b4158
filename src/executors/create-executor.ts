// The executor implementation (local, SSH, container) for an executor in the config.
import type { ExecutorConfig } from '../config/config.js';
import { ContainerExecutor } from './container/container-executor.js';
import type { Executor } from './executor.js';
import { LocalExecutor, type LocalExecutorOptions } from './local/local-executor.js';
import { SshExecutor } from './ssh/ssh-executor.js';

/**
 * The implementation behind an executor's `type`; `local` takes the worker's host id and lock
 * duration, local and SSH the spool cap (`maxSpoolBytes`).
 */
export function createExecutor(
  config: ExecutorConfig,
  log: (line: string) => void = () => {},
  local: Omit<LocalExecutorOptions, 'onLog'> = {},
): Executor {
  switch (config.type) {
    case 'local':
      return new LocalExecutor({ ...local, onLog: log });
    case 'ssh':
      return new SshExecutor(config, log, { maxSpoolBytes: local.maxSpoolBytes });
    case 'container':
      return new ContainerExecutor(config);
  }
}
