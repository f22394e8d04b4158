import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Server from '../bull-board/server.js';

/**
 * The dashboard (Fastify, Bull Board and what they bring, ~1.8 MB) is built as a bundle of its
 * own, `dist/bull-board/dashboard.cjs`, and read only by the commands that serve it: every other
 * command starts without parsing it. Only plain data (config, URLs) crosses between the two.
 */
export function loadDashboard(): typeof Server {
  const file = fileURLToPath(new URL('../bull-board/dashboard.cjs', import.meta.url));
  return createRequire(import.meta.url)(file) as typeof Server;
}
