// The payloads of `run` and `start` from their flags and arguments, with one-line errors.
import { InvalidInputError, UsageError } from '../errors.js';
import { escapeControls, quoteInput } from '../text/escape.js';
import {
  EXEC_LONE_WORD,
  MAX_COMMAND_BYTES,
  MAX_PROMPT_BYTES,
  MAX_WORD_BYTES,
  PERMISSION_MODES,
  type ClaudeCodePayload,
  type PermissionMode,
  type ShellCommandPayload,
} from './request.js';

// "1 MiB", "1.03 MiB", "900 KiB", "12 bytes".
function formatBytes(bytes: number): string {
  const mib = bytes / 1024 / 1024;
  if (mib >= 1) return `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB`;
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`;
}

// Refuses text over its limit, in one line saying what to do instead.
function checkSize(what: string, bytes: number, limit: number, instead: string): void {
  if (bytes > limit)
    throw new UsageError(`${what} is ${formatBytes(bytes)}, over the limit of ${formatBytes(limit)} — ${instead}`);
}

/**
 * `--env` words to a map: `KEY=VALUE`, or `KEY` alone for the value `KEY` has in `from` (the
 * caller's environment), so that a secret need not be written on a command line. A bad name, or a
 * `KEY` that `from` lacks, is an error that never shows a value.
 */
export function parseEnvAssignments(
  words: readonly string[],
  /** Where a bare `KEY` takes its value: the caller's own environment, never one it serves. */
  from: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  const isName = (text: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(text);
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq === -1 && isName(word)) {
      const value = from[word];
      if (value === undefined) {
        throw new InvalidInputError(
          `\`--env ${word}\` takes ${word}'s value from your environment, where it is not set — set it, or give --env ${word}=VALUE`,
        );
      }
      env[word] = value;
      continue;
    }
    const name = eq === -1 ? '' : word.slice(0, eq);
    if (!isName(name)) {
      // Never echo what may be a value: only the part that should have been the name.
      throw new InvalidInputError(
        `Expected \`--env\` to be KEY=VALUE or KEY with KEY a variable name, got ${quoteInput(eq === -1 ? '(not shown)' : name)}`,
      );
    }
    env[name] = word.slice(eq + 1);
  }
  return env;
}

export interface ShellInput {
  /** `--cmd`: a string for `sh -c`. */
  cmd?: string;
  /** Words after `--`: argv, run without a shell. */
  argv?: readonly string[];
  env?: Record<string, string>;
  workdir?: string;
}

/** The payload of `run`: exactly one of `--cmd` or argv after `--`. */
export function buildShellPayload(input: ShellInput): ShellCommandPayload {
  const argv = input.argv ?? [];
  if (input.cmd !== undefined && argv.length > 0) {
    throw new UsageError('give the command either as --cmd "STRING" or as words after --, not both');
  }
  if (input.cmd === undefined && argv.length === 0) {
    throw new UsageError('missing command: give --cmd "STRING" (run by sh -c) or the argv after -- (run as is)');
  }
  if (input.cmd !== undefined && input.cmd.trim() === '') throw new UsageError('the --cmd string is empty');
  const [command, args] =
    input.cmd !== undefined
      ? [input.cmd, []]
      : argv.length === 1
        ? // A payload without args is `sh -c command`: a lone word goes to a shell that execs it unread.
          ['sh', ['-c', EXEC_LONE_WORD, argv[0]!]]
        : [argv[0]!, argv.slice(1)];
  const env = input.env ?? {};
  const size = [command, ...args, ...Object.entries(env).flat()].reduce(
    (sum, word) => sum + Buffer.byteLength(word),
    0,
  );
  checkSize(
    'the command with its arguments and --env values',
    size,
    MAX_COMMAND_BYTES,
    'put a long script or data in a file on the executor and run that',
  );
  return { type: 'shell_command', command, args, env, workingDir: input.workdir };
}

export interface ClaudeInput {
  prompt?: string;
  maxTurns?: number;
  workspace?: string;
  allowedTools?: readonly string[];
  disallowedTools?: readonly string[];
  model?: string;
  permissionMode?: string;
  maxBudgetUsd?: string;
  appendSystemPrompt?: string;
}

/** The payload of `start`; tool lists may be repeated or comma-separated. */
export function buildClaudePayload(input: ClaudeInput): ClaudeCodePayload {
  if (input.prompt === undefined || input.prompt.trim() === '') {
    throw new UsageError(
      'missing prompt: give --prompt "TEXT", --prompt-file FILE, or --prompt - to read it from stdin',
    );
  }
  checkSize(
    'the prompt',
    Buffer.byteLength(input.prompt),
    MAX_PROMPT_BYTES,
    'give Claude the path of a file in the workspace to read instead',
  );
  if (input.appendSystemPrompt !== undefined)
    checkSize(
      '--append-system-prompt',
      Buffer.byteLength(input.appendSystemPrompt),
      MAX_WORD_BYTES - '--append-system-prompt='.length,
      "it is one word of claude's command line; put the long part in the prompt",
    );
  const list = (words: readonly string[] | undefined) => {
    const items = (words ?? [])
      .flatMap((t) => t.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    return items.length > 0 ? items : undefined;
  };
  if (input.permissionMode !== undefined && !(PERMISSION_MODES as readonly string[]).includes(input.permissionMode)) {
    throw new UsageError(
      `--permission-mode must be one of ${PERMISSION_MODES.join(', ')}, got "${escapeControls(input.permissionMode)}"`,
    );
  }
  let budget: number | undefined;
  if (input.maxBudgetUsd !== undefined) {
    budget = Number(input.maxBudgetUsd);
    if (!Number.isFinite(budget) || budget <= 0)
      throw new UsageError(
        `--max-budget-usd must be a positive number of dollars, like 2.50, got "${escapeControls(input.maxBudgetUsd)}"`,
      );
  }
  return {
    type: 'claude_code',
    prompt: input.prompt,
    maxTurns: input.maxTurns,
    workspace: input.workspace,
    allowedTools: list(input.allowedTools),
    disallowedTools: list(input.disallowedTools),
    model: input.model,
    permissionMode: input.permissionMode as PermissionMode | undefined,
    maxBudgetUsd: budget,
    appendSystemPrompt: input.appendSystemPrompt,
  };
}
