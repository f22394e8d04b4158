import { request, createServer, type ClientRequest } from 'node:http';
import net from 'node:net';
import { rmSync } from 'node:fs';

/**
 * An HTTP proxy on its own unix socket in front of an engine's API socket. Requests are forwarded
 * one by one, bodies piped both ways (long polls such as /wait and streamed /logs included), and
 * upgraded connections are tunnelled. A request that `fail` picks is not forwarded: the client's
 * connection is destroyed instead, as when the engine goes away mid-call.
 */
export interface EngineFaultProxy {
  socket: string;
  /** `unix://…`, as an executor's `socket` takes it. */
  url: string;
  /** "METHOD path" of every request that went through, in order. */
  forwarded: string[];
  /** "METHOD path" of every request that was failed. */
  failed: string[];
  close(): Promise<void>;
}

export async function startEngineFaultProxy(
  target: string,
  socket: string,
  fail: (method: string, path: string) => boolean,
): Promise<EngineFaultProxy> {
  const forwarded: string[] = [];
  const failed: string[] = [];
  const upstreams = new Set<ClientRequest | net.Socket>();
  const server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (fail(req.method ?? 'GET', req.url ?? '/')) {
      failed.push(line);
      req.socket.destroy();
      return;
    }
    forwarded.push(line);
    const upstream = request(
      { socketPath: target, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // At once, before any body: the executor waits for attach's answer before it starts the container.
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    upstream.on('error', () => res.destroy());
    // The client gone (an aborted /wait, say): the upstream call goes too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  // An upgrade (attach with stdin): the request head again, then bytes both ways.
  server.on('upgrade', (req, client: net.Socket, head: Buffer) => {
    forwarded.push(`${req.method} ${req.url} (upgrade)`);
    const upstream = net.connect(target);
    upstreams.add(upstream);
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      upstreams.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return {
    socket,
    url: `unix://${socket}`,
    forwarded,
    failed,
    async close() {
      for (const upstream of upstreams) upstream.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socket, { force: true });
    },
  };
}
