// Which environment variable names a task can be given: a shell's rule (local, SSH) and a container's.
import { InvalidInputError } from '../../errors.js';
import { escapeControls } from '../../text/escape.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why the wrapper's shell cannot set these variables, or undefined when it can: a shell sets only
 * names made of letters, digits and `_` (dash drops any other from its environment), and the
 * wrapper's own are `oca_*`. Local and SSH tasks get their variables this way; containers do not.
 */
export function shellEnvironmentProblem(names: readonly string[]): string | undefined {
  for (const name of names) {
    const shown = escapeControls(name);
    if (!ENV_NAME.test(name))
      return `environment variable name "${shown}" cannot be set by the task's shell — use letters, digits and _`;
    if (name.startsWith('oca_'))
      return `environment variable name "${shown}" is reserved (oca_*) — choose another name`;
  }
  return undefined;
}

/** Throws INVALID_INPUT when the wrapper's shell cannot set (or unset) these variables. */
export function checkShellEnvironment(env: Readonly<Record<string, string>>, unsetEnv: readonly string[] = []): void {
  const problem = shellEnvironmentProblem([...Object.keys(env), ...unsetEnv]);
  if (problem !== undefined) throw new InvalidInputError(problem);
}

/**
 * Why a container cannot be given these variables, or undefined when it can: the engine takes each
 * as one `NAME=value` string, so a name may not be empty or hold `=` (the rest would become the
 * value, or the engine would refuse the whole string, value and all, in its error) or NUL.
 */
export function containerEnvironmentProblem(names: readonly string[]): string | undefined {
  for (const name of names) {
    if (name === '' || name.includes('=') || name.includes('\0'))
      return `environment variable name "${escapeControls(name)}" cannot be passed to a container — it must be non-empty, without \`=\``;
  }
  return undefined;
}

/** Why an executor of `type` cannot be given these variables (see the two rules above), or undefined. */
export function environmentProblem(type: string, names: readonly string[]): string | undefined {
  return type === 'container' ? containerEnvironmentProblem(names) : shellEnvironmentProblem(names);
}
