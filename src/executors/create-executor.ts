import type { ExecutorConfig } from '../config.js';
import { OcaError } from '../errors.js';
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
      throw new OcaError('EXECUTOR_FAILED', `executor "${config.name}" has type ${config.type}, which this version cannot run yet; use a local executor`);
  }
}
