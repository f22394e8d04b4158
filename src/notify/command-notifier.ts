import { spawn } from 'node:child_process';
import { withoutOwnSecrets } from '../child-env.js';
import { formatDuration } from '../duration.js';
import { escapeControls } from '../zod-issues.js';
import { expandTemplate, TEMPLATE_FIELDS } from './argv-template.js';
import type { CommandNotifier } from './notifier-config.js';
import { templateValues, type TaskEndEvent } from './task-end-event.js';

/** What one run of a command notifier came to. It is never retried: a command need not be idempotent. */
export type CommandOutcome = { kind: 'delivered'; exitCode: 0 } | { kind: 'failed'; exitCode?: number; error: string };

/** How long a timed-out command's group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Bytes of stderr kept to quote its last line in a failure. */
const STDERR_KEPT = 8192;

/**
 * Runs a command notifier: its argv with `{field}`s filled in, no shell, in its own process group,
 * with the fields also as `OCA_*` variables (and none of the worker's own secrets). A command that
 * outlives `timeoutMs` is stopped with its whole group. Failure is an outcome, never a throw.
 */
export async function runCommandNotifier(notifier: CommandNotifier, event: TaskEndEvent): Promise<CommandOutcome> {
  const values = templateValues(event);
  const argv = notifier.argv.map((word) => expandTemplate(word, values));
  const env = withoutOwnSecrets(process.env);
  for (const field of TEMPLATE_FIELDS) env[`OCA_${field.toUpperCase()}`] = values[field];

  return new Promise<CommandOutcome>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    let forceKill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      forceKill = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    }, notifier.timeoutMs);
    let settled = false;
    const done = (outcome: CommandOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(forceKill);
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'no such program (check argv[0] and the worker\'s PATH)' : error.code === 'EACCES' ? 'permission denied' : error.message;
      done({ kind: 'failed', error: `${escapeControls(argv[0]!)}: ${why}` });
    });
    child.once('exit', (code, signal) => {
      const finish = () => {
        if (timedOut) return done({ kind: 'failed', error: `timed out after ${formatDuration(notifier.timeoutMs)}; stopped` });
        if (code === 0) return done({ kind: 'delivered', exitCode: 0 });
        const last = lastLine(stderr);
        const how = code !== null ? `exited with code ${code}` : `ended by ${signal}`;
        return done({ kind: 'failed', ...(code !== null ? { exitCode: code } : {}), error: last ? `${how}: ${last}` : how });
      };
      // Its last words may still be in the pipe; a child left holding the pipe does not hold us.
      if (child.stderr.closed) finish();
      else {
        const wait = setTimeout(finish, 200);
        child.stderr.once('close', () => {
          clearTimeout(wait);
          finish();
        });
      }
      // Whatever it left running in its group is not ours to keep.
      if (timedOut) signalGroup('SIGKILL');
    });
  });
}

// The last non-empty line, one line and at most 200 characters.
function lastLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  const escaped = escapeControls(line);
  return escaped.length > 200 ? `${escaped.slice(0, 199)}…` : escaped;
}
