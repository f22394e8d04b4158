// The sh wrapper every local and SSH task runs in: it records the pid, runs the command with
// output to the spool files and writes the exit code; and the spec line that hands it a task.
import path from 'node:path';
import { checkShellEnvironment } from './env-names.js';
import { startTimeOfStatLine } from '../process-identity.js';
import { shellQuote } from './quote.js';
import { SPOOL_FUNCTIONS, spoolWords } from './output-spool.js';

/**
 * The wrapper's functions, used as
 * `oca_main DIR [-S CAP BLOCK COUNT] [-C WORKDIR] [-e NAME VALUE]… [-u NAME]… (-c STRING | -- ARGV…)`
 * to run one task:
 * - It runs as the process group leader of its own session (the spawn is detached, i.e. setsid).
 * - It records its pid and its /proc stat line (for the start time that tells it from a recycled
 *   pid; `read` is a builtin, so no process is spawned for it).
 * - It changes to WORKDIR, exports and unsets the task's variables, and runs the command with
 *   output to the spool files: with `-S`, through a capped spooler per stream (SPOOL_FUNCTIONS:
 *   segment files, the oldest dropped past CAP bytes); without it, or where no FIFO can be made,
 *   straight into `stdout` and `stderr`.
 * - Before the exit code it empties the `reserve` file, where spoolers made one at the start (16
 *   KiB set aside for the exit file and the spool's failure notes on a full disk).
 * - It writes the exit code atomically: one write(2) of a whole line such as `3\n`, which readers
 *   accept only once its newline is there (so no extra process like `mv` is spawned per task),
 *   and only into a directory whose pid file names this shell.
 * - When the exit file cannot be written (a full disk with no reserve to free: a spool without
 *   spoolers), the code goes on the pid file's third line, `exit 3`, instead: appended inside the
 *   block the pid file already has, which needs no free block on tmpfs and ext4 (a copy-on-write
 *   filesystem may still want one). The local worker takes it as the exit code and as the sign
 *   that the spool's disk was full; SSH readers do not look there (spoolers keep a reserve).
 * - It traps TERM/INT so that it outlives a group-wide SIGTERM long enough to record how the
 *   command ended; the command itself gets default signal handling.
 * - `-c STRING` is evaluated in a subshell with no positional parameters — what `sh -c STRING`
 *   does, without exec'ing a second shell; `-- ARGV…` is run as is. A STRING that names `$$`,
 *   `${$}`, `${#$}` or `PPID` gets a shell of its own instead, `/bin/sh -c STRING openclaw-task`
 *   (the same `$0`): a subshell's `$$` and `$PPID` are its parent's, so there `kill $$` would hit
 *   the wrapper, which traps TERM (and, killed, records no exit code).
 * - A WORKDIR that cannot be entered, or a variable the shell refuses (read-only in bash, OPTIND
 *   not a number in dash), ends the task with the shell's message on its stderr and an exit code
 *   (`cd`'s, or 125) before the command runs: `command` keeps a failing `export` or `unset`,
 *   special built-ins, from ending the wrapper itself.
 * - In a shell already forked for it (`oca_forked` set: see WAITING_WRAPPER) `oca_main` becomes
 *   the task instead: the same pid file, directory, variables and output files, then `-c STRING`
 *   is evaluated in that shell itself (or exec'd there as `/bin/sh -c`, as above) and `-- ARGV…`
 *   started from it (dash's vfork and exec cost less than an exec that must first tear down a
 *   forked shell's copy of memory); the waiting parent records the exit code.
 * - A shell that runs ARGV traps TERM/INT like the wrapper, so that it, too, reports how the
 *   command ended rather than dying first.
 */
/** The file in a task's spool directory that holds a long task line for a waiting wrapper. */
export const SPEC_FILE = 'spec';

/**
 * The longest task line handed to a waiting wrapper through its stdin; a longer one goes into
 * SPEC_FILE. A shell reads a pipe a byte at a time (a system call each: ~1.3 µs on the AMD VM of
 * 2026-12-07), while creating the file costs ~0.1 ms on ext4 there: in an A/B of the two ways,
 * interleaved, a line of ~170 bytes started 0.3–0.5 ms sooner through the pipe, one of ~2,200
 * bytes 2.5 ms sooner through the file, and they met near 500.
 */
export const INLINE_SPEC_BYTES = 512;

const WRAPPER_FUNCTIONS = `${SPOOL_FUNCTIONS}oca_stat=; read -r oca_stat 2>/dev/null </proc/$$/stat
oca_main() {
  oca_dir=$1; shift
  printf '%s\\n%s\\n' "$$" "$oca_stat" >"$oca_dir/pid"
  oca_out=$oca_dir/stdout oca_err=$oca_dir/stderr
  if [ "$1" = -S ]; then
    oca_spool_start "$oca_dir" "$2" "$3" "$4" && oca_out=$oca_out.fifo oca_err=$oca_err.fifo
    shift 4
  fi
  if [ -n "$oca_forked" ]; then
    if [ -e "$oca_dir/stdin" ]; then exec <"$oca_dir/stdin"; else exec </dev/null; fi
    exec >"$oca_out" 2>"$oca_err"
    oca_run "$@"
    exit
  fi
  trap 'oca_signal=TERM' TERM
  trap 'oca_signal=INT' INT
  if [ -e "$oca_dir/stdin" ]; then oca_run "$@" <"$oca_dir/stdin" >"$oca_out" 2>"$oca_err"; else oca_run "$@" </dev/null >"$oca_out" 2>"$oca_err"; fi
  oca_code=$?
  oca_end "$oca_dir"
}
oca_end() {
  oca_owner=; read -r oca_owner 2>/dev/null <"$1/pid"
  [ "$oca_owner" = "$$" ] || return
  [ ! -e "$1/reserve" ] || : >"$1/reserve"
  { printf '%s\\n' "$oca_code" >"$1/exit"; } 2>/dev/null || printf 'exit %s\\n' "$oca_code" >>"$1/pid"
}
oca_run() {
  while :; do
    case $1 in
      -C) cd -- "$2" || return; shift 2 ;;
      -e) command export "$2=$3" || return 125; shift 3 ;;
      -u) command unset "$2" || return 125; shift 2 ;;
      *) break ;;
    esac
  done
  if [ "$1" = -c ]; then
    oca_cmd="unset oca_cmd oca_dir oca_code oca_stat oca_spec oca_nl oca_forked oca_signal oca_out oca_err; $2"
    case $2 in
      *'$$'*|*'\${$'*|*'\${#$'*|*PPID*)
        if [ -n "$oca_forked" ]; then exec /bin/sh -c "$oca_cmd" "$0"; else /bin/sh -c "$oca_cmd" "$0"; fi ;;
      *) shift 2; if [ -n "$oca_forked" ]; then eval "$oca_cmd"; else (eval "$oca_cmd"); fi ;;
    esac
  else
    shift
    trap 'oca_signal=TERM' TERM
    trap 'oca_signal=INT' INT
    "$@"
  fi
}
`;

/** The wrapper with its task in its arguments: `sh -c WRAPPER openclaw-task DIR …` (SSH). */
export const WRAPPER = `${WRAPPER_FUNCTIONS}oca_main "$@"
`;

/**
 * The wrapper started ahead of its task (local), used as `sh -c WAITING_WRAPPER openclaw-task`
 * with the two lines of `wrapperSpec`'s handoff written to its stdin once the task comes:
 * - It forks at once: the forked shell waits for the task's line on the shared stdin and becomes
 *   the task, so a `sh -c` task starts with no fork after its spec arrives (measured by
 *   `npm run bench`).
 * - A long task line (over INLINE_SPEC_BYTES) is written to the spool directory's SPEC_FILE
 *   first, and the line on stdin is `. FILE`, which the forked shell reads in blocks: through the
 *   pipe, a shell reads a byte at a time.
 * - The wrapper, the session leader whose pid is recorded, waits for it with TERM/INT trapped,
 *   then reads the second line, `oca_end DIR`, and records the exit code there.
 * - The forked shell reads its line with TERM and INT ignored, and gets default handling back
 *   before it runs the line: a shell reading from a pipe takes it a byte at a time, and one killed
 *   halfway would leave the rest of the line in the pipe. (A spec file is read with default
 *   handling back: a stop then ends the shell before the task's pid file, and nothing runs.)
 * - A TERM that came during the read is lost; the worker sends it again once the task has written
 *   its pid file (`terminateGroup`).
 * - The wrapper itself never runs what it reads, only a line that starts with the `oca_end` word,
 *   and `oca_end` writes only where the pid file names this wrapper (a fragment of the task's line
 *   can start with that word only where a word of the task is `oca_end`, and all that follows it
 *   is quoted words). So a forked shell killed from outside (SIGKILL) leaves its task unrun and
 *   unrecorded — the worker reports it lost — rather than a fragment of it run.
 * - A first line cut short (the sender died) has no newline and runs nothing; end of input with no
 *   line at all ends both.
 * - A forked shell whose wrapper was killed runs nothing (`kill -0`, a builtin; the worker itself
 *   passes over a wrapper that is dead or a zombie).
 */
export const WAITING_WRAPPER = `${WRAPPER_FUNCTIONS}oca_nl='
'
trap 'oca_signal=TERM' TERM
trap 'oca_signal=INT' INT
(oca_forked=1; trap '' TERM INT; IFS= read -r oca_spec || exit 0; trap - TERM INT; kill -0 $$ 2>/dev/null || exit 0; eval "$oca_spec")
oca_code=$?
IFS= read -r oca_spec || exit 0
case $oca_spec in "'oca_end' "*) eval "$oca_spec" ;; esac
`;

/**
 * The wrapper's arguments after the spool directory: `sh -c STRING` is evaluated by the wrapper
 * (`-c STRING`, see `oca_main`); anything else is exec'd as argv (`-- argv…`).
 */
export function wrapperArgs(argv: readonly string[]): string[] {
  return argv.length === 3 && argv[0] === 'sh' && argv[1] === '-c' ? ['-c', argv[2]!] : ['--', ...argv];
}

/** A task's spec for a waiting wrapper (see WAITING_WRAPPER). */
export interface WrapperSpec {
  /**
   * What the wrapper reads: the task's line (or `. FILE`, for a long one), then its own line,
   * `oca_end DIR`.
   */
  handoff: string;
  /** A long task line: written to `path` (SPEC_FILE in the spool directory) before the handoff. */
  file?: { path: string; script: string };
}

export interface WrapperSpecInput {
  dir: string;
  /**
   * The most output per stream kept on disk (logs.max_spool_bytes); the oldest goes past it.
   * @default no spooler: the output goes straight into `stdout` and `stderr`, uncapped
   */
  spoolCap?: number;
  /** An absolute path; the wrapper changes to it before running the command. */
  workdir: string;
  argv: readonly string[];
  /** Exported on top of the wrapper's own environment. */
  env: Readonly<Record<string, string>>;
  unsetEnv: readonly string[];
}

/**
 * A task's spec for a waiting wrapper: the task's line its forked shell evaluates, `oca_main` with
 * the task's spool directory, workdir, variables and command (in the handoff, or in the spec file
 * when long), then the wrapper's own line, `oca_end DIR`, each ended by a newline. Every word is
 * quoted by `shellQuote`, with each newline written as `"$oca_nl"` so that each stays one line.
 * The task's line is braced, `{ … ; }`: a spec file cut short is a syntax error, never a shorter
 * command (the handoff is written only once the file is whole, and this holds even if it is not).
 */
export function wrapperSpec(input: WrapperSpecInput): WrapperSpec {
  checkShellEnvironment(input.env, input.unsetEnv);
  const words = [
    'oca_main',
    input.dir,
    ...(input.spoolCap === undefined ? [] : ['-S', ...spoolWords(input.spoolCap)]),
    '-C',
    input.workdir,
    ...Object.entries(input.env).flatMap(([name, value]) => ['-e', name, value]),
    ...input.unsetEnv.flatMap((name) => ['-u', name]),
    ...wrapperArgs(input.argv),
  ];
  const line = `{ ${shellLine(words)}; }\n`;
  const end = `${shellLine(['oca_end', input.dir])}\n`;
  if (Buffer.byteLength(line) <= INLINE_SPEC_BYTES) return { handoff: `${line}${end}` };
  const file = path.join(input.dir, SPEC_FILE);
  return { handoff: `. ${shellLine([file])}\n${end}`, file: { path: file, script: line } };
}

const shellLine = (words: readonly string[]) =>
  words.map((word) => shellQuote(word).replaceAll('\n', `'"$oca_nl"'`)).join(' ');

/**
 * The exit code the wrapper put on its pid file's third line (`exit 3`) because the exit file
 * could not be written: the spool's disk was full. Undefined when there is none.
 */
export function pidFileExitCode(text: string): number | undefined {
  const line = text.split('\n')[2];
  if (!line?.startsWith('exit ') || !text.endsWith('\n')) return undefined;
  const code = Number(line.slice(5));
  return Number.isInteger(code) ? code : undefined;
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
