// A task's input checked before the CLI connects or starts anything (a private stack, workers):
// the executor it goes to, and each request field named as the flag that set it.
import type { EnqueueInput, LoadedConfig } from '../src/index.js';
import { typedFlag } from './flag-values.js';
import { lib } from './load-library.js';

// The flag (by its oclif name) that sets each request field, payload fields as `payload.KEY`: a
// message names `--timeout`, not `timeoutMs`.
const FLAG_OF_FIELD: Record<string, string> = {
  executor: 'executor',
  labels: 'label',
  name: 'name',
  timeoutMs: 'timeout',
  callbackUrl: 'callback',
  notify: 'notify',
  notifySession: 'notify-session',
  onLimit: 'on-limit',
  limitWaits: 'limit-waits',
  worktree: 'base',
  retries: 'retries',
  backoffMs: 'backoff',
  runAt: 'at',
  priority: 'priority',
  concurrencyKey: 'concurrency-key',
  concurrencyLimit: 'concurrency-limit',
  onConflict: 'on-conflict',
  'payload.prompt': 'prompt',
  'payload.maxTurns': 'max-turns',
  'payload.workspace': 'workspace',
  'payload.workingDir': 'workspace',
  'payload.allowedTools': 'allowed-tools',
  'payload.disallowedTools': 'disallowed-tools',
  'payload.model': 'model',
  'payload.permissionMode': 'permission-mode',
  'payload.maxBudgetUsd': 'max-budget-usd',
  'payload.appendSystemPrompt': 'append-system-prompt',
  'payload.command': 'cmd',
  'payload.env': 'env',
};

/** The command a task's input came from: its words and flag definitions, for flag names as typed. */
export interface TaskCommandLine {
  argv: readonly string[];
  flags: Readonly<Record<string, { aliases?: readonly string[] }>>;
  /** `start --continue`: the executor is the earlier task's unless one is given. */
  continuing?: boolean;
}

/**
 * Checks a task's input as the client checks it when it enqueues, as far as the config can tell
 * (request-check.ts): the executor, options that go together, the request's fields (each named as
 * the flag that set it) and the names of its variables. What needs Redis (an --after id, the
 * worktree's repository) is left to the client.
 */
export async function checkTaskInput(
  config: LoadedConfig,
  input: EnqueueInput,
  command: TaskCommandLine,
): Promise<void> {
  const { buildTaskRequest, executorCandidates, pipelineOptions, requireExecutor } = await lib();
  // A continuation without --executor goes to the earlier task's executor, which only Redis knows.
  if (input.executor === undefined && command.continuing) return;
  // By labels the client takes the candidate with the shortest queue: refused only when every
  // candidate would refuse it (then as the first one says).
  const candidates =
    input.executor !== undefined
      ? [requireExecutor(config, input.executor)]
      : executorCandidates(config, input.labels ?? []);
  const now = Date.now();
  const pipeline = pipelineOptions(input, now);
  let first: unknown;
  for (const executor of candidates) {
    try {
      buildTaskRequest(config, executor, input, pipeline, now, (path) => {
        const [field, key] = path;
        if (field === 'payload' && key === 'args') return 'the words after --';
        const flag = FLAG_OF_FIELD[field === 'payload' ? `payload.${String(key)}` : String(field)];
        return flag === undefined ? undefined : typedFlag(command.argv, flag, command.flags[flag]);
      });
      return;
    } catch (error) {
      first ??= error;
    }
  }
  throw first;
}
