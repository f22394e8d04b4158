// Ports for the servers tests start (Redis, sshd, sentinels, gateways, webhook receivers), taken
// from below the kernel's ephemeral range. A port found with listen(0) lies inside that range, so
// between the look and the server's bind any process may be handed it: a listen(0) in a parallel
// test file, or the source port of an outgoing connection. Nothing is handed a port below the
// range unless it asks for that port, and each vitest worker process draws from a block of its
// own, so the only way to lose a port is to a server started by hand on this machine.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../../src/stack/private-stack.js';

const LOWEST = 20_000;
const BLOCK = 1_500;

// The first port of the ephemeral range (Linux); 32768 where it cannot be read.
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

const blocks = Math.floor((ephemeralStart() - LOWEST) / BLOCK);
// Files of one worker process run one after another; each starts at a random place in the block,
// so a server a finished file left running is passed over by the bind check, not fought for.
const pool = Number(process.env.VITEST_POOL_ID ?? '1');
const poolIndex = Number.isInteger(pool) && pool > 0 ? pool - 1 : 0;
// Where the machine leaves no block for this worker below its ephemeral range, listen(0) it is.
const base = poolIndex < blocks ? LOWEST + poolIndex * BLOCK : undefined;
let cursor = Math.floor(Math.random() * BLOCK);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port no other process is listening on, that neither this process's later calls nor
 * another vitest worker's will return; with `span`, the ports after it up to `port + span - 1`
 * too (a server that binds ports derived from its own: OpenClaw's gateway takes up to port + 110).
 * Where the machine leaves no block for this worker below its ephemeral range, a port from
 * listen(0), and the span is not held.
 */
export async function testPort(span = 1): Promise<number> {
  if (base === undefined) return freePort();
  for (let tried = 0; tried < BLOCK; tried += span) {
    // A span stays inside the block: it starts over at the block's first port.
    if ((cursor % BLOCK) + span > BLOCK) cursor += BLOCK - (cursor % BLOCK);
    const port = base + (cursor % BLOCK);
    cursor += span;
    const free = await Promise.all(Array.from({ length: span }, (_, i) => bindable(port + i)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no ${span} free port(s) in a row in ${base}-${base + BLOCK - 1}`);
}
