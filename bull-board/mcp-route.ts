// The dashboard's /mcp route: the MCP task tools over Streamable HTTP.
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createMcpServer } from '../src/mcp/mcp-server.js';
import type { TaskClient } from '../src/tasks/client.js';

/** Where the dashboard serves MCP over Streamable HTTP. */
export const MCP_PATH = '/mcp';

/**
 * MCP over Streamable HTTP at /mcp, stateless: each POST gets a server of its own (about a
 * millisecond) and answers as SSE, so that a long `wait` can send progress. The dashboard's
 * token rules apply as to the API; a read-only dashboard offers only the tools that change
 * nothing. There are no sessions: GET and DELETE answer 405.
 */
export function registerMcpRoute(app: FastifyInstance, client: TaskClient, options: { readOnly: boolean }): void {
  app.post(MCP_PATH, async (request, reply) => {
    const server = createMcpServer({ client, readOnly: options.readOnly });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    reply.hijack();
    // A client that goes away ends its calls (a `wait` stops waiting).
    reply.raw.once('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch {
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null }));
      }
    }
  });
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Method not allowed: this MCP server is stateless; POST requests only' },
        id: null,
      });
  app.get(MCP_PATH, notAllowed);
  app.delete(MCP_PATH, notAllowed);
}
