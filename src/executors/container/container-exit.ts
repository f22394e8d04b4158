// How a task's container ended, as the task's result; an out-of-memory kill is named as such.
import { formatByteSize } from '../../config/byte-size.js';
import { resultFromExitCode, type ExecutionResult } from '../executor.js';

/** How a container ended, as the engine reports it. */
export interface ContainerExit {
  exitCode: number;
  oomKilled: boolean;
  /** The engine's own error about the container, if any. */
  error: string;
  /** When it ended by the engine's clock (State.FinishedAt), in ms since the epoch. */
  finishedAt?: number;
  /** When the worker saw it had ended (its wait returned), on the worker's clock. */
  seenAt?: number;
}

/**
 * The result of a container that exited: its exit code, and an out-of-memory kill named as such.
 * Where the engine does not report OOM kills (podman 4 on cgroup v1), a SIGKILL that nobody sent
 * under a memory limit is called a likely one.
 */
export function describeExit(exit: ContainerExit, memoryLimit: number | undefined, stopped: boolean): ExecutionResult {
  const limit =
    memoryLimit === undefined ? 'no memory limit of its own' : `a memory limit of ${formatByteSize(memoryLimit)}`;
  if (exit.oomKilled) {
    return {
      outcome: 'failed',
      exitCode: exit.exitCode,
      signal: 'SIGKILL',
      error: `out of memory: the container was OOM-killed (it has ${limit})`,
    };
  }
  if (exit.exitCode === 137 && memoryLimit !== undefined && !stopped) {
    return {
      outcome: 'failed',
      exitCode: 137,
      signal: 'SIGKILL',
      error: `killed by SIGKILL with ${limit}: probably out of memory (the engine did not report an OOM kill)`,
    };
  }
  const result = resultFromExitCode(exit.exitCode);
  return exit.error && exit.exitCode !== 0 ? { ...result, error: exit.error } : result;
}
