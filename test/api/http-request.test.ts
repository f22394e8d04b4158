// The API client's HTTP exchange answers and fails as fetch does, against a real local server.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../../src/api/http-request.js';
import { ApiError, createClient } from '../../src/index.js';
import { testPort } from '../helpers/ports.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

// A server that records each request and answers with what `answer` says.
async function serve(
  answer: (seen: Seen) => { status: number; headers?: Record<string, string>; body?: Buffer | string },
) {
  const seen: Seen[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const one = {
        method: request.method!,
        url: request.url!,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(one);
      const { status, headers = {}, body = '' } = answer(one);
      response.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { seen, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('exchange', () => {
  it('sends the method, headers and JSON body, and reads the answer as fetch would', async () => {
    const { seen, base } = await serve(() => ({
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"café"}')]),
    }));
    const body = JSON.stringify({ argv: ['echo', 'é'] });
    const headers = { authorization: 'Bearer secret', 'content-type': 'application/json' };
    const ours = await exchange(`${base}/api/tasks`, 'POST', headers, body);
    const theirs = await fetch(`${base}/api/tasks`, { method: 'POST', headers, body });
    expect(ours).toEqual({ status: 201, ok: true, text: await theirs.text() });
    expect(ours.text).toBe('{"name":"café"}');
    for (const request of seen) {
      expect(request).toMatchObject({ method: 'POST', url: '/api/tasks', body });
      expect(request.headers).toMatchObject({
        authorization: 'Bearer secret',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
    }
  });

  it('answers a refusal with its status and body, not ok', async () => {
    const { base } = await serve(() => ({ status: 404, body: '{"error":"no task"}' }));
    expect(await exchange(`${base}/api/tasks/abc`, 'DELETE', {}, undefined)).toEqual({
      status: 404,
      ok: false,
      text: '{"error":"no task"}',
    });
  });

  it('follows the redirect of a read as fetch does', async () => {
    const { seen, base } = await serve(({ url }) =>
      url === '/old' ? { status: 307, headers: { location: '/new' } } : { status: 200, body: 'moved' },
    );
    expect(await exchange(`${base}/old`, 'GET', {}, undefined)).toEqual({ status: 200, ok: true, text: 'moved' });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/new' });
  });

  it('does not send a write again where it was redirected: refused, naming where', async () => {
    const { seen, base } = await serve(({ url }) =>
      url === '/api/tasks' ? { status: 308, headers: { location: '/v2/tasks' } } : { status: 201, body: '{}' },
    );
    const answer = await exchange(`${base}/api/tasks`, 'POST', { 'content-type': 'application/json' }, '{}');
    expect(answer).toEqual({
      status: 308,
      ok: false,
      text: `redirected to ${base}/v2/tasks; not sent again there: use that address`,
    });
    expect(seen.map((s) => s.url)).toEqual(['/api/tasks']);
  });

  it("makes the client's redirected write a usage error that says where to point it", async () => {
    const { seen, base } = await serve(() => ({
      status: 301,
      headers: { location: 'https://dash.example/api/tasks' },
    }));
    const api = createClient({ url: base, token: 't' });
    const failed = await api.run({ cmd: 'true', executor: 'local' }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ApiError);
    expect(failed).toMatchObject({
      code: 'USAGE',
      message: 'HTTP 301: redirected to https://dash.example/api/tasks; not sent again there: use that address',
    });
    expect(seen).toHaveLength(1);
  });

  it('fails as fetch does when nothing listens: a TypeError whose cause says why', async () => {
    const url = `http://127.0.0.1:${await testPort()}/api/tasks`;
    const theirs = await fetch(url).catch((error: unknown) => error);
    const ours = await exchange(url, 'GET', {}, undefined).catch((error: unknown) => error);
    expect(ours).toBeInstanceOf(TypeError);
    expect(ours).toMatchObject({ message: (theirs as Error).message, cause: { code: 'ECONNREFUSED' } });
    expect(theirs).toMatchObject({ cause: { code: 'ECONNREFUSED' } });
  });

  it('gives up on a server that never answers, as fetch does after its own (longer) limit', async () => {
    const { seen, base } = await serve(() => ({ status: 0 }));
    // A server that takes the request and says nothing.
    server!.removeAllListeners('request');
    server!.on('request', (request: IncomingMessage) =>
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body: '' }),
    );
    const failed = await exchange(`${base}/api/tasks`, 'GET', {}, undefined, { connectMs: 10_000, idleMs: 200 }).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(TypeError);
    expect(failed).toMatchObject({ message: 'fetch failed', cause: { message: 'no answer for 0.2 s (ETIMEDOUT)' } });
    expect(seen).toHaveLength(1);
  });
});

describe('the client and an answer it cannot read', () => {
  // An executor as a dashboard answers `GET /api/executors`, less what `omit` names.
  const executor = (omit: string[] = []) =>
    Object.fromEntries(
      Object.entries({
        name: 'local',
        type: 'local',
        host: null,
        labels: [],
        port: null,
        user: null,
        image: null,
        runtime: null,
        concurrency: 2,
        env_keys: [],
        paused: false,
        workers: [],
        served: true,
        last_served_at: null,
      }).filter(([key]) => !omit.includes(key)),
    );
  const json = (body: unknown) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  it('reads a whole answer, and fails on one without a field it needs in one line that names the field and the fix', async () => {
    let older = false;
    const { base } = await serve(() => json([executor(older ? ['served'] : [])]));
    const api = createClient({ url: base, token: 't' });
    expect(await api.executors()).toEqual([executor()]);
    older = true;
    const failed = await api.executors().catch((error: unknown) => error);
    expect(failed).toMatchObject({ name: 'UserFacingError', code: 'INTERNAL' });
    const message = (failed as Error).message;
    expect(message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/executors answered with a body this client cannot read \(`0\.served`: .*\): the dashboard runs another version of openclaw-agent than this client \(\d+\.\d+\.\d+\); upgrade the older of the two$/,
    );
    expect(message).not.toContain('\n');
  });

  it('names the value it does not know, as a newer dashboard may send', async () => {
    const { base } = await serve(() => json([{ ...executor(), type: 'kubernetes' }]));
    const failed = await createClient({ url: base, token: 't' })
      .executors()
      .catch((error: unknown) => error);
    expect((failed as Error).message).toMatch(
      /cannot read \(`0\.type`: .*local.*\): the dashboard runs another version/,
    );
  });

  it('says an answer that is not JSON came from something other than a dashboard, quoting its start', async () => {
    const { base } = await serve(() => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html>welcome</html>',
    }));
    const failed = await createClient({ url: base, token: 't' })
      .executors()
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({
      code: 'INTERNAL',
      message: `GET ${base}/api/executors answered with something other than JSON ("<html>welcome</html>"): is that address an openclaw-agent dashboard?`,
    });
  });
});
