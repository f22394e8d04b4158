// The POSIX sh scripts that give a task a git worktree of its own, run on the executor's host
// (locally by /bin/sh, over SSH by the remote's sh) with every value as an argument ("$1", …),
// never spliced into the text. Each prints marker lines (OCA_…) that the parsers read.

/** `oca_path P` prints P with a leading `~` as the host's $HOME. */
const PATH_OF = `oca_path() { case $1 in "~") printf '%s' "$HOME" ;; "~/"*) printf '%s/%s' "$HOME" "\${1#"~/"}" ;; *) printf '%s' "$1" ;; esac; }`;
/** `oca_fail MARKER TEXT` prints the marker and the last line of TEXT, and ends the script. */
const FAIL = `oca_fail() { printf '%s %s\\n' "$1" "$(printf '%s' "$2" | tail -n 1)"; exit 0; }`;
/** The checks every script that starts from a workspace makes, in the order a user fixes them. */
const IN_REPOSITORY = [
  `command -v git >/dev/null 2>&1 || oca_fail OCA_NO_GIT ''`,
  `oca_w=$(oca_path "$1")`,
  `cd "$oca_w" 2>/dev/null || oca_fail OCA_NO_WORKDIR ''`,
  `oca_top=$(git rev-parse --show-toplevel 2>/dev/null) || oca_fail OCA_NOT_A_REPO ''`,
  `oca_prefix=$(git rev-parse --show-prefix)`,
].join('\n');

/** Checks a workspace before a task is enqueued. Args: workspace, base ref. */
export const INSPECT_SCRIPT = [
  PATH_OF,
  FAIL,
  IN_REPOSITORY,
  `oca_sha=$(git rev-parse --verify --quiet "$2^{commit}") || oca_fail OCA_NO_BASE ''`,
  `printf 'OCA_REPO %s\\nOCA_BASE_SHA %s\\nOCA_PREFIX %s\\n' "$oca_top" "$oca_sha" "$oca_prefix"`,
].join('\n');

/**
 * Makes the task's worktree on a new branch from the base, or finds the one made before (by a
 * worker that died after making it, or for a task that continues another). Args: workspace, base
 * ref, worktree path, branch.
 */
export const CREATE_SCRIPT = [
  PATH_OF,
  FAIL,
  IN_REPOSITORY,
  `oca_wt=$(oca_path "$3")`,
  `if [ -e "$oca_wt/.git" ] && [ -f "$oca_wt.base" ]; then`,
  `  oca_sha=$(cat "$oca_wt.base")`,
  `else`,
  `  oca_sha=$(git rev-parse --verify --quiet "$2^{commit}") || oca_fail OCA_NO_BASE ''`,
  `  oca_err=$(mkdir -p "$(dirname "$oca_wt")" 2>&1) || oca_fail OCA_ERROR "$oca_err"`,
  `  oca_err=$(git worktree add -q -b "$4" "$oca_wt" "$oca_sha" 2>&1) || oca_fail OCA_ERROR "$oca_err"`,
  `  printf '%s\\n' "$oca_top" > "$oca_wt.repo"`,
  `  printf '%s\\n' "$oca_sha" > "$oca_wt.base"`,
  `fi`,
  // In use again (a continued task): not the retention sweep's to remove.
  `rm -f "$oca_wt.ended"`,
  `printf 'OCA_WORKTREE %s\\nOCA_REPO %s\\nOCA_BASE_SHA %s\\nOCA_PREFIX %s\\n' "$oca_wt" "$oca_top" "$oca_sha" "$oca_prefix"`,
].join('\n');

/**
 * What a task changed against its base, committed or not (untracked files included, through an
 * index of its own so the worktree's is left alone): the head, a numstat line per file, then the
 * unified diff cut at a size. With commit=1 what is left uncommitted is committed first, with the
 * message the script reads on stdin (text from the task stays out of the command line); with
 * ended=1 the worktree is marked for the retention sweep. Args: worktree, base sha, commit (0 or
 * 1), diff bytes, ended.
 */
export const CHANGES_SCRIPT = [
  PATH_OF,
  FAIL,
  `oca_wt=$(oca_path "$1")`,
  `cd "$oca_wt" 2>/dev/null || oca_fail OCA_GONE ''`,
  `if [ "$3" = 1 ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then`,
  `  oca_name=$(git config user.name) || oca_name=openclaw-agent`,
  `  oca_mail=$(git config user.email) || oca_mail=openclaw-agent@localhost`,
  // -F -: the message from stdin, which only this commit reads.
  `  git add -A && git -c user.name="$oca_name" -c user.email="$oca_mail" commit -q --no-verify -F - >/dev/null 2>&1 || printf 'OCA_COMMIT_FAILED\\n'`,
  `fi`,
  `oca_idx="\${TMPDIR:-/tmp}/oca-index.$$"`,
  // -p: the copy keeps the index's mtime, which git needs to see a file changed in the same clock tick as the index was written.
  `cp -p "$(git rev-parse --git-path index)" "$oca_idx" 2>/dev/null || rm -f "$oca_idx"`,
  `GIT_INDEX_FILE="$oca_idx" git add -A 2>/dev/null`,
  `printf 'OCA_HEAD %s\\n' "$(git rev-parse HEAD)"`,
  `GIT_INDEX_FILE="$oca_idx" git diff --cached --numstat --no-renames "$2" | sed 's/^/OCA_NUM /'`,
  `printf 'OCA_DIFF\\n'`,
  `GIT_INDEX_FILE="$oca_idx" git diff --cached --no-color --no-ext-diff "$2" | head -c "$4"`,
  `rm -f "$oca_idx"`,
  `[ "$5" = 1 ] && : > "$oca_wt.ended"`,
  `exit 0`,
].join('\n');

/**
 * Removes a task's worktree (its branch too with delete=1), unless a task runs in it (a continued
 * one: no `.ended` mark). Args: worktree, branch, delete.
 */
export const REMOVE_SCRIPT = [
  PATH_OF,
  `oca_remove() {`,
  `  [ -f "$1.repo" ] || return 1`,
  `  [ -f "$1.ended" ] || { printf 'OCA_IN_USE\n'; exit 0; }`,
  `  oca_repo=$(cat "$1.repo")`,
  `  git -C "$oca_repo" worktree remove --force "$1" >/dev/null 2>&1 || { rm -rf "$1"; git -C "$oca_repo" worktree prune >/dev/null 2>&1; }`,
  `  [ "$3" = 1 ] && git -C "$oca_repo" branch -D "$2" >/dev/null 2>&1`,
  `  rm -f "$1.repo" "$1.base" "$1.ended"`,
  `}`,
  `oca_remove "$(oca_path "$1")" "$2" "$3" && printf 'OCA_REMOVED\\n' || printf 'OCA_GONE\\n'`,
].join('\n');

/**
 * Removes the worktrees whose task ended more than N minutes ago, keeping their branches (the
 * work stays in the repository). Args: worktree root, minutes.
 */
export const SWEEP_SCRIPT = [
  PATH_OF,
  `oca_root=$(oca_path "$1")`,
  `[ -d "$oca_root" ] || exit 0`,
  `find "$oca_root" -maxdepth 1 -name '*.ended' -mmin "+$2" 2>/dev/null | while IFS= read -r oca_f; do`,
  `  oca_wt=\${oca_f%.ended}`,
  `  [ -f "$oca_wt.repo" ] || continue`,
  `  oca_repo=$(cat "$oca_wt.repo")`,
  `  git -C "$oca_repo" worktree remove --force "$oca_wt" >/dev/null 2>&1 || { rm -rf "$oca_wt"; git -C "$oca_repo" worktree prune >/dev/null 2>&1; }`,
  `  rm -f "$oca_wt.repo" "$oca_wt.base" "$oca_wt.ended"`,
  `  printf 'OCA_SWEPT %s\\n' "$oca_wt"`,
  `done`,
].join('\n');

/** The `OCA_NAME value` lines a script printed, by name (the last of each). */
export function markers(stdout: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(OCA_[A-Z_]+)(?: (.*))?$/.exec(line);
    if (match) found.set(match[1]!, match[2] ?? '');
  }
  return found;
}
