// The executor implementation (local, SSH, container) for an executor in the config.
import type { ExecutorConfig } from '../config/config.js';
import { ContainerExecutor } from './container/container-executor.js';
import type { UnendedTasks } from './container/container-retention.js';
import type { Executor } from './executor.js';
import { LocalExecutor, type LocalExecutorOptions } from './local/local-executor.js';
import { SshExecutor } from './ssh/ssh-executor.js';

/**
 * The implementation behind an executor's `type`; `local` takes the worker's host id and lock
 * duration, local and SSH the spool cap (`maxSpoolBytes`), container which tasks have not ended
 * (`unended`: their containers outlive `container_retention`).
 */
export function createExecutor(
  config: ExecutorConfig,
  log: (line: string) => void = () => {},
  options: Omit<LocalExecutorOptions, 'onLog'> & { unended?: UnendedTasks } = {},
): Executor {
  const { unended, ...local } = options;
  switch (config.type) {
    case 'local':
      return new LocalExecutor({ ...local, onLog: log });
    case 'ssh':
      return new SshExecutor(config, log, { maxSpoolBytes: local.maxSpoolBytes });
    case 'container':
      return new ContainerExecutor(config, unended);
  }
}
