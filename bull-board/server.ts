// The dashboard's Fastify server: the task panel and login pages, the REST API, MCP, Bull Board,
// /healthz and /metrics, with the checks every request passes first.
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { LoadedConfig } from '../src/config/config.js';
import { connectRedis, resolveRedisUrl } from '../src/redis/connection.js';
import { RedisOutageReporter } from '../src/redis/outage-reporter.js';
import { sinkOf, type LogSink } from '../src/text/process-log.js';
import { UserFacingError } from '../src/errors.js';
import { TaskClient } from '../src/tasks/client.js';
import { AnsiTerminal } from './ansi-terminal.js';
import { registerApiRoutes } from './api-routes.js';
import { isLoopbackHost } from '../src/api/loopback-host.js';
import { ensureLocalSecret, localSecretPath } from '../src/config/local-secret.js';
import { dataDir } from '../src/config/paths.js';
import { escapeControls, quoteInput } from '../src/text/escape.js';
import { DashboardAuth, SESSION_COOKIE, routePath, safeNext, type Caller } from './auth.js';
import { errorHandler, sendError } from './http-errors.js';
import { renderMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { CHARTS_JS, PANEL_CSS, PANEL_JS, SCHEDULES_JS } from './panel-assets.js';
import { PAGE_CSP, SECURITY_HEADERS, renderLoginPage, renderPanelShell, type LoginKind } from './panel-page.js';
import { MCP_PATH, registerMcpRoute } from './mcp-route.js';
import { registerQueuesBoard } from './queues-board.js';

export interface DashboardOptions {
  config: LoadedConfig;
  /** @default REDIS_URL, then the config's `redis.url`, then redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** Address to listen on; anything but loopback needs a `token`. @default "127.0.0.1" */
  host?: string;
  /** @default 3000 (0 picks a free port) */
  port?: number;
  /** Required from browsers (login form) and programs (`Authorization: Bearer`) when set. @default none: loopback only */
  token?: string;
  /** Mutations answer 403, kill and retry buttons are hidden, Bull Board is read-only. @default false */
  readOnly?: boolean;
  /** The data directory: without a token, writes want its local secret, made there on first use. @default dataDir() */
  home?: string;
  /** Receives one line per server error (5xx answers). @default ignore */
  onLog?: (line: string) => void;
  /** Where lines go with their level (a process log), instead of `onLog`. @default onLog */
  log?: LogSink;
  /** Lines about unexpected errors carry their stack traces. @default false */
  verbose?: boolean;
}

export interface RunningDashboard {
  /** Like http://127.0.0.1:3000 */
  url: string;
  port: number;
  /** Without a token: a link that logs a browser in once (then it is spent), for the owner's eyes only. */
  loginUrl?: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The version of the API contract (the OpenAPI document's `info.version`). */
const API_VERSION = '1.0.0';
const TASK_ID = /^[0-9a-f-]{6,36}$/;
const REDIS_DOWN = 'Redis is unreachable; retrying in the background';

/** Refuses, in one line, a start that would expose the dashboard without a token. */
export function checkBindPolicy(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16) {
    throw new UserFacingError(
      'USAGE',
      'the dashboard token is too short: use at least 16 characters (e.g. `openssl rand -hex 32`)',
    );
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new UserFacingError(
      'USAGE',
      `refusing to serve the dashboard on ${host} without a token: set OPENCLAW_AGENT_DASHBOARD_TOKEN or pass --token-file FILE (loopback addresses need none)`,
    );
  }
}

/**
 * Starts the dashboard: Bull Board at /queues, the task panel at /, the REST API under /api,
 * /healthz and /metrics, on one Fastify server with one Redis connection (plus one per log
 * follower). Resolves once it listens.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3000;
  const readOnly = options.readOnly ?? false;
  const sink = options.log ?? sinkOf(options.onLog ?? (() => {}));
  const log = (line: string) => sink.error(line);
  checkBindPolicy(host, options.token);
  // Without a token, writes want the local secret; a read-only dashboard has none to take.
  const home = options.home ?? dataDir();
  const local =
    options.token === undefined && !readOnly
      ? { secret: await ensureLocalSecret(home), path: escapeControls(localSecretPath(home)) }
      : undefined;
  const redisUrl = options.redisUrl ?? resolveRedisUrl(options.config.redis.url);
  const redis = await connectRedis(redisUrl, { persistent: true, failInFlight: true, settings: options.config.redis });
  // Every Redis error of the dashboard goes here: one line when Redis goes away, one when it is back.
  const outage = new RedisOutageReporter({ url: redisUrl, log: sink, verbose: options.verbose });
  outage.watch(redis);
  const client = new TaskClient(options.config, redis);
  const auth = new DashboardAuth(options.token, readOnly, local);
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 4 * 1024 * 1024,
    // Errors met before routing (a path that is not valid percent-encoding) in the API's one-line shape.
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_BAD_URL') {
        void sendError(reply, 400, 'the path is not valid percent-encoding (a % starts an escape such as %2F)');
      } else {
        void sendError(reply, error.statusCode ?? 400, error.message);
      }
    },
  });
  try {
    await buildApp(app, client, auth, log, outage);
    await app.listen({ host, port });
  } catch (error) {
    await app.close().catch(() => {});
    await client.close();
    if ((error as { code?: string }).code === 'EADDRINUSE')
      throw new UserFacingError('USAGE', `port ${port} on ${host} is in use — pick another with --port`);
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const loginCode = auth.newLoginCode();
  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    loginUrl: loginCode === undefined ? undefined : `${url}/login?code=${loginCode}`,
    app,
    close: () => {
      outage.stop();
      closing ??= app.close().then(() => client.close());
      return closing;
    },
  };
}

async function buildApp(
  app: FastifyInstance,
  client: TaskClient,
  auth: DashboardAuth,
  log: (line: string) => void,
  outage: RedisOutageReporter,
): Promise<void> {
  await app.register(fastifyCookie);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `no such page: ${request.method} ${request.url.split('?')[0]}`),
  );
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    // Origin-form only: an absolute URL (`POST http://host/api/…`) reaches the same routes, from a
    // proxy's way of asking, and nothing here is a proxy.
    if (!request.url.startsWith('/')) {
      return sendError(
        reply,
        400,
        `the request target must be a path that starts with /, not ${quoteInput(request.url)}`,
      );
    }
    const caller = await auth.identify(request, reply);
    if (caller === undefined) return reply;
    request.caller = caller;
    // Decided on the route the router matched, not on the URL's spelling (`/%61pi/` is `/api/`).
    const path = routePath(request);
    // The API takes JSON only: a form or plain text from another site cannot pass for a request.
    const type = request.headers['content-type'];
    if (path.startsWith('/api/') && type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
      return sendError(reply, 415, `send the body as application/json, not ${type.split(';')[0]}`);
    }
    // The API and MCP fail fast while Redis is away (the connection retries in the background): a
    // call held for the outage would run late, after its client gave up and perhaps sent it again.
    if (redisDown(client)) {
      if (path === MCP_PATH) return sendMcpError(reply, 503, REDIS_DOWN);
      if (path.startsWith('/api/') || path === '/metrics') return sendError(reply, 503, REDIS_DOWN);
    }
    return undefined;
  });

  registerPages(app, auth);
  await registerApiRoutes(app, client);
  app.get('/api/openapi.json', async () => buildOpenApiDocument(API_VERSION));
  let unansweredSince: number | undefined;
  app.get('/healthz', async (_request, reply) => {
    if (!redisDown(client) && (await answersWithin(client, HEALTH_PING_MS))) {
      unansweredSince = undefined;
      return reply.code(200).send({ ok: true, redis: 'up' });
    }
    unansweredSince ??= Date.now();
    const since = new Date(outage.downSince ?? unansweredSince).toISOString();
    return reply.code(503).send({ ok: false, redis: 'down', since });
  });
  let metrics: Promise<string> | undefined;
  app.get('/metrics', async (_request, reply) => {
    // Scrapes arriving together share one computation.
    metrics ??= renderMetrics(client).finally(() => setTimeout(() => (metrics = undefined), 1000).unref());
    return reply
      .type('text/plain; version=0.0.4; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(await metrics);
  });
  registerMcpRoute(app, client, { readOnly: auth.readOnly });
  await registerQueuesBoard(app, client, { readOnly: auth.readOnly });
}

// An MCP client reads a JSON-RPC error, as the transport's own refusals are shaped.
function sendMcpError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

function redisDown(client: TaskClient): boolean {
  return client.redis.status !== 'ready';
}

/** How long /healthz waits for a PONG on a connection that looks ready (a half-open socket stays silent). */
const HEALTH_PING_MS = 1000;

// A PING answered in time; the command itself may wait on (it is harmless when it comes late).
async function answersWithin(client: TaskClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const pong = client.redis.ping().then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([pong, late]);
  } finally {
    clearTimeout(timer);
  }
}

function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', PAGE_CSP)
    .send(html);
}

const ANSI_TERMINAL_JS = `window.AnsiTerminal = (${AnsiTerminal.toString()});\n`;

// What the login form asks for: the token, or the local secret and where it is.
function loginKind(auth: DashboardAuth): LoginKind {
  return auth.local === undefined ? { kind: 'token' } : { kind: 'local', secretPath: auth.local.path };
}

function registerPages(app: FastifyInstance, auth: DashboardAuth): void {
  const shell = (request: FastifyRequest, page: 'list' | 'task' | 'schedules', taskId?: string) =>
    renderPanelShell({
      page,
      taskId,
      csrf: request.caller?.kind === 'session' ? request.caller.csrf : undefined,
      readOnly: auth.readOnly,
      loggedIn: request.caller?.kind === 'session',
      offerLogin: auth.local !== undefined && request.caller?.kind !== 'session',
    });
  app.get('/', async (request, reply) => sendPage(reply, shell(request, 'list')));
  app.get('/schedules', async (request, reply) => sendPage(reply, shell(request, 'schedules')));
  app.get('/tasks/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!TASK_ID.test(id)) return sendError(reply, 404, 'no such task page: task ids are hexadecimal');
    return sendPage(reply, shell(request, 'task', id));
  });

  const asset = (path: string, type: string, body: string) =>
    app.get(path, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  asset('/assets/panel.css', 'text/css; charset=utf-8', PANEL_CSS);
  asset('/assets/panel.js', 'text/javascript; charset=utf-8', PANEL_JS);
  asset('/assets/schedules.js', 'text/javascript; charset=utf-8', SCHEDULES_JS);
  asset('/assets/charts.js', 'text/javascript; charset=utf-8', CHARTS_JS);
  asset('/assets/ansi-terminal.js', 'text/javascript; charset=utf-8', ANSI_TERMINAL_JS);

  app.get('/login', async (request, reply) => {
    if (!auth.canLogIn) return reply.redirect('/', 303);
    const query = request.query as { next?: unknown; code?: unknown };
    const next = safeNext(query.next);
    if (query.code === undefined) return sendPage(reply, renderLoginPage(next, loginKind(auth)));
    // The one-time link printed at start: its code opens a session once, then is spent.
    if (typeof query.code !== 'string' || !auth.takeLoginCode(query.code)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      return sendPage(reply.code(401), renderLoginPage(next, loginKind(auth), 'spent-link'));
    }
    void reply.setCookie(SESSION_COOKIE, auth.newSession(), auth.sessionCookieOptions(request));
    return reply.redirect(next, 303);
  });
  app.post('/login', async (request, reply) => {
    if (!auth.canLogIn) return reply.redirect('/', 303);
    const form = (request.body ?? {}) as { token?: unknown; next?: unknown };
    const next = safeNext(form.next);
    if (typeof form.token !== 'string' || !auth.tokenMatches(form.token.trim())) {
      // A pause per wrong guess; tokens are long, this only makes scripted guessing noisier.
      await new Promise((resolve) => setTimeout(resolve, 250));
      return sendPage(reply.code(401), renderLoginPage(next, loginKind(auth), 'wrong'));
    }
    void reply.setCookie(SESSION_COOKIE, auth.newSession(), auth.sessionCookieOptions(request));
    return reply.redirect(next, 303);
  });
  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect(auth.required ? '/login' : '/', 303);
  };
  app.post('/logout', logout);
  app.get('/logout', logout);
}
