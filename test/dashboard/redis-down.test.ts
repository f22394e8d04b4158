import { inspect } from 'node:util';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { readLocalSecret } from '../../src/config/local-secret.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { callTool, connectMcpHttp, connectMcpStdio, taskOf, textOf } from '../helpers/mcp-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// A dashboard on a private redis-server that the test stops: while it is down, the API, /metrics
// and MCP answer at once with a 503 instead of holding the call for the outage's length (a held
// MCP `run` would run late, and again if its client sent it again).

const REDIS_DOWN = 'Redis is unreachable; retrying in the background';

describe('a dashboard while its Redis is down', () => {
  let server: RedisServer;
  let h: Harness;
  let dashboard: RunningDashboard;
  let authorization: string;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    h = createHarness();
    dashboard = await startDashboard({
      config: h.config(),
      redisUrl: server.url,
      port: 0,
      home: h.home,
      onLog: (line) => lines.push(line),
    });
    authorization = `Bearer ${await readLocalSecret(h.home)}`;
  });
  afterAll(async () => {
    await dashboard?.close();
    await server?.destroy();
    await h?.cleanup();
  });

  it('answers MCP at once with a one-line JSON-RPC 503, as the API and /metrics, and runs nothing late', async () => {
    const mcp = (path: string, id: number) =>
      fetch(dashboard.url + path, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'run', arguments: { command: 'echo late', executor: 'local' } },
        }),
        // Only so that a held call fails this test instead of hanging it: the answer needs no Redis.
        signal: AbortSignal.timeout(20_000),
      });

    await server.stop('SIGKILL');
    // The reporter's line comes from a failed reconnection: the connection is not ready from then on.
    await eventually(
      async () => (lines.some((line) => line.includes('is unreachable')) ? true : undefined),
      'the dashboard to say Redis is unreachable',
    );
    for (const path of ['/api/tasks', '/metrics']) {
      const r = await fetch(dashboard.url + path, { signal: AbortSignal.timeout(20_000) });
      expect(r.status, path).toBe(503);
      expect(await r.json()).toEqual({ error: REDIS_DOWN });
    }
    // A client that retries sends its call again; neither is held, and the decoded path is /mcp too.
    for (const [path, id] of [
      ['/mcp', 1],
      ['/mcp', 2],
      ['/%6dcp', 3],
    ] as const) {
      const r = await mcp(path, id);
      expect(r.status, path).toBe(503);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await r.text();
      expect(text.split('\n')).toHaveLength(1);
      expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: REDIS_DOWN }, id: null });
    }

    await server.start();
    await eventually(async () => {
      const r = await fetch(`${dashboard.url}/healthz`, { signal: AbortSignal.timeout(20_000) });
      return r.status === 200 ? true : undefined;
    }, '/healthz to say Redis is back');
    const listed = async () =>
      ((await (await fetch(`${dashboard.url}/api/tasks`)).json()) as { tasks: { task_id: string }[] }).tasks;
    expect(await listed()).toEqual([]);
    // MCP works again once Redis is back.
    const client = await connectMcpHttp(dashboard.url, authorization.slice('Bearer '.length), 'redis-down');
    try {
      const task = taskOf(await callTool(client, 'run', { command: 'echo after', executor: 'local' }));
      expect((await listed()).map((t) => t.task_id)).toEqual([task.task_id]);
    } finally {
      await client.close();
    }
  });

  it('fails a dispatch whose command Redis died holding with a 503 at once, and never carries it out', async () => {
    const before = await listTaskIds(dashboard.url);
    const answer = await whileRedisDiesMidCall(server, () =>
      fetch(`${dashboard.url}/api/tasks`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          executor: 'local',
          payload: { type: 'shell_command', command: 'echo cut-off' },
          workdir: h.dir,
        }),
        signal: AbortSignal.timeout(20_000),
      }),
    );
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({
      error:
        'lost the connection to Redis (cut off mid-command); once it is back, GET /api/tasks shows whether the call took effect',
    });
    await server.start();
    // Served again means reconnected: a command kept to send again would have gone out first.
    const after = await eventually(async () => {
      const r = await fetch(`${dashboard.url}/api/tasks`, { signal: AbortSignal.timeout(20_000) });
      return r.status === 200 ? listTaskIds(dashboard.url) : undefined;
    }, 'the API served once Redis is back');
    expect(after).toEqual(before);
  });
});

async function listTaskIds(url: string): Promise<string[]> {
  const listed = (await (await fetch(`${url}/api/tasks`)).json()) as { tasks: { task_id: string }[] };
  return listed.tasks.map((t) => t.task_id);
}

/**
 * Freezes Redis, makes the call, and once the call's first command sits unread at the frozen
 * server, kills it: the connection drops with that command unanswered. Returns the call's answer.
 */
async function whileRedisDiesMidCall<T>(server: RedisServer, call: () => Promise<T>): Promise<T> {
  server.pause();
  let settled: unknown;
  const answer = call();
  answer.then(
    async (value) => (settled = { answered: value instanceof Response ? await value.clone().text() : value }),
    (error: unknown) => (settled = { failed: error }),
  );
  await eventually(async () => {
    if (settled !== undefined) throw new Error(`the call ended before it reached Redis: ${inspect(settled)}`);
    return server.unreadBytes() > 0 ? true : undefined;
  }, 'a command sent to the frozen Redis');
  await server.stop('SIGKILL');
  return answer;
}

describe('openclaw-agent mcp (stdio) while its Redis is down', () => {
  let server: RedisServer;
  let h: Harness;

  beforeAll(async () => {
    server = await startRedisServer();
    h = createHarness();
  });
  afterAll(async () => {
    await server?.destroy();
    await h?.cleanup();
  });

  it('answers a call at once with a one-line tool error, and serves again once Redis is back', async () => {
    const client = await connectMcpStdio(h, 'redis-down-stdio', { REDIS_URL: server.url });
    try {
      expect((await callTool(client, 'list', {})).isError).toBeFalsy();
      await server.stop('SIGKILL');
      // The server notices the kill when its socket ends; a read sent before that is harmless.
      // (A held call fails this test at the SDK's timeout, 20 s here, instead of hanging it.)
      const call = (name: string, args: Record<string, unknown>) =>
        client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 }) as Promise<CallToolResult>;
      const refusal = 'Redis is unreachable; retrying in the background: call again once it is back';
      await eventually(async () => ((await call('list', {})).isError ? true : undefined), 'a refused list');
      const refused = await call('run', { command: 'echo late', executor: 'local' });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe(refusal);
      await server.start();
      const task = await eventually(async () => {
        const r = await callTool(client, 'run', { command: 'echo after', executor: 'local' });
        return r.isError ? undefined : taskOf(r);
      }, 'a call served once Redis is back');
      const listed = await callTool(client, 'list', {});
      // Only the task sent once Redis was back: nothing refused ran late.
      expect((listed.structuredContent as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id)).toEqual([
        task.task_id,
      ]);
    } finally {
      await client.close();
    }
  });

  it('fails a call whose command Redis died holding at once, and never carries it out', async () => {
    const client = await connectMcpStdio(h, 'redis-lost-stdio', { REDIS_URL: server.url });
    const ids = async () =>
      ((await callTool(client, 'list', {})).structuredContent as { tasks: { task_id: string }[] }).tasks.map(
        (t) => t.task_id,
      );
    try {
      const before = await ids();
      // A held call fails this test at the SDK's timeout, 20 s here, instead of hanging it.
      const answer = (await whileRedisDiesMidCall(server, () =>
        client.callTool({ name: 'run', arguments: { command: 'echo cut-off', executor: 'local' } }, undefined, {
          timeout: 20_000,
        }),
      )) as CallToolResult;
      expect(answer.isError).toBe(true);
      expect(textOf(answer)).toBe(
        'lost the connection to Redis during the call; retrying in the background: once it is back, `list` shows whether the call took effect',
      );
      await server.start();
      // Served again means reconnected: a command kept to send again would have gone out first.
      const after = await eventually(async () => {
        const listed = await callTool(client, 'list', {});
        return listed.isError ? undefined : ids();
      }, 'a call served once Redis is back');
      expect(after).toEqual(before);
    } finally {
      await client.close();
    }
  });
});
