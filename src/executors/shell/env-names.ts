// Which environment variable names a task's shell can set: the rule config, client and wrappers share.
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
