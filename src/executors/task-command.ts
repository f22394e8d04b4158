// A task's payload as every executor runs it: argv, stdin, environment and working directory.
import { buildClaudeArgs, CLAUDE_NESTING_VARIABLES } from '../claude/args.js';
import type { Config, ExecutorConfig } from '../config/config.js';
import type { TaskPayload } from '../tasks/request.js';

/** What a payload becomes on any executor: argv (never a shell string), stdin, env and workdir. */
export interface TaskCommand {
  argv: string[];
  /** Text for the process's stdin (the Claude prompt); stdin is empty otherwise. */
  stdin?: string;
  /** Variables set on top of the executor's environment. */
  env: Record<string, string>;
  /** Variables removed from the inherited environment. */
  unsetEnv: string[];
  /** As given by the task; `~` is expanded by the executor, on the host that runs the task. */
  workdir?: string;
}

/** `shell_command` with args runs argv directly; with only `command` it runs `sh -c command`. */
export function buildTaskCommand(
  payload: TaskPayload,
  executor: ExecutorConfig,
  defaults: Config['defaults'],
): TaskCommand {
  if (payload.type === 'shell_command') {
    return {
      argv: payload.args.length > 0 ? [payload.command, ...payload.args] : ['sh', '-c', payload.command],
      env: { ...executor.env, ...payload.env },
      unsetEnv: [],
      workdir: payload.workingDir,
    };
  }
  // `~` in claude_path is expanded by the executor, on the host that runs it.
  const claudePath = executor.claude_path ?? defaults.claude_path;
  return {
    argv: buildClaudeArgs(payload, {
      claudePath,
      defaultMaxTurns: defaults.max_turns,
      defaultPermissionMode: executor.permission_mode,
    }),
    stdin: payload.prompt,
    env: { ...executor.env },
    unsetEnv: [...CLAUDE_NESTING_VARIABLES],
    workdir: payload.workspace,
  };
}
