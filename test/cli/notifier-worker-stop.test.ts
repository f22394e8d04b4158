import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTaskJson, type TaskClient } from '../../src/index.js';
import { createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';

// A worker stopped (SIGTERM) while the OpenClaw gateway is still answering its wake lets that
// attempt end and records it: the next worker does not make it again, and the agent wakes once.

const TOKEN = 'stop-test-hooks-token';
/** How long the gateway takes to answer a wake: the worker is stopped meanwhile. */
const ANSWER_AFTER_MS = 1500;

describe('a worker stopped while a wake is under way', () => {
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
});
