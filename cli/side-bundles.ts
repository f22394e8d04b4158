// Loads the dashboard and the MCP stdio server, built as bundles apart from the CLI's.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Server from '../bull-board/server.js';
import type * as McpStdio from '../src/mcp/mcp-stdio.js';

/**
 * Parts of the program that only one or two commands use are built as bundles of their own and
 * read only by those commands: every other command starts without parsing them. Only plain data
 * (config, URLs) crosses between a side bundle and the CLI's.
 */
function loadSideBundle(relative: string): unknown {
  return createRequire(import.meta.url)(fileURLToPath(new URL(relative, import.meta.url)));
}

/** The dashboard (Fastify, Bull Board and what they bring, ~1.8 MB): `dist/bull-board/dashboard.cjs`. */
export function loadDashboard(): typeof Server {
  return loadSideBundle('../bull-board/dashboard.cjs') as typeof Server;
}

/** The MCP server over stdio (the MCP SDK): `dist/cli/mcp-server.cjs`. */
export function loadMcpStdio(): typeof McpStdio {
  return loadSideBundle('./mcp-server.cjs') as typeof McpStdio;
}
