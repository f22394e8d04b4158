import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, isNotFound, type Engine } from '../../../src/executors/container/engine-client.js';

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
