// `openclaw-agent mcp`'s server: the MCP tools on stdin and stdout, with a Redis connection.
import { Transform } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describeError, RedisUnreachableError } from '../errors.js';
import type { LoadedConfig } from '../config/config.js';
import { connectRedis, openRedisInBackground } from '../redis/connection.js';
import { RedisOutageReporter } from '../redis/outage-reporter.js';
import { sinkOf } from '../text/process-log.js';
import { TaskClient } from '../tasks/client.js';
import { createMcpServer } from './mcp-server.js';

export interface McpStdioOptions {
  config: LoadedConfig;
  redisUrl: string;
  /** Where a relative workdir of a local task resolves: the directory the client started us in. */
  callerCwd: string;
  /** Receives one line per notable event; stdout belongs to the protocol. @default ignore */
  onLog?: (line: string) => void;
}

/**
 * Serves the MCP tools on stdin/stdout until the client closes stdin or a SIGTERM/SIGINT. The
 * Redis connection retries on its own while Redis is away; calls meanwhile fail in one line.
 */
export async function serveMcpStdio(options: McpStdioOptions): Promise<void> {
  const log = options.onLog ?? (() => {});
  const connect = { persistent: true, failInFlight: true, settings: options.config.redis };
  // A Redis away at the start is served like one lost later: the agent's client gets a server and
  // its tools, each call fails in one line until Redis answers, and then they work.
  const redis = await connectRedis(options.redisUrl, connect).catch((error: unknown) => {
    if (!(error instanceof RedisUnreachableError)) throw error;
    log(`${describeError(error)} — serving all the same: each call fails in one line until it answers`);
    return openRedisInBackground(options.redisUrl, connect);
  });
  // One line when Redis goes away and one when it is back, not one per reconnect attempt.
  const outage = new RedisOutageReporter({ url: options.redisUrl, log: sinkOf(log) });
  outage.watch(redis);
  const client = new TaskClient(options.config, redis);
  const server = createMcpServer({ client, callerCwd: options.callerCwd });
  const transport = new StdioServerTransport(process.stdin.pipe(withoutBlankLines()));
  // The SDK's stdio transport only reports a line it cannot read: answer it as JSON-RPC says, so
  // that a client with a bug is told rather than left waiting.
  server.onerror = (error) => {
    const reply = malformedLineReply(error);
    if (reply !== undefined) transport.send(reply).catch(() => {});
    else log(`mcp: ${describeError(error)}`);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      // The SDK's transport does not end on EOF: a client that closes our stdin is gone.
      process.stdin.once('end', resolve);
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
      server.onclose = resolve;
      server.connect(transport).catch(reject);
    });
  } finally {
    outage.stop();
    await server.close().catch(() => {});
    await client.close();
  }
}

// Past this many blanks at a line's start the line goes on as it is, held no longer: the SDK's
// transport reads it, with a buffer limit of its own.
const MAX_HELD_BLANKS = 64 * 1024;

/**
 * Passes stdin on without its blank lines (empty, or only spaces, tabs and CRs): no message, so
 * nothing to answer, where the SDK's transport would hand `''` to JSON.parse and we would answer
 * a Parse error to a client that sent a line ending twice, or a person typing into the server.
 */
export function withoutBlankLines(): Transform {
  let inLine = false; // the current line has a byte other than blank: it goes on to its newline
  let held: number[] = []; // the blanks the current line opened with, kept until it shows more
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const out: Buffer[] = [];
      let i = 0;
      while (i < chunk.length) {
        if (inLine) {
          const newline = chunk.indexOf(0x0a, i);
          const end = newline === -1 ? chunk.length : newline + 1;
          out.push(chunk.subarray(i, end));
          inLine = newline === -1;
          i = end;
          continue;
        }
        const byte = chunk[i++]!;
        if (byte === 0x0a) held = [];
        else if ((byte === 0x20 || byte === 0x09 || byte === 0x0d) && held.length < MAX_HELD_BLANKS) held.push(byte);
        else {
          out.push(Buffer.from([...held, byte]));
          held = [];
          inLine = true;
        }
      }
      done(null, Buffer.concat(out));
    },
  });
}

/**
 * The JSON-RPC 2.0 error for a line the transport could not read: not JSON (-32700, Parse error),
 * or JSON that is no JSON-RPC message (-32600, Invalid Request); its id null, as JSON-RPC says
 * where the request's id cannot be known (and as the SDK's HTTP transport answers). Undefined for
 * any other error.
 */
export function malformedLineReply(error: unknown): JSONRPCMessage | undefined {
  const reply = (code: number, message: string) =>
    // The SDK's message type has no null id; its HTTP transport sends one all the same.
    ({ jsonrpc: '2.0', id: null, error: { code, message } }) as unknown as JSONRPCMessage;
  if (error instanceof SyntaxError) return reply(-32700, 'Parse error: a line that is not JSON');
  if (error instanceof Error && error.name === 'ZodError')
    return reply(-32600, 'Invalid Request: a line that is not a JSON-RPC 2.0 message');
  return undefined;
}
