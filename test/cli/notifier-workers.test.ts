import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskClient, toTaskJson } from '../../src/index.js';
import { createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';

// Wakes across workers. A worker stopped (SIGTERM) while the OpenClaw gateway is still answering
// its wake lets that attempt end and records it: the next worker does not make it again, and the
// agent wakes once. A worker without the gateway's token leaves the wake to one that has it.

const TOKEN = 'stop-test-hooks-token';
/** How long the gateway takes to answer a wake: the worker is stopped meanwhile. */
const ANSWER_AFTER_MS = 1500;

describe('wakes across workers', () => {
  let h: Harness;
  let client: TaskClient;
  let gateway: Server;
  const wakes: { at: number; text: string }[] = [];
  let heard: () => void = () => {};

  beforeAll(async () => {
    gateway = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        wakes.push({ at: Date.now(), text: (JSON.parse(body) as { text: string }).text });
        heard();
        setTimeout(() => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"ok":true}');
        }, ANSWER_AFTER_MS);
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const port = (gateway.address() as AddressInfo).port;
    h = createHarness({
      extraConfig: (dir) =>
        `notifiers:\n  gw:\n    type: openclaw\n    url: http://127.0.0.1:${port}\n  slow:\n    type: command\n    argv: [sh, -c, 'echo run >> ${dir}/runs; until [ -e ${dir}/gate ]; do sleep 0.1; done; echo done >> ${dir}/runs']\n    timeout: 5m\ndefaults:\n  notify: [gw]\n`,
    });
    client = await h.client();
  });
  afterAll(async () => {
    await h?.cleanup();
    gateway?.closeAllConnections();
    await new Promise((resolve) => gateway?.close(resolve));
  });

  it('lets the attempt end and records it, so the next worker does not wake the agent again', async () => {
    const first = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN });
    const arrived = new Promise<void>((resolve) => (heard = resolve));
    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
      name: 'build',
    });
    await arrived;
    // Stopped while the gateway has the wake and has not answered yet.
    await stopProcess(first, 'SIGTERM', 30_000);
    const second = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN });
    const state = await eventually(async () => {
      const n = (toTaskJson(await client.get(id)) as { notifiers: { state: string; attempts: number }[] }).notifiers[0];
      return n && n.state !== 'pending' && n.state !== 'retrying' ? n : undefined;
    }, 'the wake to be recorded');
    expect(state).toMatchObject({ state: 'delivered', attempts: 1 });
    // A job left active by the first worker would be found stalled within a lock duration (2 s
    // here) plus a stall check (1 s) and POSTed again: give that three times over.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    expect(wakes.map((w) => w.text)).toHaveLength(1);
    expect(wakes[0]!.text).toContain('"build" completed');
    await stopProcess(second);
  });

  it('stops a command notifier still running after the grace and hands it to the next worker', async () => {
    const runs = () => (existsSync(path.join(h.dir, 'runs')) ? readFileSync(path.join(h.dir, 'runs'), 'utf8') : '');
    const first = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN });
    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
      notify: ['slow'],
    });
    await eventually(async () => (runs() === 'run\n' ? true : undefined), 'the notifier to run');
    await stopProcess(first, 'SIGTERM', 30_000);
    expect(first.exitCode).toBe(0);
    const second = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN });
    await eventually(async () => (runs() === 'run\nrun\n' ? true : undefined), 'the next worker to run it again');
    writeFileSync(path.join(h.dir, 'gate'), '');
    const state = await eventually(async () => {
      const n = (toTaskJson(await client.get(id)) as { notifiers: { state: string; attempts: number }[] }).notifiers[0];
      return n && n.state !== 'pending' && n.state !== 'retrying' ? n : undefined;
    }, 'the notifier to be recorded');
    // The stopped run spent no attempt.
    expect(state).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(runs()).toBe('run\nrun\ndone\n');
    await stopProcess(second);
  });

  it(
    'exits all the same when Redis is gone while it would record the wake under way',
    { timeout: 90_000 },
    async () => {
      const redis = await startRedisServer();
      const own = await TaskClient.connect(h.config(), redis.url);
      try {
        const worker = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN, REDIS_URL: redis.url });
        const arrived = new Promise<void>((resolve) => (heard = resolve));
        await own.enqueue({
          executor: 'local',
          payload: { type: 'shell_command', command: 'true', args: [], env: {} },
          name: 'no redis',
        });
        await arrived;
        await redis.stop('SIGKILL');
        // The gateway answers, then recording it waits for a Redis that is not coming back.
        const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
        worker.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        await own.close();
        await redis.destroy();
      }
    },
  );

  it('leaves a wake to a worker with the token when the one that took it has none', async () => {
    const before = wakes.length;
    // Started without OPENCLAW_HOOKS_TOKEN (a second host's unit file that forgot it).
    const tokenless = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: '' });
    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
      name: 'handed on',
    });
    const stateOf = async () =>
      (toTaskJson(await client.get(id)) as { notifiers: { state: string; attempts: number; error?: string }[] })
        .notifiers[0];
    const waiting = await eventually(async () => {
      const n = await stateOf();
      return n?.state === 'retrying' || n?.state === 'failed' ? n : undefined;
    }, 'the tokenless worker to take the wake');
    expect(waiting).toMatchObject({
      state: 'retrying',
      error:
        "OPENCLAW_HOOKS_TOKEN is not set in the worker's environment — set it to the gateway's hooks.token (waiting for a worker with OPENCLAW_HOOKS_TOKEN)",
    });
    const withToken = await h.startWorker('local', { OPENCLAW_HOOKS_TOKEN: TOKEN });
    await stopProcess(tokenless);
    const state = await eventually(async () => {
      const n = await stateOf();
      return n?.state === 'delivered' || n?.state === 'failed' ? n : undefined;
    }, 'the wake to be delivered');
    expect(state).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(wakes.slice(before).map((w) => w.text)).toEqual([expect.stringContaining('"handed on" completed')]);
    await stopProcess(withToken);
  });
});
