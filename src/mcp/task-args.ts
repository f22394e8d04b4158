// The task options run, start and a schedule's task share, and the enqueue input made of them.
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import type { EnqueueInput } from '../tasks/client.js';
import { payloadWorkdir, type TaskPayload } from '../tasks/request.js';
import { formatIssuePath, snakeCase } from '../text/zod-issues.js';
import type { McpToolContext } from './mcp-tool.js';

/** What every task takes: `run`, `start` and a schedule's task. */
export interface TaskArgs {
  executor?: string;
  name?: string;
  timeout?: number;
  labels?: string[];
  retries?: number;
  notify?: string[];
  notify_session?: string;
  priority?: number;
  concurrency_key?: string;
  concurrency_limit?: number;
  on_conflict?: 'queue' | 'cancel-running' | 'replace-queued';
  onLimit?: 'wait' | 'fail';
  limitWaits?: number;
}

// The enqueue input every task shares, checked as the tool's arguments are named.
export function taskInputOf(context: McpToolContext, payload: TaskPayload, args: TaskArgs): EnqueueInput {
  const workdir = payloadWorkdir(payload);
  if (
    context.callerCwd === undefined &&
    workdir !== undefined &&
    !path.isAbsolute(workdir) &&
    workdir !== '~' &&
    !workdir.startsWith('~/')
  ) {
    throw new InvalidInputError(
      `give an absolute working directory (or one starting with ~): this server has no current directory, got \`${workdir}\``,
    );
  }
  if (args.concurrency_key === undefined) {
    const given =
      args.on_conflict !== undefined
        ? 'on_conflict'
        : args.concurrency_limit !== undefined
          ? 'concurrency_limit'
          : undefined;
    if (given) throw new InvalidInputError(`\`${given}\` acts on a concurrency key: give \`concurrency_key\` too`);
  }
  return {
    payload,
    executor: args.executor,
    name: args.name,
    timeoutMs: args.timeout,
    labels: args.labels,
    retries: args.retries,
    onLimit: args.onLimit,
    limitWaits: args.limitWaits,
    notify: args.notify,
    notifySession: args.notify_session,
    priority: args.priority,
    concurrencyKey: args.concurrency_key,
    concurrencyLimit: args.concurrency_limit,
    onConflict: args.on_conflict,
    callerCwd: context.callerCwd,
  };
}

// The request fields the tools name otherwise than by their snake_case.
const ARGUMENT_OF: Readonly<Record<string, string>> = {
  timeoutMs: 'timeout',
  runAt: 'at',
  delayMs: 'delay',
  workingDir: 'workdir',
  args: 'argv',
};

/**
 * How the MCP tools name a request field in messages (a FieldNamer): as their arguments, where
 * a payload's fields and a worktree's are arguments of their own (`workdir`, `base`).
 */
export function mcpArgumentName(path: readonly PropertyKey[]): string | undefined {
  const [field, ...rest] = path;
  if (typeof field !== 'string') return undefined;
  const [key, ...deeper] = (field === 'payload' || field === 'worktree') && rest.length > 0 ? rest : path;
  return formatIssuePath([typeof key === 'string' ? (ARGUMENT_OF[key] ?? snakeCase(key)) : key!, ...deeper]);
}
