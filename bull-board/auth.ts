// The dashboard's gate: who a request comes from (loopback, bearer token or login session) and
// what it may do; refusals are sent from here.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../src/api/loopback-host.js';
import { sendError } from './http-errors.js';
import { MCP_PATH } from './mcp-route.js';

// Who may do what. Without a token the dashboard only listens on loopback, and refuses requests
// whose Host is not a loopback name (DNS rebinding) and cross-site mutations (by Origin); reads are
// open there, but writes and MCP want the local secret (a file in the data directory that only
// its owner can read) as `Authorization: Bearer`, or a login session, which a one-time login link
// printed at start (or the local secret typed into the login form) opens. With a token: the token
// as `Authorization: Bearer` for programs, the login form for browsers, for every request. A login
// sets an HttpOnly, SameSite=Strict session cookie; cookie-borne mutations need a per-session CSRF
// token on our API and a same-origin check everywhere (Bull Board's UI cannot send our header).

export const SESSION_COOKIE = 'oca_session';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_MAX_AGE_S = 7 * 86_400;

/** The local secret of a dashboard without a token, and the file it was read from. */
export interface LocalSecret {
  secret: string;
  path: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');

/** Compares secrets in constant time (hashing first makes the lengths equal). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

export type Caller = { kind: 'open' } | { kind: 'bearer' } | { kind: 'session'; csrf: string };

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The path a request is decided on: the pattern of the route it matched, which the router found
 * after decoding the URL (`/%61pi/tasks` is `/api/tasks` here, as it is to the handler); without a
 * route (a 404), the raw path, as nothing but the not-found answer runs.
 */
export function routePath(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0]!;
}

/** Paths anyone may reach: the login form, the health check and the static page assets. */
function isPublic(method: string, path: string): boolean {
  if (path === '/login') return method === 'GET' || method === 'POST';
  if (path === '/logout') return true;
  return path === '/healthz' || path.startsWith('/assets/');
}

export class DashboardAuth {
  /** What a bearer or the login form must match: the token, else the local secret. */
  private readonly secret: string | undefined;
  private readonly sessionKey: Buffer | undefined;
  private loginCode: string | undefined;

  constructor(
    readonly token: string | undefined,
    readonly readOnly: boolean,
    /** Without a token, on a dashboard that can write: what writes need. */
    readonly local?: LocalSecret,
  ) {
    this.secret = token ?? local?.secret;
    // Derived from the secret: a new token or local secret ends every session.
    this.sessionKey =
      this.secret === undefined
        ? undefined
        : createHmac('sha256', this.secret).update('openclaw-agent dashboard session').digest();
  }

  /** Whether every request needs the token (reads included). */
  get required(): boolean {
    return this.token !== undefined;
  }

  /** Whether there is a login to be had: a token or a local secret. */
  get canLogIn(): boolean {
    return this.secret !== undefined;
  }

  tokenMatches(given: string): boolean {
    return this.secret !== undefined && sameSecret(given, this.secret);
  }

  /** A new one-time login code (the last one given stops working); undefined with a token. */
  newLoginCode(): string | undefined {
    if (this.local === undefined) return undefined;
    this.loginCode = randomBytes(24).toString('base64url');
    return this.loginCode;
  }

  /** True once for the current login code: it is used up by the check that accepts it. */
  takeLoginCode(given: string): boolean {
    if (this.loginCode === undefined || !sameSecret(given, this.loginCode)) return false;
    this.loginCode = undefined;
    return true;
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
    const path = routePath(request);
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
      // Read-only: nothing here can change anything, and there is no secret to want.
      if (this.local === undefined) return { kind: 'open' };
    }
    if (isPublic(method, path)) return { kind: 'open' };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match && this.tokenMatches(match[1]!)) return { kind: 'bearer' };
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      sendError(
        reply,
        401,
        this.local === undefined
          ? 'invalid token in the Authorization header'
          : `the Authorization header does not hold the local secret: send \`Authorization: Bearer $(cat ${this.local.path})\``,
      );
      return undefined;
    }
    const csrf = this.sessionCsrf(request.cookies[SESSION_COOKIE]);
    if (csrf === undefined) {
      // Loopback without a token: reads are open; writes and MCP want the local secret.
      if (this.local !== undefined && !mutating && path !== MCP_PATH) return { kind: 'open' };
      if (this.required && method === 'GET' && wantsPage(request, path)) {
        await reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
        return undefined;
      }
      reply.header('www-authenticate', 'Bearer');
      sendError(
        reply,
        401,
        this.local === undefined
          ? 'authentication required: send `Authorization: Bearer <dashboard token>` or log in at /login'
          : localRefusal(path, this.local.path),
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

// What a write without the local secret is told: how a program, an MCP client or a person gets in.
function localRefusal(path: string, secretPath: string): string {
  const header = `Authorization: Bearer $(cat ${secretPath})`;
  if (path === MCP_PATH)
    return `MCP over HTTP needs the local secret: add the header "${header}" (or use \`openclaw-agent mcp\` on stdio)`;
  return `writes need the local secret: use the openclaw-agent CLI or client, send "${header}", or log in with the link the dashboard printed at start (or at /login)`;
}

function wantsPage(request: FastifyRequest, path: string): boolean {
  if (path.startsWith('/api/') || path.startsWith('/queues/api/') || path === '/metrics') return false;
  return (request.headers.accept ?? '').includes('text/html');
}

const NEXT_BASE = 'http://dashboard.invalid';

/**
 * A `next` target for after the login: a path on this site only, as its pathname, query and
 * fragment; anything else (another origin, a backslash or a control character, which browsers
 * drop or turn into slashes: `/\t/evil.example` goes to evil.example) is `/`.
 */
export function safeNext(next: unknown): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (typeof next !== 'string' || !next.startsWith('/') || /[\u0000-\u001f\u007f-\u009f\\]/.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, NEXT_BASE);
  } catch {
    return '/';
  }
  const target = `${url.pathname}${url.search}${url.hash}`;
  // `/.//evil.example` resolves to the path `//evil.example`, which a browser reads as a host.
  return url.origin === NEXT_BASE && !target.startsWith('//') ? target : '/';
}
