import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachContainer,
  connectEngine,
  isNotFound,
  type Engine,
} from '../../../src/executors/container/engine-client.js';

// An engine socket that answers every request with one status and body, so that dockerode (and
// docker-modem under it) turns it into the error object the executor sees.
describe('engine errors through dockerode', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-engine-errors-'));
  const socketPath = path.join(dir, 'engine.sock');
  let answer = { status: 404, body: {} as object };
  let server: Server;
  let engine: Engine;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    engine = connectEngine({ socketPath });
  });
  afterAll(async () => {
    engine.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function inspectError(status: number, message: string): Promise<unknown> {
    answer = { status, body: { cause: 'x', message, response: status } };
    return engine.api
      .getContainer('c0ffee')
      .inspect()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
  }

  it("takes podman's 500 for a container it is removing right then as not found, as Docker's 404", async () => {
    expect(isNotFound(await inspectError(404, 'No such container: c0ffee'))).toBe(true);
    // What podman answers a look at a container removed while the look waited on its lock.
    expect(isNotFound(await inspectError(500, 'container c0ffee does not exist in database: no such container'))).toBe(
      true,
    );
    expect(isNotFound(await inspectError(500, 'container has already been removed'))).toBe(true);
  });

  it('keeps every other failure a failure', async () => {
    expect(isNotFound(await inspectError(500, 'runc: container_linux.go: permission denied'))).toBe(false);
    expect(isNotFound(await inspectError(409, 'no such container in a 409 is not podman removing it'))).toBe(false);
  });
});

// An attach with stdin is hijacked: the engine (over TCP here) upgrades the connection, which is
// then reset, as a restarting engine or a dropped proxy would, before anyone reads it.
describe('a hijacked attach reset before its reader iterates it', () => {
  let server: Server;
  let engine: Engine;

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(404).end('{}'));
    server.on('upgrade', (_req, socket: Socket) => {
      socket.write(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    engine = connectEngine({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'http' });
  });
  afterAll(async () => {
    engine.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('keeps the error for its reader, not an uncaught one that ends the worker', async () => {
    const { output, input } = await attachContainer(engine, 'c0ffee', true);
    expect(input).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(output.destroyed).toBe(true);
    await expect(
      (async () => {
        for await (const chunk of output) void chunk;
      })(),
    ).rejects.toThrow(/ECONNRESET/);
  });
});
