// The API routes whose body is optional (kill, retry, pause, resume, remove) take an empty
// `application/json` body as none: many clients send that header on every POST.
import type { FastifyInstance } from 'fastify';

/**
 * Makes an empty JSON body no body in `scope` (a plugin's own context), where Fastify would answer
 * 400 "Body cannot be empty"; any other body is parsed as everywhere else. Routes that need a
 * body stay outside such a scope.
 */
export function acceptEmptyJsonBodies(scope: FastifyInstance): void {
  // Fastify's own parser, with its defaults (a `__proto__` or `constructor.prototype` key is refused).
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else void parseJson(request, body, done);
  });
}
