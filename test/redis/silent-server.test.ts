// A server that accepts the connection and never answers: connectRedis fails at its timeout and
// leaves nothing behind (no half-closed socket waiting for the server, no timer) that would keep
// the process up after its error line.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisUnreachableError } from '../../src/errors.js';
import { connectRedis } from '../../src/redis/connection.js';
import { ROOT } from '../helpers/harness.js';

describe('connectRedis against a server that never answers', () => {
  let server: net.Server;
  let url: string;
  const accepted: net.Socket[] = [];
  beforeAll(async () => {
    server = net.createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([false, true])('destroys its socket when it gives up (persistent: %s)', async (persistent) => {
    const sockets: net.Socket[] = [];
    const create = net.createConnection;
    // ioredis opens its socket through node:net's createConnection.
    const spy = vi.spyOn(net, 'createConnection').mockImplementation((...args: Parameters<typeof create>) => {
      const socket = create(...args);
      sockets.push(socket);
      return socket;
    });
    try {
      await expect(connectRedis(url, { connectTimeoutMs: 300, persistent })).rejects.toThrow(RedisUnreachableError);
    } finally {
      spy.mockRestore();
    }
    expect(sockets).toHaveLength(1);
    // Not just half-closed (end()), which waits for a FIN this server never sends.
    expect(sockets[0]!.destroyed).toBe(true);
  });

  // In a process of its own: once the connect has failed, nothing of the connection keeps it
  // up. A marker timer (unref'd) is said only if the process is still there 1.5 s later; the old
  // code's timers (a 2 s disconnect wait, a 20 s socket timeout) always outlived it.
  it.each([false, true])('lets the process exit right after the error (persistent: %s)', async (persistent) => {
    const module = path.join(ROOT, 'dist/src/redis/connection.js');
    const script = `
      const { connectRedis } = await import(${JSON.stringify(module)});
      try {
        await connectRedis(${JSON.stringify(url)}, { connectTimeoutMs: 300, persistent: ${persistent} });
        console.log('connected');
      } catch (error) {
        console.log('failed: ' + error.message);
      }
      setTimeout(() => console.log('still alive'), 1500).unref();
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^failed: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(no answer within 300ms\)/);
    expect(stdout).not.toContain('still alive');
  });
});
