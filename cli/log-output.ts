// A task's log on the terminal: output to stdout and stderr, a Claude task's as a transcript, and
// following it to the end with the task's exit code.
import type { EndMarker, LogEntry, TaskClient, TaskType } from '../src/index.js';
import { lib } from './load-library.js';

/** Writes one log entry where it belongs: stdout to stdout, stderr and our notes to stderr. */
export function printEntry(entry: LogEntry): void {
  if (entry.kind !== 'output') return;
  if (entry.stream === 'stdout') process.stdout.write(entry.text);
  else if (entry.stream === 'stderr') process.stderr.write(entry.text);
  else process.stderr.write(`[openclaw-agent] ${entry.text}`);
}

/** Prints a task's log entries in order; `end` writes what was held back for a line still open. */
export interface EntryPrinter {
  print(entry: LogEntry): void;
  end(): void;
}

/** Prints entries as they are stored. */
export const RAW_PRINTER: EntryPrinter = { print: printEntry, end: () => {} };

/**
 * The printer for a task's log: a Claude task's stdout (its stream-json) as a readable transcript,
 * unless `raw`; stderr and our notes as they are. Shell tasks are printed as stored.
 */
export async function entryPrinterFor(taskType: TaskType, raw: boolean): Promise<EntryPrinter> {
  if (raw || taskType !== 'claude_code') return RAW_PRINTER;
  const { TranscriptRenderer } = await lib();
  const renderer = new TranscriptRenderer();
  const write = (text: string) => {
    if (text !== '') process.stdout.write(text);
  };
  return {
    print(entry) {
      if (entry.kind === 'output' && entry.stream === 'stdout') write(renderer.push(entry.text));
      else printEntry(entry);
    },
    end: () => write(renderer.end()),
  };
}

/** The exit code a follower exits with: the task's own, else 1 for any unsuccessful end. */
export function exitCodeOfEnd(end: EndMarker | undefined, status?: string): number {
  const completed = (end?.status ?? status) === 'completed';
  const code = end?.exit_code ?? null;
  if (completed) return 0;
  // A task that did not complete never exits 0, even if it exited 0 after SIGTERM.
  return code !== null && code !== 0 ? code : 1;
}

/**
 * Prints the task's log from `afterId` and follows it until the task ends; returns the exit code
 * to exit with. Says once on stderr when the task waits in a queue that no worker consumes.
 */
export async function followTask(
  client: TaskClient,
  taskId: string,
  afterId: string,
  printer: EntryPrinter = RAW_PRINTER,
): Promise<number> {
  const { followLog, isEndedStatus } = await lib();
  const blocking = client.redis.duplicate();
  blocking.on('error', () => {});
  const hint = setTimeout(() => {
    void warnIfNoWorker(client, taskId);
  }, 3000);
  try {
    const end = await followLog(blocking, client.keys, taskId, (entry) => printer.print(entry), {
      afterId,
      isEnded: async () => isEndedStatus((await client.get(taskId)).status),
    });
    printer.end();
    if (end?.error) process.stderr.write(`openclaw-agent: task ${end.status}: ${end.error}\n`);
    const status = end ? end.status : (await client.get(taskId)).status;
    return exitCodeOfEnd(end, status);
  } finally {
    clearTimeout(hint);
    blocking.disconnect();
  }
}

async function warnIfNoWorker(client: TaskClient, taskId: string): Promise<void> {
  try {
    const view = await client.get(taskId);
    if (view.status !== 'queued') return;
    const workers = await client.queue(view.record.executor).getWorkersCount();
    if (workers === 0) {
      process.stderr.write(
        `openclaw-agent: task is queued but no worker consumes executor "${view.record.executor}" — start one with \`openclaw-agent worker --executor ${view.record.executor}\`\n`,
      );
    }
  } catch {
    // A hint only; the follow goes on.
  }
}
