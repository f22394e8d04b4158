// `node bench/floor.mjs`: the floor under P7 (REST dispatch → the task's first act) on this
// machine. The least any REST dispatch can cost: a keep-alive POST to a Fastify server whose
// route hands the command line to a shell forked ahead of time (what the task wrapper does, with
// none of its spool files), and nothing else — no validation, no Redis, no queue. Timed as the
// bench times P7, interleaved with the same posix_spawn peer, on CLOCK_MONOTONIC.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { firstWriteAt, startSpawnPeer } from './spawn-peer.mjs';

const SAMPLES = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(path.join(tmpdir(), 'oca-floor-'));
const fifo = path.join(dir, 'first-act.fifo');
execFileSync('mkfifo', [fifo]);

// The server side: one shell always waiting, as the launcher keeps one wrapper waiting.
let waiting;
const forkAhead = () => {
  waiting = spawn('/bin/sh', ['-c', 'IFS= read -r line || exit 0; eval "$line"'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
};
forkAhead();
const app = Fastify();
app.post('/run', async (request, reply) => {
  const shell = waiting;
  shell.stdin.end(`${request.body.line}\n`);
  setTimeout(forkAhead, 10);
  return reply.code(201).send({ ok: true });
});
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address();

const agent = new http.Agent({ keepAlive: true });
const post = (body) =>
  new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/run',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (response) => response.resume().on('end', resolve),
    );
    request.on('error', reject).end(data);
  });

const peer = startSpawnPeer();
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
const line = `echo > '${fifo}'`;

const ours = [];
const theirs = [];
for (let i = -5; i < SAMPLES; i++) {
  await pause();
  let first = firstWriteAt(fifo);
  const t0 = process.hrtime.bigint();
  await post({ line });
  const oursMs = Number((await first) - t0) / 1e6;
  await pause();
  first = firstWriteAt(fifo);
  const t1 = await peer.spawn(['sh', '-c', line]);
  const theirsMs = Number((await first) - t1) / 1e6;
  if (oursMs < 0 || theirsMs < 0) throw new Error('a first act arrived before its dispatch: the clocks differ');
  // The first five warm both paths up.
  if (i < 0) continue;
  ours.push(oursMs);
  theirs.push(theirsMs);
}
peer.close();
waiting.stdin.end();
await app.close();
agent.destroy();
rmSync(dir, { recursive: true, force: true });

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const figures = (values) => `p50 ${pct(values, 50).toFixed(2)} ms, p99 ${pct(values, 99).toFixed(2)} ms`;
console.log(`floor (POST → a waiting shell's first act, ${SAMPLES} samples): ${figures(ours)}`);
console.log(`peer (posix_spawn of sh -c, same run):            ${figures(theirs)}`);
console.log(
  `p50 ${(pct(ours, 50) / pct(theirs, 50)).toFixed(2)}× the peer; p99 ${(pct(ours, 99) / pct(ours, 50)).toFixed(2)}× its own p50`,
);
