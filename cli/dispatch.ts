// What `run` and `start` share: the flags that shape a task, checked before anything starts, and
// the enqueue that prints its id or follows its output.
import { Flags } from '@oclif/core';
import type { EnqueueInput, LoadedConfig, TaskClient, TaskPayload } from '../src/index.js';
import { entryPrinterFor, followTask } from './log-output.js';
import { lib } from './load-library.js';

/** Flags shared by `run` and `start`. */
export const dispatchFlags = {
  executor: Flags.string({ char: 'e', description: 'Executor to run on (see `openclaw-agent executors`)' }),
  label: Flags.string({
    description: 'Label for the task; without --executor, picks an executor having all labels (repeatable)',
    multiple: true,
  }),
  name: Flags.string({ description: 'A name shown in lists instead of the command' }),
  follow: Flags.boolean({ char: 'f', description: "Stream the output, then exit with the task's exit code" }),
  json: Flags.boolean({ description: 'Print the task record as JSON instead of the id' }),
  timeout: Flags.string({
    description: 'Wall-clock limit, like 30m or 2h; the task ends timed_out (default: executor or defaults timeout)',
  }),
  retries: Flags.integer({
    description: 'Run again up to N times after a failed run (default 0: never run twice)',
    min: 0,
    max: 100,
  }),
  backoff: Flags.string({ description: 'First delay before a retry, doubling each time with jitter (default 30s)' }),
  callback: Flags.string({ description: 'Webhook URL to POST the completion record to (signed; retried)' }),
  notify: Flags.string({
    description:
      "Notifier (from the config's `notifiers:`) to announce the end; repeatable; `none` for none (default: defaults.notify)",
    multiple: true,
  }),
  'notify-session': Flags.string({
    description:
      "OpenClaw session key to wake instead of the agent's main session (gateway: hooks.allowRequestSessionKey)",
  }),
  worktree: Flags.boolean({
    description:
      "Run in a git worktree of its own, on a branch oca/<short id> (default: the executor's `worktree` for Claude tasks)",
    allowNo: true,
  }),
  base: Flags.string({
    description: "With --worktree: the branch, tag or commit to start from (default: the workspace's HEAD)",
  }),
  commit: Flags.boolean({ description: 'With --worktree: commit what is left uncommitted when the task ends' }),
  after: Flags.string({
    description: 'Run after this task completed (id or prefix; repeatable); blocked until then, cancelled if it fails',
    multiple: true,
  }),
  'after-any': Flags.boolean({ description: 'With --after: run whatever way those tasks ended' }),
  delay: Flags.string({ description: 'Start no sooner than this from now, like 30m or 2h (scheduled until then)' }),
  at: Flags.string({ description: 'Start no sooner than this time, like 2026-12-07T03:00:00Z (scheduled until then)' }),
  priority: Flags.integer({
    description: 'Priority, 1 first; tasks without one run after every task with one',
    min: 1,
    max: 1_000_000,
  }),
  'concurrency-key': Flags.string({
    description: 'At most --concurrency-limit tasks with this key run at once, across all executors',
  }),
  'concurrency-limit': Flags.integer({
    description: 'Tasks of the key that may run at once (default 1)',
    min: 1,
    max: 1000,
  }),
  'on-conflict': Flags.string({
    description:
      'With --concurrency-key: queue behind the running task (default), cancel-running (kill it, run next) or replace-queued (cancel the waiting ones)',
    options: ['queue', 'cancel-running', 'replace-queued'],
  }),
};

interface DispatchFlags {
  executor?: string;
  timeout?: string;
  retries?: number;
  backoff?: string;
  callback?: string;
  notify?: string[];
  'notify-session'?: string;
  worktree?: boolean;
  base?: string;
  commit?: boolean;
  label?: string[];
  name?: string;
  after?: string[];
  'after-any'?: boolean;
  delay?: string;
  at?: string;
  priority?: number;
  'concurrency-key'?: string;
  'concurrency-limit'?: number;
  'on-conflict'?: string;
  follow: boolean;
  json: boolean;
}

/**
 * Checks the flags that shape every task (durations, notifiers) before anything connects or
 * starts, so that bad input is one line with nothing done; returns them as enqueue options.
 */
export async function dispatchOptions(
  config: LoadedConfig,
  flags: DispatchFlags,
): Promise<Omit<EnqueueInput, 'payload'>> {
  const { requireDuration, requireTime, resolveTaskNotifiers, chooseWorktreeOption } = await lib();

  // Checked here, so a wrong name is reported as the flag typed; passed on as chosen (none as []).
  const notifiers = resolveTaskNotifiers(config, flags.notify, flags['notify-session'], {
    notify: '--notify',
    session: '--notify-session',
  });
  const options = {
    timeoutMs: flags.timeout === undefined ? undefined : requireDuration('--timeout', flags.timeout),
    retries: flags.retries,
    backoffMs: flags.backoff === undefined ? undefined : requireDuration('--backoff', flags.backoff),
    callbackUrl: flags.callback,
    notify: notifiers.notify ?? [],
    notifySession: notifiers.notifySession,
    worktree: chooseWorktreeOption(flags, {
      worktree: '--worktree',
      off: '--no-worktree',
      base: '--base',
      commit: '--commit',
    }),
    executor: flags.executor,
    labels: flags.label,
    name: flags.name,
    after: flags.after,
    afterAny: flags['after-any'],
    delayMs: flags.delay === undefined ? undefined : requireDuration('--delay', flags.delay),
    runAt: flags.at === undefined ? undefined : requireTime('--at', flags.at),
    priority: flags.priority,
    concurrencyKey: flags['concurrency-key'],
    concurrencyLimit: flags['concurrency-limit'],
    onConflict: flags['on-conflict'] as EnqueueInput['onConflict'],
    callerCwd: process.cwd(),
  };
  // A bad value is named first; then flags that cannot go together.
  await refuseConflictingFlags(flags);
  return options;
}

// Flags of the CLI's own that cannot both apply, refused before anything connects (the pairs of
// the request itself, --after-any without --after say, are the client's: request-check.ts).
async function refuseConflictingFlags(flags: DispatchFlags): Promise<void> {
  const { UsageError } = await lib();
  if (flags.follow && flags.json)
    throw new UsageError('give --follow (stream the output) or --json (print the task as JSON), not both');
  // Without retries there is no retry to wait for: the delay would silently do nothing.
  if (flags.backoff !== undefined && !flags.retries)
    throw new UsageError('--backoff is the delay before a retry: give --retries N too');
}

/** Enqueues, prints the id (or JSON), and with --follow streams the log; returns the exit code. */
export async function dispatchTask(
  client: TaskClient,
  payload: TaskPayload,
  options: Omit<EnqueueInput, 'payload'>,
  flags: DispatchFlags,
): Promise<number> {
  const { id, conflicts, warning } = await client.enqueue({ ...options, payload });
  // No live worker serves the executor: queued all the same, said once (in the JSON with --json).
  if (warning !== undefined && !flags.json) process.stderr.write(`openclaw-agent: warning: ${warning}\n`);
  for (const [ids, what] of [
    [conflicts?.stopped, 'stopping'],
    [conflicts?.cancelled, 'cancelled'],
  ] as const) {
    if (ids && ids.length > 0)
      process.stderr.write(
        `openclaw-agent: ${what} ${ids.length} task(s) of concurrency key "${options.concurrencyKey}": ${ids.join(', ')}\n`,
      );
  }
  // A task whose dependency had failed already never runs: say so beside its id.
  if (options.after !== undefined && !flags.json) {
    const { isEndedStatus } = await lib();
    const view = await client.get(id);
    if (isEndedStatus(view.status))
      process.stderr.write(`openclaw-agent: task ${id} ${view.status}: ${view.record.error ?? ''}\n`);
  }
  if (flags.json) {
    const { toTaskJson } = await lib();
    const json = { ...toTaskJson(await client.get(id)), ...(warning !== undefined ? { warning } : {}) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else if (!flags.follow) {
    process.stdout.write(`${id}\n`);
  } else {
    process.stderr.write(`openclaw-agent: task ${id}\n`);
  }
  if (!flags.follow) return 0;
  // A Claude task follows as a transcript, like `logs`.
  return followTask(client, id, '0', await entryPrinterFor(payload.type, false));
}
