import net from 'node:net';

/** A TCP proxy to a local port whose open connections can be frozen, as a dropped NAT entry does. */
export interface TcpProxy {
  port: number;
  /**
   * Stops forwarding on every connection open now, in both directions, without closing it: each
   * side waits for bytes that never come. Connections made afterwards are forwarded as usual.
   * With `only`, just the connection whose upstream side uses that local port (the address the
   * server's client list shows for it).
   */
  freeze(only?: number): void;
  /** The local ports of the upstream sides of the connections open now and not frozen. */
  upstreamPorts(): number[];
  /**
   * Cuts the link as a host that went down does: every open connection is reset, and so is each
   * new one on arrival, until `restore()`.
   */
  cut(): void;
  /** Forwards new connections again after `cut()`. */
  restore(): void;
  /** How many connections `cut()` has reset on arrival so far. */
  refused(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs: [net.Socket, net.Socket][] = [];
  const frozen = new Set<net.Socket>();
  let isCut = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (isCut) {
      refused++;
      client.on('error', () => {}).resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    pairs.push([client, upstream]);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze(only) {
      for (const [client, upstream] of pairs) {
        if (frozen.has(client) || (only !== undefined && upstream.localPort !== only)) continue;
        frozen.add(client);
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    upstreamPorts: () =>
      pairs
        .filter(([client, upstream]) => !frozen.has(client) && !upstream.destroyed)
        .map(([, upstream]) => upstream.localPort ?? 0),
    cut() {
      isCut = true;
      for (const [client, upstream] of pairs.splice(0)) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    restore() {
      isCut = false;
    },
    refused: () => refused,
    async close() {
      for (const [client, upstream] of pairs.splice(0)) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
