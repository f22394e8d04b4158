// The errors a user can meet: a class per code, the CLI exit code of each, one-line descriptions.
import { escapeControls } from './text/escape.js';

/**
 * Every error a user can meet has a stable `code` and a message that says what to do next.
 * `exitCodeFor` is the one place that maps codes to CLI exit codes.
 */
export type ErrorCode =
  | 'USAGE'
  | 'INVALID_INPUT'
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'UNKNOWN_EXECUTOR'
  | 'TASK_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  | 'AMBIGUOUS_TASK_ID'
  | 'REDIS_UNREACHABLE'
  | 'EXECUTOR_FAILED'
  | 'WAIT_TIMEOUT'
  | 'INTERNAL';

/** An error the program reports as it is: its one-line message, its code and that code's exit status. */
export class UserFacingError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserFacingError';
    this.code = code;
  }
}

export class UsageError extends UserFacingError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export class InvalidInputError extends UserFacingError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
  }
}

export class ConfigError extends UserFacingError {
  constructor(message: string, code: 'CONFIG_INVALID' | 'CONFIG_NOT_FOUND' = 'CONFIG_INVALID') {
    super(code, message);
  }
}

export class UnknownExecutorError extends UserFacingError {
  constructor(message: string) {
    super('UNKNOWN_EXECUTOR', message);
  }
}

export class TaskNotFoundError extends UserFacingError {
  constructor(idOrPrefix: string) {
    super(
      'TASK_NOT_FOUND',
      `no task matches id "${escapeControls(idOrPrefix)}" — see \`openclaw-agent list\` for task ids`,
    );
  }
}

export class AmbiguousTaskIdError extends UserFacingError {
  readonly matches: string[];

  constructor(prefix: string, matches: string[]) {
    super(
      'AMBIGUOUS_TASK_ID',
      `task id prefix "${prefix}" is ambiguous; it matches ${matches.join(', ')} — type more characters`,
    );
    this.matches = matches;
  }
}

export class RedisUnreachableError extends UserFacingError {
  constructor(message: string, cause?: unknown) {
    super('REDIS_UNREACHABLE', message, { cause });
  }
}

/**
 * True for our errors, also when they come from another copy of this module (the CLI loads the
 * bundled library; a worker started by the CLI may load the plain modules).
 */
export function isUserFacingError(error: unknown): error is UserFacingError {
  return (
    error instanceof Error && error.name === 'UserFacingError' && typeof (error as { code?: unknown }).code === 'string'
  );
}

/**
 * CLI exit codes: 2 usage or validation, 3 task or executor not found, 4 Redis unreachable,
 * 124 `wait --timeout` expired (as timeout(1) does).
 */
export function exitCodeFor(error: unknown): number {
  if (!isUserFacingError(error)) return 1;
  switch (error.code) {
    case 'USAGE':
    case 'INVALID_INPUT':
    case 'CONFIG_INVALID':
    case 'CONFIG_NOT_FOUND':
    case 'AMBIGUOUS_TASK_ID':
      return 2;
    case 'UNKNOWN_EXECUTOR':
    case 'TASK_NOT_FOUND':
    case 'SCHEDULE_NOT_FOUND':
      return 3;
    case 'REDIS_UNREACHABLE':
      return 4;
    case 'WAIT_TIMEOUT':
      return 124;
    case 'EXECUTOR_FAILED':
    case 'INTERNAL':
      return 1;
  }
}

/** A one-line description of any thrown value, for places that must not print a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
