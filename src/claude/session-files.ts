// Where Claude Code keeps a session's transcript: what a run that resumes the session must find.

/** The variable that moves Claude Code's config directory (`~/.claude` otherwise). */
export const CLAUDE_CONFIG_DIR = 'CLAUDE_CONFIG_DIR';

/**
 * The directory under `<config dir>/projects` that holds the sessions started in `cwd`: the path
 * with every character but an ASCII letter or digit replaced by `-` (`/srv/app` → `-srv-app`), as
 * the CLI names it.
 */
export function projectDirName(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-');
}

/** A session's transcript, relative to `<config dir>/projects`: `claude --resume` in `cwd` reads it. */
export function transcriptPath(sessionId: string, cwd: string): string {
  return `${projectDirName(cwd)}/${sessionId}.jsonl`;
}
