import type { ExecutorConfig } from '../config.js';
import { ContainerExecutor } from './container/container-executor.js';
import type { Executor } from './executor.js';
import { LocalExecutor } from './local-executor.js';
import { SshExecutor } from './ssh/ssh-executor.js';

/** The implementation behind an executor's `type`. */
export function createExecutor(config: ExecutorConfig, log: (line: string) => void = () => {}): Executor {
  switch (config.type) {
    case 'local':
      return new LocalExecutor();
    case 'ssh':
      return new SshExecutor(config, log);
    case 'container':
      return new ContainerExecutor(config);
  }
}
