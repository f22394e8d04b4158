// A `command` notifier: runs the configured argv, filled with the task's fields, on the worker's host.
import { spawn, type ChildProcess } from 'node:child_process';
import { withoutOwnSecrets } from '../executors/child-env.js';
import { formatDuration } from '../config/duration.js';
import { escapeControls } from '../text/escape.js';
import { expandTemplate, TEMPLATE_FIELDS } from './argv-template.js';
import type { CommandNotifier } from './notifier-config.js';
import { templateValues, type TaskEndEvent } from './task-end-event.js';

/**
 * What one run of a command notifier came to. A failure is never retried (a command need not be
 * idempotent); a run the worker's shutdown stopped (`stopped`) is the next worker's to make.
 */
export type CommandOutcome =
  { kind: 'delivered'; exitCode: 0 } | { kind: 'failed'; exitCode?: number; error: string } | { kind: 'stopped' };

export interface CommandNotifierOptions {
  /** Variables of the worker's environment the command must not see (hooks tokens). @default [] */
  secretEnv?: readonly string[];
  /** Stops the command and its process group (the worker is shutting down). */
  signal?: AbortSignal;
}

/** How long a stopped command's group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Bytes of stderr kept to quote its last line in a failure. */
const STDERR_KEPT = 8192;

/**
 * Runs a command notifier: its argv with `{field}`s filled in, no shell, in its own process group,
 * with the fields also as `OCA_*` variables (and none of the worker's own secrets). A command that
 * outlives its `timeout` is stopped with its whole group, and so is whatever a finished command
 * left running in its group. Failure is an outcome, never a throw.
 */
export async function runCommandNotifier(
  notifier: CommandNotifier,
  event: TaskEndEvent,
  options: CommandNotifierOptions = {},
): Promise<CommandOutcome> {
  // A NUL cannot pass through argv or the environment: it is dropped from the values.
  const values = templateValues(event);
  for (const field of TEMPLATE_FIELDS) values[field] = values[field].replace(/\0/g, '');
  const argv = notifier.argv.map((word) => expandTemplate(word, values));
  const env = withoutOwnSecrets(process.env, options.secretEnv);
  for (const field of TEMPLATE_FIELDS) env[`OCA_${field.toUpperCase()}`] = values[field];

  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  } catch (error) {
    return {
      kind: 'failed',
      error: `${escapeControls(argv[0]!)}: cannot start: ${escapeControls((error as Error).message)}`,
    };
  }
  return new Promise<CommandOutcome>((resolve) => {
    let stderr = '';
    let stopped: 'timeout' | 'shutdown' | undefined;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    const stopGroup = () => {
      signalGroup(child, 'SIGTERM');
      setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      stopped = 'timeout';
      stopGroup();
    }, notifier.timeoutMs);
    const onAbort = () => {
      stopped ??= 'shutdown';
      stopGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const done = (outcome: CommandOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stderr!.destroy();
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT'
          ? "no such program (check argv[0] and the worker's PATH)"
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.message;
      done({ kind: 'failed', error: `${escapeControls(argv[0]!)}: ${why}` });
    });
    child.once('exit', (code, signal) => {
      // Whatever it left running in its group is not ours to keep.
      stopGroup();
      const finish = () => {
        if (stopped === 'timeout')
          return done({
            kind: 'failed',
            error: `timed out after ${formatDuration(notifier.timeoutMs)} and was stopped — raise the notifier's timeout if it needs longer`,
          });
        if (stopped === 'shutdown') return done({ kind: 'stopped' });
        if (code === 0) return done({ kind: 'delivered', exitCode: 0 });
        const last = lastLine(stderr);
        const how = code !== null ? `exited with code ${code}` : `ended by ${signal}`;
        return done({
          kind: 'failed',
          ...(code !== null ? { exitCode: code } : {}),
          error: last ? `${how}: ${last}` : how,
        });
      };
      // Its last words may still be in the pipe; a child left holding the pipe does not hold us.
      if (child.stderr!.closed) finish();
      else {
        const wait = setTimeout(finish, 200);
        child.stderr!.once('close', () => {
          clearTimeout(wait);
          finish();
        });
      }
    });
  });
}

// Signals the command's process group (its pid is the group id: it was started detached).
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

// The last non-empty line, one line and at most 200 characters.
function lastLine(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '';
  const escaped = escapeControls(line);
  return escaped.length > 200 ? `${escaped.slice(0, 199)}…` : escaped;
}
