import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake API received, with its body parsed. */
export interface ModelRequest {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  // A Messages API request body, read field by field by the tests.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A content block the fake model answers with. */
export type ReplyBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

/**
 * A whole answer: blocks (with the usage to report), or an API error (`status` with its `error`
 * type and message, and any `headers`), after `delayMs`.
 */
export interface Reply {
  blocks?: ReplyBlock[];
  usage?: { input_tokens: number; output_tokens: number };
  status?: number;
  error?: { type: string; message: string };
  headers?: Record<string, string>;
  delayMs?: number;
}

/**
 * A stand-in for the model behind an agent host: the Anthropic Messages API (`POST /v1/messages`)
 * on 127.0.0.1, answering as the documented API does — a Message object, or with `stream: true`
 * the SSE events message_start, content_block_start/delta/stop, message_delta, message_stop. It
 * logs every request. `script` picks the reply (text by default, or tool_use blocks).
 */
export class FakeAnthropic {
  readonly requests: ModelRequest[] = [];
  script: (request: ModelRequest) => ReplyBlock[] | Reply | undefined = () => undefined;
  private server: Server | undefined;
  private messages = 0;
  url = '';

  constructor(private readonly replyText = 'NO_REPLY') {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = raw === '' ? null : JSON.parse(raw);
        } catch {
          body = null;
        }
        const request: ModelRequest = { at: Date.now(), path: req.url ?? '/', headers: req.headers, raw, body };
        this.requests.push(request);
        const path = request.path.split('?')[0]!;
        if (req.method === 'POST' && path.endsWith('/messages/count_tokens'))
          return json(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
        if (req.method !== 'POST' || !path.endsWith('/v1/messages')) {
          return json(res, 404, {
            type: 'error',
            error: { type: 'not_found_error', message: `no route ${req.method} ${path}` },
          });
        }
        const scripted = this.script(request);
        const reply: Reply = Array.isArray(scripted) ? { blocks: scripted } : (scripted ?? {});
        if (reply.delayMs) {
          setTimeout(() => this.answer(request, raw, reply, res), reply.delayMs);
          return;
        }
        this.answer(request, raw, reply, res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  // Answers one /v1/messages request as the API does: an error, a Message, or its SSE events.
  private answer(request: ModelRequest, raw: string, reply: Reply, res: ServerResponse): void {
    if (res.destroyed) return;
    if (reply.status !== undefined) {
      const body = JSON.stringify({ type: 'error', error: reply.error ?? { type: 'api_error', message: 'error' } });
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        'request-id': `req_fake_${this.messages}`,
        ...reply.headers,
      });
      res.end(body);
      return;
    }
    const content = reply.blocks ?? [{ type: 'text', text: this.replyText }];
    const stopReason = content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    const id = `msg_fake_${++this.messages}`;
    const model = (request.body as { model?: string } | null)?.model ?? 'claude-fake';
    const usage = reply.usage ?? {
      input_tokens: Math.ceil(raw.length / 4),
      output_tokens: Math.max(1, Math.ceil(JSON.stringify(content).length / 4)),
    };
    if ((request.body as { stream?: boolean } | null)?.stream !== true) {
      return json(res, 200, {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...reply.headers,
    });
    const event = (type: string, data: object) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    content.forEach((block, index) => {
      if (block.type === 'tool_use') {
        event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        });
        event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) },
        });
      } else {
        event('content_block_start', { index, content_block: { type: 'text', text: '' } });
        event('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
      }
      event('content_block_stop', { index });
    });
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    event('message_stop', {});
    res.end();
  }

  /** The requests whose body holds `text` anywhere. */
  containing(text: string): ModelRequest[] {
    return this.requests.filter((r) => r.raw.includes(text));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
