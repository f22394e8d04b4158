// Where Claude Code keeps a session's transcript: what a run that resumes the session must find.

/** The variable that moves Claude Code's config directory (`~/.claude` otherwise). */
export const CLAUDE_CONFIG_DIR = 'CLAUDE_CONFIG_DIR';

/** The variable that names the project directory outright, when CLAUDE_CONFIG_DIR is set too. */
export const CLAUDE_CODE_PROJECT_DIR_NAME = 'CLAUDE_CODE_PROJECT_DIR_NAME';

/** How much of a working directory's sanitized path the CLI keeps before it appends a hash. */
const MAX_SANITIZED_LENGTH = 200;

// The names the CLI takes from CLAUDE_CODE_PROJECT_DIR_NAME; any other value it ignores.
const DIR_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_DIR_NAME = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * The directory under `<config dir>/projects` that holds the sessions started in `cwd`, as the
 * CLI (2.1.x) names it: the path with every UTF-16 unit but an ASCII letter or digit replaced by
 * `-` (`/srv/app` → `-srv-app`); past 200 characters, its first 200 and `-` and a hash of the
 * path. The CLI names it after the real path, symlinks resolved: give `cwd` resolved where you
 * can. `env` is the CLI's environment: with CLAUDE_CONFIG_DIR set, a valid
 * CLAUDE_CODE_PROJECT_DIR_NAME is the name, whatever `cwd` is.
 */
export function projectDirName(cwd: string, env?: ReadonlyMap<string, string>): string {
  const named = env?.get(CLAUDE_CODE_PROJECT_DIR_NAME);
  if (env?.get(CLAUDE_CONFIG_DIR) && named && DIR_NAME.test(named) && !RESERVED_DIR_NAME.test(named)) return named;
  const sanitized = cwd.replace(/[^A-Za-z0-9]/g, '-');
  if (sanitized.length <= MAX_SANITIZED_LENGTH) return sanitized;
  return `${sanitized.slice(0, MAX_SANITIZED_LENGTH)}-${hashPath(cwd)}`;
}

/** A session's transcript, relative to `<config dir>/projects`: `claude --resume` in `cwd` reads it. */
export function transcriptPath(sessionId: string, cwd: string): string {
  return `${projectDirName(cwd)}/${sessionId}.jsonl`;
}

// The CLI's hash of a long path: h·31 + unit over its UTF-16 units in 32-bit integers, the
// magnitude in base 36 (Java's String.hashCode, printed short).
function hashPath(text: string): string {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return Math.abs(hash).toString(36);
}
