import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { readLocalSecret } from '../../src/config/local-secret.js';
import type { TaskClient } from '../../src/tasks/client.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { connectMcpHttp } from '../helpers/mcp-client.js';

// The router decodes percent-escapes and takes absolute URLs: `/%61pi/tasks` is the route
// `/api/tasks`. Every check of the dashboard must hold for the route a request reaches, however
// its path is spelled. No worker runs here, so a task stays queued with its job as it was made.

const shellTask = { executor: 'local', payload: { type: 'shell_command', command: 'echo queued' }, workdir: '/tmp' };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

// fetch() sends origin-form targets only; node:http sends the target it is given.
function callRaw(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a dashboard decides on the route a request reaches, not on how its path is spelled', () => {
  let h: Harness;
  let dashboard: RunningDashboard;
  let base: string;
  let bearer: string;
  let tasks: TaskClient;

  const taskCount = () => h.redis().zcard(`${h.prefix}:_index:created`);
  const localPaused = async () => {
    const executors = JSON.parse((await call(`${base}/api/executors`)).text) as { name: string; paused: boolean }[];
    return executors.find((e) => e.name === 'local')?.paused;
  };
  const createTask = async () => {
    const r = await call(`${base}/api/tasks`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/json' },
      body: JSON.stringify(shellTask),
    });
    expect(r.status, r.text).toBe(201);
    return (JSON.parse(r.text) as { task_id: string }).task_id;
  };
  // A session as the login form opens it with the local secret, and the page's CSRF token.
  const logIn = async () => {
    const login = await call(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: (await readLocalSecret(h.home))!, next: '/' }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = /oca_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
    const page = await call(`${base}/`, { headers: { cookie, accept: 'text/html' } });
    return { cookie, csrf: /<meta name="oca-csrf" content="([^"]+)">/.exec(page.text)![1]! };
  };

  beforeAll(async () => {
    h = createHarness();
    dashboard = await startDashboard({ config: h.config(), port: 0, home: h.home });
    base = dashboard.url;
    bearer = `Bearer ${await readLocalSecret(h.home)}`;
    tasks = await h.client();
  });
  afterAll(async () => {
    await dashboard?.close();
    await h?.cleanup();
  });

  it('refuses raw Bull Board writes to an executor queue however the path is spelled, and leaves its jobs as they were', async () => {
    const id = await createTask();
    const queue = tasks.queue('local');
    const queued = await queue.count();
    const rawJob = { name: 'shell_command', data: { ...shellTask, payload: { type: 'shell_command', command: 'id' } } };
    const writes: [string, string, unknown][] = [
      ['POST', '/queues/api/queues/local/%61dd', rawJob],
      ['POST', '/queues/api/queues/%6cocal/add', rawJob],
      ['POST', '/queues/%61pi/queues/local/add', rawJob],
      ['PATCH', `/queues/api/queues/local/${id}/update-d%61ta`, { data: rawJob.data }],
      ['PATCH', `/queues/api/queues/local/${id}/update-data`, { data: rawJob.data }],
      ['PUT', `/queues/api/queues/local/${id}/r%65try`, {}],
      ['PUT', '/queues/api/queues/local/r%65try/failed', {}],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(base + path, {
        method,
        headers: { authorization: bearer, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
      expect(JSON.parse(r.text)).toEqual({
        error:
          'tasks are not added, edited or re-run through Bull Board: use the task panel (/) or `openclaw-agent retry`',
      });
    }
    expect(await queue.count()).toBe(queued);
    const job = await queue.getJob(id);
    expect((job?.data as { payload: { command: string } }).payload.command).toBe('echo queued');
    // Re-delivering webhooks stays allowed, under any spelling of the callbacks queue's name.
    for (const path of ['/queues/api/queues/callbacks/retry/failed', '/queues/api/queues/c%61llbacks/retry/failed']) {
      const r = await call(base + path, { method: 'PUT', headers: { authorization: bearer } });
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(300);
    }
  });

  it('holds a cookie session to the CSRF token however the API path is spelled', async () => {
    const { cookie, csrf } = await logIn();
    const before = await taskCount();
    const noCsrf = await call(`${base}/%61pi/tasks`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify(shellTask),
    });
    expect(noCsrf.status, noCsrf.text).toBe(403);
    expect(JSON.parse(noCsrf.text)).toEqual({ error: 'missing or wrong x-csrf-token header (reload the page)' });
    const form = await call(`${base}/%61pi/executors/local/pause`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(form.status, form.text).toBe(403);
    expect(await taskCount()).toBe(before);
    expect(await localPaused()).toBe(false);
    // With the token the same spelling works: it is the route /api/tasks.
    const withCsrf = await call(`${base}/%61pi/tasks`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, origin: base, 'content-type': 'application/json' },
      body: JSON.stringify(shellTask),
    });
    expect(withCsrf.status, withCsrf.text).toBe(201);
    expect(await taskCount()).toBe(before + 1);
  });

  it('takes API bodies as JSON only however the path is spelled', async () => {
    const before = await taskCount();
    const form = await call(`${base}/%61pi/executors/local/pause`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(form.status, form.text).toBe(415);
    expect(JSON.parse(form.text)).toEqual({
      error: 'send the body as application/json, not application/x-www-form-urlencoded',
    });
    const text = await call(`${base}/%61pi/tasks`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'text/plain' },
      body: JSON.stringify(shellTask),
    });
    expect(text.status, text.text).toBe(415);
    expect(await localPaused()).toBe(false);
    expect(await taskCount()).toBe(before);
  });

  it('answers an encoded path as the route it names: the task page, and MCP without the secret', async () => {
    const id = await createTask();
    const page = await call(`${base}/tasks/%${id.charCodeAt(0).toString(16)}${id.slice(1)}`, {
      headers: { accept: 'text/html' },
    });
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain(id);
    const mcp = await call(`${base}/%6dcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(mcp.status).toBe(401);
    expect(JSON.parse(mcp.text).error).toMatch(/^MCP over HTTP needs the local secret/);
  });

  it('refuses a request target that is not a path (absolute-form) in one line, and runs nothing', async () => {
    const before = await taskCount();
    const headers = { host: `127.0.0.1:${dashboard.port}`, authorization: bearer, 'content-type': 'application/json' };
    const post = await callRaw(dashboard.port, 'POST', `${base}/api/tasks`, headers, JSON.stringify(shellTask));
    expect(post.status, post.text).toBe(400);
    expect(JSON.parse(post.text)).toEqual({
      error: `the request target must be a path that starts with /, not \`${base}/api/tasks\``,
    });
    expect(post.text.trim().split('\n')).toHaveLength(1);
    const pause = await callRaw(dashboard.port, 'POST', `${base}/api/executors/local/pause`, headers, '{}');
    expect(pause.status, pause.text).toBe(400);
    expect((await callRaw(dashboard.port, 'GET', `${base}/api/tasks`, { host: headers.host })).status).toBe(400);
    expect(await taskCount()).toBe(before);
    expect(await localPaused()).toBe(false);
  });

  it('answers a path that is not valid percent-encoding with one line in the shape of every API error', async () => {
    for (const path of ['/api/tasks/%zz', '/%zz']) {
      const r = await call(base + path, { headers: { authorization: bearer } });
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.text), path).toEqual({
        error: 'the path is not valid percent-encoding (a % starts an escape such as %2F)',
      });
    }
  });

  it('still serves the panel, the login page, Bull Board, SSE, MCP and /metrics at their paths', async () => {
    const id = await createTask();
    const html = { accept: 'text/html' };
    for (const path of ['/', '/schedules', `/tasks/${id}`, '/login', '/queues/', `/queues/queue/local/${id}`]) {
      const r = await call(base + path, { headers: html });
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toMatch(/^text\/html/);
    }
    expect((await call(`${base}/assets/panel.js`)).status).toBe(200);
    const queues = await call(`${base}/queues/api/queues?activeQueue=local&status=latest&page=1&jobsPerPage=50`);
    expect(queues.status).toBe(200);
    expect(queues.text).toContain(id);
    expect((await call(`${base}/queues/api/queues/local/${id}`)).status).toBe(200);
    expect((await call(`${base}/metrics`)).status).toBe(200);
    expect((await call(`${base}/api/tasks/${id}?x=%2F`)).status).toBe(200);

    const stream = new AbortController();
    const sse = await fetch(`${base}/api/tasks/${id}/logs`, {
      headers: { accept: 'text/event-stream' },
      signal: stream.signal,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    stream.abort();

    const mcp = await connectMcpHttp(base, (await readLocalSecret(h.home))!, 'request-targets');
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('run');
    } finally {
      await mcp.close();
    }
    const { cookie, csrf } = await logIn();
    const pause = (action: string) =>
      call(`${base}/api/executors/local/${action}`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, origin: base, 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await pause('pause')).status).toBe(200);
    expect(await localPaused()).toBe(true);
    expect((await pause('resume')).status).toBe(200);
    expect(await localPaused()).toBe(false);
  });
});
