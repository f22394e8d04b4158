import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ApiTaskSchema } from '../../src/api/contract.js';
import { BIN, type Harness } from './harness.js';

/** The tools of an MCP server that is not read-only, in the order it lists them. */
export const MCP_TOOLS = [
  'run',
  'start',
  'status',
  'logs',
  'wait',
  'kill',
  'retry',
  'list',
  'schedule',
  'schedules',
  'pause_executor',
  'resume_executor',
];
/** The tools of a read-only dashboard's MCP server, in the order it lists them. */
export const MCP_READ_ONLY_TOOLS = ['status', 'logs', 'wait', 'list', 'schedules'];

/**
 * The MCP SDK's own client (which checks every answer against the tool's output schema), named
 * `name`, connected to `openclaw-agent mcp`: the real CLI process on stdio, in the harness.
 */
export async function connectMcpStdio(
  h: Harness,
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<Client> {
  const env = {
    ...Object.fromEntries(Object.entries(h.env).filter((e): e is [string, string] => e[1] !== undefined)),
    ...extraEnv,
  };
  const transport = new StdioClientTransport({ command: 'node', args: [BIN, 'mcp'], env, cwd: h.dir, stderr: 'pipe' });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/**
 * The MCP SDK's own client, named `name`, connected to /mcp of the dashboard at `url` over
 * Streamable HTTP, with `token` as its bearer token (none if null).
 */
export async function connectMcpHttp(url: string, token: string | null, name: string): Promise<Client> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** For describe.each: `$transport` names the way, `connect` opens a client that goes that way. */
export function mcpTransports(stdio: () => Promise<Client>, http: () => Promise<Client>) {
  return [
    { transport: 'stdio', connect: stdio },
    { transport: 'Streamable HTTP', connect: http },
  ];
}

/** A tool call's answer. */
export const callTool = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
/** The text of a tool's answer. */
export const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
/** The task in a tool's answer. */
export const taskOf = (result: CallToolResult) => ApiTaskSchema.parse(result.structuredContent);
