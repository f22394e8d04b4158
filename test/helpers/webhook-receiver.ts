import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status answered, or {@link HANG} for a request left unanswered. */
  answered: number;
  /** True once a 2xx answer was sent in full: the sender may count the delivery as done. */
  acknowledged: boolean;
  /** True while a {@link HANG} request's connection is open: the sender is still waiting. */
  held: boolean;
}

/** A script entry that never answers: the connection is held until the sender gives up or `stop()`. */
export const HANG = 0;

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers each path with the next
 * status from a script (the last one repeats); 302 answers redirect to `/redirected`, {@link HANG}
 * never answers. `stop()` then `start(port)` again takes it down and back on the same address.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripts = new Map<string, number[]>();
  private server: Server | undefined;
  url = '';

  script(path: string, statuses: number[]): void {
    this.scripts.set(path, [...statuses]);
  }

  /** Listens on `port` (a fixed one to come back on the same URL), by default any free one. */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        const script = this.scripts.get(path) ?? [200];
        const status = script.length > 1 ? script.shift()! : script[0]!;
        const request: ReceivedRequest = {
          path,
          headers: req.headers,
          body,
          answered: status,
          acknowledged: false,
          held: status === HANG,
        };
        this.requests.push(request);
        if (status === HANG) {
          res.once('close', () => (request.held = false));
          return;
        }
        if (status >= 200 && status < 300) res.once('finish', () => (request.acknowledged = true));
        if (status === 302) res.setHeader('location', `${this.url}/redirected`);
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  to(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
