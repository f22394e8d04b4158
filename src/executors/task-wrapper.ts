import { startTimeOfStatLine } from './process-identity.js';

/**
 * Runs in its own session (the spawn is detached, i.e. setsid) as the task's process group leader:
 * records its pid and its /proc stat line (for the start time that tells it from a recycled pid;
 * `read` is a builtin, so no process is spawned for it), runs argv with output to the spool files, and writes the exit code atomically:
 * one write(2) of a whole line such as `3\n`, which readers accept only once its newline is there
 * (so no extra process like `mv` is spawned per task). It traps TERM/INT so that it outlives a
 * group-wide SIGTERM long enough to record how the command ended; the command itself gets
 * default signal handling. Arguments: the spool directory, then either `-c STRING` (evaluated in
 * a subshell with no positional parameters — what `sh -c STRING` does, without exec'ing a second
 * shell) or `--` and the argv to exec.
 */
export const WRAPPER = `oca_dir=$1; shift
oca_stat=; read -r oca_stat 2>/dev/null </proc/$$/stat
printf '%s\\n%s\\n' "$$" "$oca_stat" >"$oca_dir/pid"
trap 'oca_signal=TERM' TERM
trap 'oca_signal=INT' INT
oca_run() { if [ "$1" = -c ]; then oca_cmd=$2; shift 2; (eval "unset oca_cmd oca_dir oca_code oca_stat; $oca_cmd"); else shift; "$@"; fi; }
if [ -e "$oca_dir/stdin" ]; then oca_run "$@" <"$oca_dir/stdin" >"$oca_dir/stdout" 2>"$oca_dir/stderr"; else oca_run "$@" </dev/null >"$oca_dir/stdout" 2>"$oca_dir/stderr"; fi
oca_code=$?
printf '%s\\n' "$oca_code" >"$oca_dir/exit"
`;

/**
 * The wrapper's arguments after the spool directory: `sh -c STRING` runs in the wrapper's own
 * subshell (`-c STRING`); anything else is exec'd as argv (`-- argv…`).
 */
export function wrapperArgs(argv: readonly string[]): string[] {
  return argv.length === 3 && argv[0] === 'sh' && argv[1] === '-c' ? ['-c', argv[2]!] : ['--', ...argv];
}

/**
 * The wrapper's pid file: its pid on the first line, its /proc stat line (empty where there is
 * no /proc) on the second. Undefined until the pid is there.
 */
export function parsePidFile(text: string): { pid: number; startTime?: string } | undefined {
  const [first, stat] = text.split('\n');
  const pid = Number(first);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, startTime: stat ? startTimeOfStatLine(stat) : undefined };
}
