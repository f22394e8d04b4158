// The `claude` command line a Claude Code task runs: print mode, stream-json, the task's options.
import type { ClaudeCodePayload, PermissionMode } from '../tasks/request.js';

export interface ClaudeArgsOptions {
  /** The executor's `claude_path`, else `defaults.claude_path`. */
  claudePath: string;
  /** `defaults.max_turns`, used when the task sets none. */
  defaultMaxTurns: number;
  /** The executor's `permission_mode`, used when the task sets none. */
  defaultPermissionMode?: PermissionMode;
}

/**
 * The argv that runs a Claude Code payload in print mode with a streamed NDJSON transcript. The
 * prompt is not in argv: it goes to stdin (no length limit, never visible in `ps`).
 *
 * Every option whose value comes from the task is one word, `--name=value`: the CLI's parser
 * (commander) then takes the whole value as the option's, whatever it starts with. As two words,
 * a value starting with `-` would be read as an option of its own: `-r, --resume [value]` takes
 * an optional value, so `--resume --permission-mode=bypassPermissions` resumed nothing and
 * switched the permission mode.
 */
export function buildClaudeArgs(payload: ClaudeCodePayload, options: ClaudeArgsOptions): string[] {
  const argv = [options.claudePath, '-p', '--output-format', 'stream-json', '--verbose'];
  const option = (name: string, value: string) => argv.push(`${name}=${value}`);
  option('--max-turns', String(payload.maxTurns ?? options.defaultMaxTurns));
  if (payload.allowedTools && payload.allowedTools.length > 0) option('--allowedTools', payload.allowedTools.join(','));
  if (payload.disallowedTools && payload.disallowedTools.length > 0)
    option('--disallowedTools', payload.disallowedTools.join(','));
  if (payload.model) option('--model', payload.model);
  const permissionMode = payload.permissionMode ?? options.defaultPermissionMode;
  if (permissionMode) option('--permission-mode', permissionMode);
  if (payload.maxBudgetUsd !== undefined) option('--max-budget-usd', String(payload.maxBudgetUsd));
  if (payload.appendSystemPrompt) option('--append-system-prompt', payload.appendSystemPrompt);
  if (payload.resumeSessionId) option('--resume', payload.resumeSessionId);
  return argv;
}

/** Variables that make `claude` refuse to start when it thinks it runs inside another session. */
export const CLAUDE_NESTING_VARIABLES = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT'] as const;
