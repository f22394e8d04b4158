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
 */
export function buildClaudeArgs(payload: ClaudeCodePayload, options: ClaudeArgsOptions): string[] {
  const argv = [options.claudePath, '-p', '--output-format', 'stream-json', '--verbose'];
  argv.push('--max-turns', String(payload.maxTurns ?? options.defaultMaxTurns));
  if (payload.allowedTools && payload.allowedTools.length > 0)
    argv.push('--allowedTools', payload.allowedTools.join(','));
  if (payload.disallowedTools && payload.disallowedTools.length > 0)
    argv.push('--disallowedTools', payload.disallowedTools.join(','));
  if (payload.model) argv.push('--model', payload.model);
  const permissionMode = payload.permissionMode ?? options.defaultPermissionMode;
  if (permissionMode) argv.push('--permission-mode', permissionMode);
  if (payload.maxBudgetUsd !== undefined) argv.push('--max-budget-usd', String(payload.maxBudgetUsd));
  if (payload.appendSystemPrompt) argv.push('--append-system-prompt', payload.appendSystemPrompt);
  if (payload.resumeSessionId) argv.push('--resume', payload.resumeSessionId);
  return argv;
}

/** Variables that make `claude` refuse to start when it thinks it runs inside another session. */
export const CLAUDE_NESTING_VARIABLES = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT'] as const;
