// What P7 (bench/run.mjs) and the floor (bench/floor.mjs) time with: the posix_spawn peer, and the
// arrival of a first act, both on CLOCK_MONOTONIC (Node's hrtime, Python's monotonic_ns).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';

/** Resolves with the hrtime (ns, bigint) at which the first write to the FIFO arrives. */
export function firstWriteAt(fifo) {
  return new Promise((resolve) => {
    const reader = createReadStream(fifo);
    reader.once('data', () => {
      resolve(process.hrtime.bigint());
      reader.destroy();
    });
  });
}

const SCRIPT = [
  'import json, os, sys, time',
  'for line in sys.stdin:',
  '    argv = json.loads(line)',
  '    t0 = time.monotonic_ns()',
  '    pid = os.posix_spawnp(argv[0], argv, os.environ)',
  "    sys.stdout.write(f'{t0}\\n'); sys.stdout.flush()",
  '    os.waitpid(pid, 0)',
].join('\n');

/**
 * A running Python process that posix_spawn()s what it is sent (one JSON argv per line) and
 * answers with its clock taken right before the call; it reaps the child.
 */
export function startSpawnPeer() {
  const child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines) waiting.shift()?.(BigInt(line));
  });
  return {
    /** Resolves with the peer's clock (ns, bigint) right before its posix_spawn of `argv`. */
    spawn: (argv) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${JSON.stringify(argv)}\n`);
      }),
    close: () => child.stdin.end(),
  };
}
