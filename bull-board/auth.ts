// The dashboard's gate: who a request comes from (loopback, bearer token or login session) and
// what it may do; refusals are sent from here.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './http-errors.js';
import { MCP_PATH } from './mcp-route.js';

// Who may do what. Without a token the dashboard only listens on loopback, and refuses requests
// whose Host is not a loopback name (DNS rebinding) and cross-site mutations (by Origin). With a
// token: `Authorization: Bearer` for programs; for browsers a login form that sets an HttpOnly,
// SameSite=Strict session cookie, plus a per-session CSRF token on our API's mutations and a
// same-origin check on every cookie-borne mutation (Bull Board's UI cannot send our header).

export const SESSION_COOKIE = 'oca_session';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_MAX_AGE_S = 7 * 86_400;

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '::ffff:127.0.0.1';
  return false;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');

/** Compares secrets in constant time (hashing first makes the lengths equal). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

export type Caller = { kind: 'open' } | { kind: 'bearer' } | { kind: 'session'; csrf: string };

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Paths anyone may reach: the login form, the health check and the static page assets. */
function isPublic(method: string, path: string): boolean {
  if (path === '/login') return method === 'GET' || method === 'POST';
  if (path === '/logout') return true;
  return path === '/healthz' || path.startsWith('/assets/');
}

export class DashboardAuth {
  private readonly sessionKey: Buffer | undefined;

  constructor(
    readonly token: string | undefined,
    readonly readOnly: boolean,
  ) {
    // Derived from the token: a new token ends every session.
    this.sessionKey =
      token === undefined ? undefined : createHmac('sha256', token).update('openclaw-agent dashboard session').digest();
  }

  get required(): boolean {
    return this.token !== undefined;
  }

  tokenMatches(given: string): boolean {
    return this.token !== undefined && sameSecret(given, this.token);
  }

  /** A new session cookie value: issue time, a nonce and their MAC. */
  newSession(now: number = Date.now()): string {
    const body = `${Math.floor(now / 1000)}.${randomBytes(18).toString('base64url')}`;
    return `${body}.${mac(this.sessionKey!, body)}`;
  }

  /** The CSRF token of a valid session cookie, else undefined. */
  sessionCsrf(cookie: string | undefined, now: number = Date.now()): string | undefined {
    if (!this.sessionKey || !cookie) return undefined;
    const parts = cookie.split('.');
    if (parts.length !== 3) return undefined;
    const [issued, nonce, signature] = parts as [string, string, string];
    if (!sameSecret(signature, mac(this.sessionKey, `${issued}.${nonce}`))) return undefined;
    const age = now / 1000 - Number(issued);
    if (!(age >= -60 && age < SESSION_MAX_AGE_S)) return undefined;
    return mac(this.sessionKey, `csrf.${nonce}`);
  }

  sessionCookieOptions(request: FastifyRequest) {
    return {
      httpOnly: true,
      sameSite: 'strict' as const,
      path: '/',
      secure: request.protocol === 'https',
      maxAge: SESSION_MAX_AGE_S,
    };
  }

  /** Decides a request: who the caller is, or the refusal it already sent. */
  async identify(request: FastifyRequest, reply: FastifyReply): Promise<Caller | undefined> {
    const path = request.url.split('?')[0]!;
    const method = request.method;
    const mutating = MUTATING.has(method);
    // MCP is all POSTs; a read-only dashboard's MCP server offers only the tools that change nothing.
    if (this.readOnly && mutating && !isPublic(method, path) && path !== MCP_PATH) {
      sendError(
        reply,
        403,
        'the dashboard runs read-only (--read-only): nothing can be started, killed, retried, paused or scheduled here',
      );
      return undefined;
    }
    if (!this.required) {
      // Loopback without a token: a page from elsewhere must not reach us through a name it controls.
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host)) {
        sendError(
          reply,
          403,
          `requests must name this host as 127.0.0.1 or localhost, not "${host}" (start the dashboard with a token to serve other names)`,
        );
        return undefined;
      }
      if (mutating && !this.sameOrigin(request)) {
        sendError(reply, 403, 'cross-site request refused');
        return undefined;
      }
      return { kind: 'open' };
    }
    if (isPublic(method, path)) return { kind: 'open' };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match && this.tokenMatches(match[1]!)) return { kind: 'bearer' };
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      sendError(reply, 401, 'invalid token in the Authorization header');
      return undefined;
    }
    const csrf = this.sessionCsrf(request.cookies[SESSION_COOKIE]);
    if (csrf === undefined) {
      if (method === 'GET' && wantsPage(request, path)) {
        await reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
        return undefined;
      }
      reply.header('www-authenticate', 'Bearer');
      sendError(
        reply,
        401,
        'authentication required: send `Authorization: Bearer <dashboard token>` or log in at /login',
      );
      return undefined;
    }
    if (mutating) {
      if (!this.sameOrigin(request)) {
        sendError(reply, 403, 'cross-site request refused');
        return undefined;
      }
      const given = request.headers[CSRF_HEADER];
      if (path.startsWith('/api/') && (typeof given !== 'string' || !sameSecret(given, csrf))) {
        sendError(reply, 403, `missing or wrong ${CSRF_HEADER} header (reload the page)`);
        return undefined;
      }
    }
    return { kind: 'session', csrf };
  }

  // The Origin (or, without one, the Referer) names this very host; a request with neither is
  // not from a browser page, and SameSite=Strict keeps the cookie off cross-site requests anyway.
  private sameOrigin(request: FastifyRequest): boolean {
    const source = request.headers.origin ?? request.headers.referer;
    if (source === undefined) return true;
    try {
      return new URL(source).host === request.headers.host;
    } catch {
      return false;
    }
  }
}

function wantsPage(request: FastifyRequest, path: string): boolean {
  if (path.startsWith('/api/') || path.startsWith('/queues/api/') || path === '/metrics') return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/** A `next` target for after the login: a path on this site only. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')
    ? next
    : '/';
}
