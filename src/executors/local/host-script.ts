// Runs a sh script on this host, in the home directory: how git worktrees of local tasks are made.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { withoutOwnSecrets } from '../child-env.js';

/** A maintenance script that runs longer than this (a huge checkout) is given up as failed. */
const SCRIPT_TIMEOUT_MS = 300_000;

/**
 * Runs a POSIX sh script on this host with `args` as "$1"…, in the home directory, with the
 * worker's environment less its own settings: the local executor's way to run git for a task.
 * `input` is written to the script's stdin (what must not be in a command line, which every user
 * of the host can read); its stdin is closed either way, so nothing in it waits for more.
 */
export function runLocalScript(
  script: string,
  args: readonly string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      '/bin/sh',
      ['-c', script, 'openclaw-agent', ...args],
      {
        cwd: homedir(),
        env: withoutOwnSecrets(process.env),
        timeout: SCRIPT_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code =
          error === null
            ? 0
            : typeof (error as { code?: unknown }).code === 'number'
              ? (error as { code: number }).code
              : null;
        resolve({ code, stdout, stderr: stderr || (error && code === null ? error.message : '') });
      },
    );
    // A script that exits without reading its stdin closes the pipe: not an error of ours.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}
