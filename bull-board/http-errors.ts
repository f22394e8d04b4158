// How the dashboard answers failures: our error codes as HTTP statuses, `{"error": "…"}` bodies.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { describeError, InvalidInputError, isUserFacingError, type ErrorCode } from '../src/errors.js';
import { describeIssue } from '../src/text/zod-issues.js';
import { describeRedisConnectionError, isRedisConnectionError } from '../src/redis/connection.js';

/** Parses a body, query or params with zod; the first issue becomes a one-line 400 naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidInputError(describeIssue(result.error.issues[0]!, input));
  return result.data;
}

/** An HTTP answer other than 2xx with a one-line message: `{"error": "…"}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The one place our error codes become HTTP statuses. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'INVALID_INPUT':
    case 'CONFIG_INVALID':
    case 'CONFIG_NOT_FOUND':
    case 'UNKNOWN_EXECUTOR':
      return 400;
    case 'TASK_NOT_FOUND':
    case 'SCHEDULE_NOT_FOUND':
      return 404;
    case 'AMBIGUOUS_TASK_ID':
      return 409;
    case 'REDIS_UNREACHABLE':
      return 503;
    case 'WAIT_TIMEOUT':
      return 408;
    case 'EXECUTOR_FAILED':
    case 'INTERNAL':
      return 500;
  }
}

/** Status and one line for anything thrown in a handler; a stack never reaches the client. */
export function describeHttpError(error: unknown): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  if (isUserFacingError(error)) return { status: httpStatusFor(error.code), message: describeError(error) };
  if (isRedisConnectionError(error))
    return {
      status: 503,
      message: `lost the connection to Redis (${describeRedisConnectionError(error)}); once it is back, GET /api/tasks shows whether the call took effect`,
    };
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, message: describeError(error) };
  }
  return { status: 500, message: `internal error: ${describeError(error)}` };
}

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error: message });
}

/** Fastify's error handler: JSON `{error}` with the mapped status; 5xx are reported to `onLog`. */
export function errorHandler(onLog: (line: string) => void) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, message } = describeHttpError(error);
    // The path only: a query may hold a one-time login code (`code=`, however it is spelled),
    // which stays on the terminal it was printed on.
    if (status >= 500) onLog(`${request.method} ${request.url.split('?')[0]!}: ${message}`);
    return sendError(reply, status, message);
  };
}
