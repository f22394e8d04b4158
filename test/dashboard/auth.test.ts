import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { readLocalSecret } from '../../src/config/local-secret.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const TOKEN = `token-${randomUUID()}`;
const shellTask = { executor: 'local', payload: { type: 'shell_command', command: 'true' }, workdir: '/tmp' };

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

// fetch() will not send a Host header of our choosing; node:http will.
function withHost(url: string, host: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard auth', () => {
  let h: Harness;
  const running: RunningDashboard[] = [];
  const start = async (options: { host?: string; token?: string; readOnly?: boolean }) => {
    const dashboard = await startDashboard({ config: h.config(), port: 0, home: h.home, ...options });
    running.push(dashboard);
    return dashboard;
  };

  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await Promise.all(running.map((d) => d.close()));
    await h.cleanup();
  });

  it('refuses, in one line, to listen beyond loopback without a token', async () => {
    const error = await startDashboard({ config: h.config(), host: '0.0.0.0', port: 0 }).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^refusing to serve the dashboard on 0\.0\.0\.0 without a token: set OPENCLAW_AGENT_DASHBOARD_TOKEN or pass --token-file FILE/,
    );
    expect((error as Error).message).not.toContain('\n');
    await expect(startDashboard({ config: h.config(), host: '0.0.0.0', port: 0, token: 'short' })).rejects.toThrow(
      /too short/,
    );
  });

  describe('bound to 0.0.0.0 with a token', () => {
    let base: string;
    beforeAll(async () => {
      const dashboard = await start({ host: '0.0.0.0', token: TOKEN });
      base = `http://127.0.0.1:${dashboard.port}`;
    });

    it('answers 401 to API and Bull Board requests without the token, and serves them with it', async () => {
      for (const path of ['/api/tasks', '/api/executors', '/metrics', '/queues/api/queues', '/api/openapi.json']) {
        const r = await call(base + path);
        expect(r.status, path).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        expect(JSON.parse(r.text).error).toMatch(/^authentication required/);
      }
      const wrong = await call(`${base}/api/tasks`, { headers: { authorization: 'Bearer wrong' } });
      expect(wrong.status).toBe(401);
      expect((await call(`${base}/api/tasks`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await call(`${base}/queues/api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
        200,
      );
      // The health check is open: it says nothing but whether Redis answers.
      expect(JSON.parse((await call(`${base}/healthz`)).text)).toEqual({ ok: true, redis: 'up' });
    });

    it('sends browsers to a login form; the token sets an HttpOnly SameSite=Strict cookie; mutations need the CSRF token', async () => {
      const page = await call(`${base}/queues/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/login?next=%2Fqueues%2F');
      const form = await call(`${base}/login`);
      expect(form.text).toContain('<form method="post" action="/login">');

      const badLogin = await call(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=nope&next=%2F',
      });
      expect(badLogin.status).toBe(401);
      expect(badLogin.headers.get('set-cookie')).toBeNull();

      const login = await call(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }).toString(),
      });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/');
      const setCookie = login.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^oca_session=[^;]+;/);
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      const cookie = setCookie.split(';')[0]!;

      const panel = await call(`${base}/`, { headers: { cookie } });
      expect(panel.status).toBe(200);
      expect(panel.headers.get('content-security-policy')).toContain("script-src 'self'");
      const csrf = /<meta name="oca-csrf" content="([^"]+)">/.exec(panel.text)![1]!;
      expect((await call(`${base}/queues/api/queues`, { headers: { cookie } })).status).toBe(200);

      const post = (headers: Record<string, string>) =>
        call(`${base}/api/tasks`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json', ...headers },
          body: JSON.stringify(shellTask),
        });
      const noCsrf = await post({});
      expect(noCsrf.status).toBe(403);
      expect(JSON.parse(noCsrf.text).error).toMatch(/x-csrf-token/);
      expect((await post({ 'x-csrf-token': 'forged' })).status).toBe(403);
      expect((await post({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
      expect((await post({ 'x-csrf-token': csrf, origin: base })).status).toBe(201);
      // Bull Board's UI cannot send our header: its mutations are held to the same origin instead.
      expect(
        (
          await call(`${base}/queues/api/queues/local/pause`, {
            method: 'PUT',
            headers: { cookie, origin: 'http://evil.example' },
          })
        ).status,
      ).toBe(403);
      expect(
        (await call(`${base}/queues/api/queues/local/pause`, { method: 'PUT', headers: { cookie, origin: base } }))
          .status,
      ).toBeLessThan(300);
      expect(
        (await call(`${base}/queues/api/queues/local/resume`, { method: 'PUT', headers: { cookie, origin: base } }))
          .status,
      ).toBeLessThan(300);

      // A tampered session is no session.
      const tampered = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      expect((await call(`${base}/api/tasks`, { headers: { cookie: tampered } })).status).toBe(401);
      const logout = await call(`${base}/logout`, { method: 'POST', headers: { cookie } });
      expect(logout.headers.get('set-cookie')).toMatch(/oca_session=;/);
    });

    it('sends a login back to a path on this site only: a tab, a line break, a backslash or a dot segment before // goes to /', async () => {
      // The form carries `next` on: a tab in it was kept, and browsers drop tabs (`/\t/x` is `//x`).
      const form = await call(`${base}/login?next=/%09/evil.example`);
      expect(form.text).toContain('<input type="hidden" name="next" value="/">');
      const login = (next: string) =>
        call(`${base}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: TOKEN, next }).toString(),
        });
      const cases: [string, string][] = [
        ['/\t/evil.example', '/'],
        ['/\n/evil.example', '/'],
        ['/\\/evil.example', '/'],
        ['/x/..\\/evil.example', '/'],
        ['/.//evil.example', '/'],
        ['/a/..//evil.example', '/'],
        ['https://evil.example/', '/'],
        ['/queues/', '/queues/'],
        ['/tasks/0123abcd?view=transcript#end', '/tasks/0123abcd?view=transcript#end'],
      ];
      for (const [next, location] of cases) {
        const r = await login(next);
        expect(r.status, JSON.stringify(next)).toBe(303);
        expect(r.headers.get('location'), JSON.stringify(next)).toBe(location);
      }
    });
  });

  describe('read-only, on loopback without a token', () => {
    let base: string;
    beforeAll(async () => {
      base = (await start({ readOnly: true })).url;
    });

    it('refuses every mutation with 403 and marks the queues and the page read-only', async () => {
      const mutations: [string, string][] = [
        ['POST', '/api/tasks'],
        ['POST', '/api/tasks/0123456789/kill'],
        ['POST', '/api/tasks/0123456789/retry'],
        ['PUT', '/queues/api/queues/local/pause'],
        ['PUT', '/queues/api/queues/callbacks/clean/completed'],
      ];
      for (const [method, path] of mutations) {
        const r = await call(base + path, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(shellTask),
        });
        expect(r.status, path).toBe(403);
        expect(JSON.parse(r.text).error).toMatch(/read-only/);
      }
      const queues = JSON.parse((await call(`${base}/queues/api/queues`)).text) as {
        queues: { readOnlyMode: boolean }[];
      };
      expect(queues.queues.length).toBe(2);
      expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);
      expect((await call(`${base}/`)).text).toContain('<meta name="oca-read-only" content="1">');
      expect((await call(`${base}/api/tasks`)).status).toBe(200);
    });

    it('refuses names other than loopback in the Host header (DNS rebinding) and cross-site mutations', async () => {
      expect(await withHost(`${base}/api/tasks`, 'evil.example')).toBe(403);
      expect(await withHost(`${base}/api/tasks`, 'localhost:3000')).toBe(200);
    });
  });

  it('refuses cross-site mutations on loopback without a token, and serves same-site ones', async () => {
    const { url } = await start({});
    // Writes on loopback want the local secret, as the CLI and the client send it.
    const authorization = `Bearer ${await readLocalSecret(h.home)}`;
    const post = (origin?: string) =>
      call(`${url}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization, ...(origin ? { origin } : {}) },
        body: JSON.stringify(shellTask),
      });
    expect((await post('http://evil.example')).status).toBe(403);
    expect((await post(url)).status).toBe(201);
    expect((await post()).status).toBe(201);
  });

  it('sends the one-time login link back to a path on this site only', async () => {
    const { loginUrl } = await start({});
    const r = await call(`${loginUrl!}&next=/%09/evil.example`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/');
    expect(r.headers.get('set-cookie')).toMatch(/^oca_session=/);
  });
});
