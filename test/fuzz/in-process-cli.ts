import { createRequire } from 'node:module';
import path from 'node:path';
import type Loader from '../../cli/bundle-loader.cjs';
import { ROOT, type CliResult } from '../helpers/harness.js';

// The built loader, as `dist/cli/bin.cjs` requires it.
const { loadBundle } = createRequire(import.meta.url)(path.join(ROOT, 'dist/cli/bundle-loader.cjs')) as typeof Loader;

const BUNDLE = path.join(ROOT, 'dist/cli/openclaw-agent.cjs');

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

let loaded: ReturnType<typeof loadBundle> | undefined;

/**
 * Runs the built CLI bundle's `main` in this process, the way `dist/cli/bin.cjs` runs it, with
 * `env` as the environment: ~100 times faster than a process per case. Output written to
 * stdout and stderr is captured; `process.exit` (oclif's last resort) is caught and recorded.
 * Cases must run one at a time: the process's streams, environment and exit code are borrowed.
 */
export async function runCliInProcess(argv: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  loaded ??= loadBundle(BUNDLE);
  // Saved to be put back as they were (not called unbound).
  /* eslint-disable @typescript-eslint/unbound-method */
  const saved = {
    env: process.env,
    stdout: process.stdout.write,
    stderr: process.stderr.write,
    exit: process.exit,
    argv1: process.argv[1],
    console: { log: console.log, warn: console.warn, error: console.error },
  };
  /* eslint-enable @typescript-eslint/unbound-method */
  // oclif's flush() waits for a 'drain' that a captured write never emits, and leaves its listener
  // on process.stdout: harmless in a CLI process, which exits, but one more per case here.
  const drainListeners = new Set(process.stdout.listeners('drain'));
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  process.env = { ...env };
  process.argv[1] = path.join(ROOT, 'dist/cli/bin.cjs');
  process.exitCode = undefined;
  process.stdout.write = capture((t) => (stdout += t));
  process.stderr.write = capture((t) => (stderr += t));
  // Anything printed through console (oclif's last-resort handler does) counts too.
  console.log = (...parts: unknown[]) => void (stdout += `${parts.map(String).join(' ')}\n`);
  console.warn = console.error = (...parts: unknown[]) => void (stderr += `${parts.map(String).join(' ')}\n`);
  process.exit = (code?: number | string | null) => {
    throw new ExitCalled(Number(code ?? 0));
  };
  let exitCode: number;
  try {
    await loaded.exports.main(argv, BUNDLE);
    exitCode = Number(process.exitCode ?? 0);
  } catch (error) {
    if (!(error instanceof ExitCalled)) throw error;
    exitCode = error.code;
  } finally {
    process.env = saved.env;
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    process.exit = saved.exit;
    Object.assign(console, saved.console);
    process.argv[1] = saved.argv1!;
    process.exitCode = undefined;
    for (const listener of process.stdout.listeners('drain')) {
      if (!drainListeners.has(listener)) process.stdout.removeListener('drain', listener as () => void);
    }
  }
  return { exitCode, stdout, stderr };
}
