// What long-running processes (workers, the dashboard, `up`) print on stderr: one line per event,
// as text or as one JSON object, always with the component (and executor) that said it.
import { escapeControls } from './escape.js';

/** How process logs are written: `[openclaw-agent worker local] msg` lines, or one JSON object a line. */
export type LogFormat = 'text' | 'json';

export const LOG_FORMATS = ['text', 'json'] as const;

export type LogLevel = 'info' | 'warn' | 'error';

/** Structured fields of a JSON line beside `msg` (text lines say them in the message). */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Where an event goes: what the outage reporter and the process shells write to. */
export interface LogSink {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface ProcessLogOptions {
  /** @default "text" */
  format?: LogFormat;
  /** Who speaks: `worker`, `dashboard`, `up`. */
  component: string;
  /** The executor of a worker. @default none */
  executor?: string;
  /** Where each finished line goes. @default stderr */
  write?: (line: string) => void;
  /** @default the system clock */
  now?: () => Date;
}

/** Parses a `--log-format` value; undefined for anything but `text` or `json`. */
export function parseLogFormat(value: string): LogFormat | undefined {
  return (LOG_FORMATS as readonly string[]).includes(value) ? (value as LogFormat) : undefined;
}

/** A sink that says every event as a plain line (the library's `onLog` callbacks). */
export function sinkOf(line: (msg: string) => void): LogSink {
  return { info: line, warn: line, error: line };
}

/** One process's log: every line carries the same component and executor, in one format. */
export class ProcessLog implements LogSink {
  readonly format: LogFormat;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;

  constructor(private readonly options: ProcessLogOptions) {
    this.format = options.format ?? 'text';
    this.write = options.write ?? ((line) => process.stderr.write(line));
    this.now = options.now ?? (() => new Date());
  }

  /** The same log for another component of this process (`up` runs workers and a dashboard). */
  child(component: string, executor?: string): ProcessLog {
    return new ProcessLog({ ...this.options, component, executor });
  }

  info(msg: string, fields?: LogFields): void {
    this.emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }

  /** An `onLog(line)` callback: the library's lines are about something going wrong. */
  readonly line = (msg: string): void => this.warn(msg);

  // Text keeps each event on one line whatever the message holds; JSON escapes by itself.
  private emit(level: LogLevel, msg: string, fields: LogFields = {}): void {
    const { component, executor } = this.options;
    if (this.format === 'json') {
      const head = { time: this.now().toISOString(), level, component, ...(executor ? { executor } : {}), msg };
      // The head's keys come first and no field can replace them.
      this.write(`${JSON.stringify({ ...head, ...fields, ...head })}\n`);
      return;
    }
    const who = executor ? `${component} ${executor}` : component;
    // A stack trace (given with --verbose only) follows its line as it is.
    const stack = typeof fields.stack === 'string' ? `${fields.stack}\n` : '';
    this.write(`[openclaw-agent ${who}] ${escapeControls(msg)}\n${stack}`);
  }
}
