import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import {
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_SCHEDULE_MS,
  deliverWebhook,
  nextRetryDelayMs,
  parseRetryAfter,
} from '../../src/notify/webhook-delivery.js';

interface Received {
  method: string | undefined;
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = (response: ServerResponse) => void;

// A real HTTP receiver on 127.0.0.1 that records every request and answers with `reply`.
class Receiver {
  readonly requests: Received[] = [];
  reply: Reply = (response) => response.writeHead(200).end();
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests.push({
        method: request.method,
        path: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      this.reply(response);
    });
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}

// A port that was just free, so connecting to it is refused.
async function findClosedPort(): Promise<number> {
  const probe = new Receiver();
  await probe.start();
  const port = Number(new URL(probe.url).port);
  await probe.stop();
  return port;
}

const receiver = new Receiver();
const redirectTarget = new Receiver();

beforeAll(async () => {
  await Promise.all([receiver.start(), redirectTarget.start()]);
});

afterEach(() => {
  receiver.requests.length = 0;
  redirectTarget.requests.length = 0;
  receiver.reply = (response) => response.writeHead(200).end();
});

afterAll(async () => {
  await Promise.all([receiver.stop(), redirectTarget.stop()]);
});

const headers = {
  'content-type': 'application/json',
  'user-agent': 'openclaw-agent',
  'webhook-id': 'msg_delivery',
  'webhook-timestamp': '1700000000',
  'webhook-signature': 'v1,c2lnbmF0dXJl',
};

describe('deliverWebhook', () => {
  it('reports a 2xx as delivered after posting exactly our body and headers', async () => {
    const body = JSON.stringify({ taskId: 't-1', status: 'succeeded', output: 'ünïcödé ✓' });
    receiver.reply = (response) => response.writeHead(204).end();

    const outcome = await deliverWebhook(`${receiver.url}/hooks/agent`, body, headers);

    expect(outcome).toEqual({ kind: 'delivered', status: 204 });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hooks/agent');
    expect(request?.body).toBe(body);
    expect(request?.headers).toMatchObject(headers);
  });

  it('asks for a retry with the status when the receiver fails with 500', async () => {
    receiver.reply = (response) => response.writeHead(500).end('boom');

    const outcome = await deliverWebhook(receiver.url, '{}', headers);

    expect(outcome).toEqual({ kind: 'retry', status: 500, error: 'HTTP 500 Internal Server Error' });
  });

  it('reports 410 as gone so retries stop', async () => {
    receiver.reply = (response) => response.writeHead(410).end();

    expect(await deliverWebhook(receiver.url, '{}', headers)).toEqual({ kind: 'gone', status: 410 });
  });

  it('treats a 4xx other than 410 as a failure worth retrying', async () => {
    receiver.reply = (response) => response.writeHead(400).end();

    expect(await deliverWebhook(receiver.url, '{}', headers)).toMatchObject({ kind: 'retry', status: 400 });
  });

  it('does not follow a redirect and reports where it pointed', async () => {
    const location = `${redirectTarget.url}/elsewhere`;
    receiver.reply = (response) => response.writeHead(302, { location }).end();

    const outcome = await deliverWebhook(receiver.url, '{"secret":"payload"}', headers);

    expect(outcome).toMatchObject({ kind: 'retry', status: 302 });
    expect(outcome.kind === 'retry' && outcome.error).toContain(`redirect to ${location} not followed`);
    expect(receiver.requests).toHaveLength(1);
    expect(redirectTarget.requests).toHaveLength(0);
  });

  it('passes on the receiver’s Retry-After of a 429 in milliseconds', async () => {
    receiver.reply = (response) => response.writeHead(429, { 'retry-after': '7' }).end();

    const outcome = await deliverWebhook(receiver.url, '{}', headers);

    expect(outcome).toEqual({ kind: 'retry', status: 429, error: 'HTTP 429 Too Many Requests', retryAfterMs: 7000 });
  });

  it('gives up on a receiver that never answers once the timeout passes', async () => {
    receiver.reply = () => undefined;

    const outcome = await deliverWebhook(receiver.url, '{}', headers, { timeoutMs: 200 });

    expect(outcome).toEqual({ kind: 'retry', error: 'timed out after 200ms' });
    expect(receiver.requests).toHaveLength(1);
  });

  it('asks for a retry when the connection is refused', async () => {
    const port = await findClosedPort();

    const outcome = await deliverWebhook(`http://127.0.0.1:${port}/`, '{}', headers);

    expect(outcome).toMatchObject({ kind: 'retry' });
    expect(outcome).not.toHaveProperty('status');
    expect(outcome.kind === 'retry' && outcome.error).toContain('ECONNREFUSED');
  });

  it('refuses a URL no retry could reach instead of queueing it', async () => {
    await expect(deliverWebhook('not a url', '{}', headers)).rejects.toThrow(InvalidInputError);
    await expect(deliverWebhook('ftp://127.0.0.1/hook', '{}', headers)).rejects.toThrow(/http\(s\) URL/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('never quotes the password of a URL that carries one (a task of an earlier version may)', async () => {
    const outcome = await deliverWebhook(
      receiver.url.replace('http://', 'http://ci:hunter2@') + '/hook',
      '{}',
      headers,
    );
    expect(outcome).toMatchObject({ kind: 'retry' });
    const error = outcome.kind === 'retry' ? outcome.error : '';
    expect(error).toContain('credentials');
    expect(error).toContain('http://***@127.0.0.1');
    expect(error).not.toContain('hunter2');
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delta-seconds and HTTP dates as milliseconds from now', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('caps the wait at 24 hours and ignores what it cannot read', () => {
    expect(parseRetryAfter('999999999', now)).toBe(86_400_000);
    expect(parseRetryAfter('Sat, 01 Jan 2028 00:00:00 GMT', now)).toBe(86_400_000);
    for (const bad of [null, undefined, '', 'soon', '-5', '1.5', 'Mon, not a date']) {
      expect(parseRetryAfter(bad, now)).toBeUndefined();
    }
  });
});

describe('nextRetryDelayMs', () => {
  const lowest = () => 0;
  const highest = () => 0.999_999_999;
  const middle = () => 0.5;

  it('follows the Svix schedule within ±20% jitter', () => {
    WEBHOOK_RETRY_SCHEDULE_MS.forEach((entry, index) => {
      const attemptsMade = index + 1;
      expect(nextRetryDelayMs(attemptsMade, undefined, middle)).toBe(entry);
      expect(nextRetryDelayMs(attemptsMade, undefined, lowest)).toBe(entry * 0.8);
      expect(nextRetryDelayMs(attemptsMade, undefined, highest)).toBeLessThanOrEqual(entry * 1.2);
      expect(nextRetryDelayMs(attemptsMade, undefined, highest)).toBeGreaterThan(entry * 1.19);
    });
    expect(WEBHOOK_RETRY_SCHEDULE_MS).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
  });

  it('stops after the first attempt and seven retries', () => {
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(8);
    expect(nextRetryDelayMs(7, undefined, middle)).toBe(36_000_000);
    expect(nextRetryDelayMs(8, undefined, middle)).toBeUndefined();
    expect(nextRetryDelayMs(8, 1000, middle)).toBeUndefined();
  });

  it('never waits less than the receiver’s Retry-After', () => {
    expect(nextRetryDelayMs(1, 60_000, middle)).toBe(60_000);
    expect(nextRetryDelayMs(1, 1_000, middle)).toBe(5_000);
  });

  it('refuses an attempt count below one', () => {
    expect(() => nextRetryDelayMs(0)).toThrow(InvalidInputError);
  });
});
