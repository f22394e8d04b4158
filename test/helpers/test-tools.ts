import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

// The real programs the suites talk to that come from the npm registry (Node 24 for OpenClaw, the
// OpenClaw gateway, the Claude Code CLI), installed on first use into a cache directory outside
// the project's lockfile and kept there for the next run.

/** $OCA_TEST_TOOLS, else ~/.cache/openclaw-agent-test-tools. */
export function testToolsDir(): string {
  return (
    process.env.OCA_TEST_TOOLS ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'openclaw-agent-test-tools')
  );
}

/** The version in a package.json, or undefined. */
export function installedVersion(packageJson: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Installs `spec` with npm into `<tools>/<prefix>` unless `ready()` says it is there, one
 * installer at a time (a lock older than ten minutes is taken as left by a killed installer).
 * `pathFirst` goes first on PATH while npm runs (the Node that runs install scripts).
 */
export async function ensureNpmTool(
  prefix: string,
  spec: string,
  ready: () => boolean,
  pathFirst?: string,
): Promise<void> {
  if (ready()) return;
  const root = testToolsDir();
  mkdirSync(root, { recursive: true });
  const lock = path.join(root, '.install-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 600_000)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (ready()) return;
    }
  }
  try {
    if (ready()) return;
    // Install scripts may leave compile caches in TMPDIR: they go with this directory.
    const scratch = mkdtempSync(path.join(root, 'tmp-'));
    try {
      const env = {
        ...process.env,
        TMPDIR: scratch,
        ...(pathFirst ? { PATH: `${pathFirst}:${process.env.PATH}` } : {}),
      };
      execFileSync(
        'npm',
        ['install', '--prefix', path.join(root, prefix), '--no-audit', '--no-fund', '--loglevel=error', spec],
        { env, stdio: ['ignore', 'ignore', 'inherit'] },
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    rmdirSync(lock);
  }
  if (!ready()) throw new Error(`${spec} did not install into ${path.join(root, prefix)}`);
}

/** Whether a file exists (for `ready` checks). */
export const exists = (file: string): boolean => existsSync(file);
