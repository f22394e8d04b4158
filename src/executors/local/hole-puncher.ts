// Frees ranges of local spool files (`fallocate --punch-hole`) through one small shell per worker.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { shellJoin } from '../shell/quote.js';

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Punches holes into files: the range's blocks go back to the filesystem, the file keeps its size
 * and the range reads as zeros. Node has no fallocate(2), and a spawn of util-linux's `fallocate`
 * from the worker costs its only thread ~20 ms (a fork of all its memory): the command runs from a
 * `/bin/sh` started on first use and kept, whose own spawns cost about a millisecond. Each
 * command's output ends with a line `oca-done <status>`; commands are answered in order.
 */
export class HolePuncher {
  private shell: Shell | undefined;
  private closed = false;
  /** Why this host cannot punch holes (no `fallocate`, a filesystem without it), once seen. */
  unsupported: string | undefined;

  punch(file: string, offset: number, length: number): Promise<void> {
    if (this.closed) return Promise.reject(new PuncherClosedError());
    const shell = (this.shell ??= startShell(() => {
      if (this.shell === shell) this.shell = undefined;
    }));
    return new Promise<void>((resolve, reject) => {
      shell.pending.push({
        // Once closed, every punch asked for before says so, whether or not it got done.
        resolve: () => (this.closed ? reject(new PuncherClosedError()) : resolve()),
        reject: (error) => {
          if (this.closed) return reject(new PuncherClosedError());
          if (UNSUPPORTED.test(error.message)) this.unsupported = error.message;
          reject(error);
        },
      });
      const args = ['fallocate', '--punch-hole', '--offset', String(offset), '--length', String(length), '--', file];
      shell.process.stdin.write(`${shellJoin(args)} 2>&1 </dev/null; echo "oca-done $?"\n`);
    });
  }

  /** Ends the shell; punches still waiting, and any asked for later, fail with PuncherClosedError. */
  close(): void {
    this.closed = true;
    this.shell?.process.kill();
    this.shell = undefined;
  }
}

// util-linux's words when the host cannot punch: no `fallocate`, or EOPNOTSUPP ("Operation not
// supported"; "keep size mode is unsupported" on a filesystem without fallocate, such as ramfs).
const UNSUPPORTED = /not supported|unsupported|not found/i;

/** A punch that did not happen because the worker is shutting down: no reason to give up a cap. */
export class PuncherClosedError extends Error {
  constructor() {
    super('the worker is shutting down');
  }
}

interface Shell {
  process: ChildProcessWithoutNullStreams;
  /** Its commands not answered yet, in order. */
  pending: Pending[];
}

function startShell(ended: () => void): Shell {
  const child = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const shell: Shell = { process: child, pending: [] };
  // Not a reason for the worker to stay up.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void }).unref?.();
  child.stdin.on('error', () => {});
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    for (let done = DONE.exec(output); done; done = DONE.exec(output)) {
      const said = output.slice(0, done.index).trim();
      output = output.slice(done.index + done[0].length + 1);
      const pending = shell.pending.shift();
      if (done[1] === '0') pending?.resolve();
      else pending?.reject(new Error(said || `fallocate exited with ${done[1]}`));
    }
  });
  const fail = (why: string) => {
    ended();
    for (const p of shell.pending.splice(0)) p.reject(new Error(why));
  };
  child.on('error', (error) => fail(`cannot start /bin/sh: ${error.message}`));
  child.on('exit', () => fail('the shell that runs fallocate ended'));
  return shell;
}

/** The line that ends each command's answer, with its exit status. */
const DONE = /^oca-done (\d+)$/m;
