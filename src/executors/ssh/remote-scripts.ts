// The sh scripts the SSH executor runs on the remote (probe, start, poll, read, signal, remove)
// and the parsers of what they print.
import { InvalidInputError } from '../../errors.js';
import { startTimeOfStatLine } from '../process-identity.js';
import { checkShellEnvironment } from '../shell/env-names.js';
import { parsePidFile, WRAPPER, wrapperArgs } from '../shell/task-wrapper.js';
import { parseSegmentName, spoolWords, type SpoolSegment, type SpoolStream } from '../shell/output-spool.js';
import { shellQuote } from '../shell/quote.js';

/**
 * The POSIX sh scripts the SSH executor runs on the remote, and parsers for what they print.
 * Every value that comes from a task or the config reaches a script through `shellQuote`; the
 * scripts use shell builtins where they can (`read` on /proc, `kill`, `[`), so a status poll of
 * many tasks costs the remote one `wc` process, not several per task.
 */

/** `kill` of a process group in dash (needs `--`) and busybox (refuses it) alike. */
const KILL_GROUP = `oca_kill() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "-$2" 2>/dev/null; }`;

/**
 * Sets `oca_st` to the start time of pid $1: field 22 of /proc/<pid>/stat (clock ticks since
 * boot), or `ps:<lstart>` where there is no /proc; empty when the process is gone or a zombie.
 */
const START_TIME_OF = `oca_start_time() {
  oca_st=
  if [ -r /proc/self/stat ]; then
    IFS= read -r oca_l 2>/dev/null </proc/"$1"/stat || return 0
    oca_l=\${oca_l##*) }
    set -- $oca_l
    case $1 in Z|X) return 0 ;; esac
    oca_st=\${20}
  elif kill -s 0 "$1" 2>/dev/null; then
    oca_st="ps:$(ps -o lstart= -p "$1" 2>/dev/null)"
  fi
}`;

/**
 * Prints `Y <now> <mtime>` for file $1 on the remote's own clock, in seconds: the worker takes
 * their difference, the file's age, so the remote's clock need not agree with its own. GNU date
 * and stat give nanoseconds; busybox whole seconds (its date prints `%N` as is), BSD stat `-f`.
 */
const EXIT_AGE = `oca_exit_age() {
  oca_m=$(stat -c %.9Y "$1" 2>/dev/null || stat -f %Fm "$1" 2>/dev/null)
  printf 'Y %s %s\\n' "$(date +%s.%N 2>/dev/null)" "$oca_m"
}`;

/** What the worker learns about a remote once per connection. */
export interface RemoteInfo {
  home: string;
}

export const PROBE_SCRIPT = `printf 'HOME=%s\\n' "$HOME"; printf 'OCA_PROBE_OK\\n'`;

export function parseProbe(stdout: string): RemoteInfo | undefined {
  if (!stdout.includes('OCA_PROBE_OK')) return undefined;
  const home = /^HOME=(.*)$/m.exec(stdout)?.[1];
  return home ? { home } : undefined;
}

/** A path as the remote shell should see it: `~` and `~/…` expand to the remote $HOME. */
export function remotePathExpression(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return `"$HOME"/${shellQuote(path.slice(2))}`;
  return shellQuote(path);
}

/** A path with `~` resolved against the remote's home (task directories are kept absolute). */
export function resolveRemotePath(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home.replace(/\/+$/, '')}/${path.slice(2)}`;
  return path;
}

/**
 * A directory for `cd`: a relative one gets `./`, so that `-L` or `-` is a path, never an option
 * or $OLDPWD (`cd --` is not in every sh), and CDPATH is not searched.
 */
export function remoteDirExpression(path: string): string {
  if (path === '~' || path.startsWith('~/') || path.startsWith('/')) return remotePathExpression(path);
  return shellQuote(`./${path}`);
}

/** `oca_wait_pid`: waits (up to ~3 s) for the wrapper in "$oca_dir" to write its pid file. */
const WAIT_PID = `oca_wait_pid() { oca_i=0; while [ ! -s "$oca_dir/pid" ] && [ $oca_i -lt 300 ]; do oca_i=$((oca_i + 1)); sleep 0.01 2>/dev/null || sleep 1; done; }`;

export interface StartScriptInput {
  dir: string;
  argv: readonly string[];
  workdir?: string;
  env: Record<string, string>;
  unsetEnv: readonly string[];
  /** The task's stdin (the Claude prompt), saved as the task's stdin file; none: /dev/null. */
  prompt?: string;
  /** A program that must exist before anything starts (claude_path), with a clear error if not. */
  requireCommand?: string;
  /** The most output per stream the task's spool keeps on the remote (logs.max_spool_bytes). */
  spoolCap: number;
}

/** A start: the script (sent on the command line) and what goes to its stdin. */
export interface RemoteStart {
  script: string;
  /** `ENVLEN PROMPTLEN\n`, then the environment block, then the prompt. */
  stdin: Buffer;
}

/**
 * Starts a task detached, with the same wrapper and spool files as the local executor: checks
 * the working directory (and the program, for Claude), reads the task's environment and prompt
 * from stdin, claims the task directory with `mkdir` (a second start finds it and reports the
 * running task instead), saves the prompt, then runs the wrapper in its own session. Prints one
 * marker line (OCA_STARTED, OCA_EXISTS, OCA_NO_WORKDIR, OCA_NO_COMMAND or OCA_ERROR) and, for a
 * task that runs, the wrapper's pid file.
 *
 * The environment never reaches a command line (any user of the remote reads those with `ps`):
 * it comes on stdin ahead of the prompt, each framed by its byte length, and is evaluated only
 * in the subshell that launches the wrapper. A stdin that comes short (the link dropped
 * mid-upload) starts nothing and leaves no task directory: OCA_ERROR.
 */
export function startScript(input: StartScriptInput): RemoteStart {
  checkShellEnvironment(input.env, input.unsetEnv);
  const dir = shellQuote(input.dir);
  const parent = shellQuote(input.dir.slice(0, input.dir.lastIndexOf('/')) || '/');
  const existing = `oca_wait_pid; printf 'OCA_EXISTS\\n'; cat "$oca_dir/pid" 2>/dev/null; exit 0`;
  const short = (what: string, got: string, want: string) =>
    `printf 'OCA_ERROR the %s arrived cut short (%s of %s bytes); nothing was started\\n' ${what} "$((${got}))" "$${want}"; exit 0`;
  const lines = [
    `oca_dir=${dir}`,
    WAIT_PID,
    // A task that started before (the worker died) is reported, whatever became of its workdir.
    `[ -d "$oca_dir" ] && { ${existing}; }`,
    input.workdir === undefined
      ? 'cd 2>/dev/null'
      : `cd ${remoteDirExpression(input.workdir)} 2>/dev/null || { printf 'OCA_NO_WORKDIR\\n'; exit 0; }`,
  ];
  if (input.requireCommand !== undefined) {
    lines.push(
      `command -v ${remotePathExpression(input.requireCommand)} >/dev/null 2>&1 || { printf 'OCA_NO_COMMAND\\n'; exit 0; }`,
    );
  }
  // The shell's `read` takes a pipe a byte at a time and `dd bs=1` exactly its count, so the
  // prompt's bytes are left for `cat`. `$(…)` drops trailing newlines: the block has none.
  lines.push(
    `read -r oca_envlen oca_promptlen || oca_envlen=`,
    `case $oca_envlen:$oca_promptlen in :*|*:|*[!0-9:]*) printf 'OCA_ERROR the start request arrived without its header; nothing was started\\n'; exit 0 ;; esac`,
    `oca_env=$(dd bs=1 count="$oca_envlen" 2>/dev/null)`,
    `oca_n=$(printf '%s' "$oca_env" | wc -c)`,
    `[ $oca_n -eq "$oca_envlen" ] 2>/dev/null || { ${short('environment', 'oca_n', 'oca_envlen')}; }`,
    `mkdir -p ${parent} 2>/dev/null`,
    `if ! oca_err=$(mkdir "$oca_dir" 2>&1); then`,
    `  if [ -d "$oca_dir" ]; then ${existing}; fi`,
    `  printf 'OCA_ERROR %s\\n' "$oca_err"; exit 0`,
    'fi',
    'chmod 700 "$oca_dir"',
  );
  if (input.prompt !== undefined) {
    lines.push(
      `oca_err=$(cat 2>&1 >"$oca_dir/stdin") || { rm -rf "$oca_dir"; printf 'OCA_ERROR cannot save the prompt: %s\\n' "$oca_err"; exit 0; }`,
      `oca_n=$(wc -c <"$oca_dir/stdin")`,
      `[ $oca_n -eq "$oca_promptlen" ] 2>/dev/null || { rm -rf "$oca_dir"; ${short('prompt', 'oca_n', 'oca_promptlen')}; }`,
    );
  }
  // The program of an argv task may be `~/bin/claude`: the remote shell expands that `~`.
  const words = wrapperArgs(input.argv);
  const quoted = words
    .map((word, index) => (words[0] === '--' && index === 1 ? remotePathExpression(word) : shellQuote(word)))
    .join(' ');
  const wrapper = `/bin/sh -c ${shellQuote(WRAPPER)} openclaw-task "$oca_dir" -S ${spoolWords(input.spoolCap).join(' ')} ${quoted}`;
  // The task's environment is set in a subshell around the launch only: a PATH of the task's
  // does not change which setsid, sleep or cat this script runs. setsid where it exists (Linux);
  // elsewhere job control gives the wrapper its own process group.
  lines.push(
    'oca_setsid=$(command -v setsid 2>/dev/null)',
    `(eval "$oca_env"; if [ -n "$oca_setsid" ]; then exec "$oca_setsid" ${wrapper}; else set -m; ${wrapper} & fi) </dev/null >/dev/null 2>&1 &`,
    'oca_wait_pid',
    `printf 'OCA_STARTED\\n'; cat "$oca_dir/pid" 2>/dev/null`,
  );
  return { script: lines.join('\n'), stdin: startStdin(input.env, input.unsetEnv, input.prompt ?? '') };
}

// The start script's stdin: a header line with the byte lengths of the environment block (sh
// lines, no trailing newline) and of the prompt, then the two.
function startStdin(env: Record<string, string>, unsetEnv: readonly string[], prompt: string): Buffer {
  const block = Buffer.from(
    [
      ...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
      ...(unsetEnv.length > 0 ? [`unset ${unsetEnv.join(' ')}`] : []),
    ].join('\n'),
  );
  const text = Buffer.from(prompt);
  return Buffer.concat([Buffer.from(`${block.length} ${text.length}\n`), block, text]);
}

/**
 * Looks for a task directory without starting anything: OCA_EXISTS and the wrapper's pid file
 * (waited for, as by `startScript`) when it is there, OCA_ABSENT when it is not.
 */
export function findScript(dir: string): string {
  return [
    `oca_dir=${shellQuote(dir)}`,
    `[ -d "$oca_dir" ] || { printf 'OCA_ABSENT\\n'; exit 0; }`,
    WAIT_PID,
    `oca_wait_pid; printf 'OCA_EXISTS\\n'; cat "$oca_dir/pid" 2>/dev/null`,
  ].join('\n');
}

export type StartOutcome =
  | { kind: 'started' | 'exists'; pid?: number; startTime?: string }
  | { kind: 'absent' }
  | { kind: 'no-workdir' }
  | { kind: 'no-command' }
  | { kind: 'error'; message: string };

export function parseStart(stdout: string): StartOutcome | undefined {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.startsWith('OCA_'));
  if (at < 0) return undefined;
  const marker = lines[at]!;
  if (marker === 'OCA_NO_WORKDIR') return { kind: 'no-workdir' };
  if (marker === 'OCA_NO_COMMAND') return { kind: 'no-command' };
  if (marker === 'OCA_ABSENT') return { kind: 'absent' };
  if (marker.startsWith('OCA_ERROR')) return { kind: 'error', message: marker.slice('OCA_ERROR '.length).trim() };
  if (marker !== 'OCA_STARTED' && marker !== 'OCA_EXISTS') return undefined;
  // The pid file follows the marker (nothing when the wrapper never wrote it).
  return {
    kind: marker === 'OCA_STARTED' ? 'started' : 'exists',
    ...parsePidFile(lines.slice(at + 1, at + 3).join('\n')),
  };
}

/** One task in a status poll: `key` names it in the output. */
export interface PolledTask {
  key: string;
  dir: string;
  pid?: number;
  /** Also report whether anything of its process group is left (while it is being stopped). */
  group?: boolean;
  /** Also report how long ago the exit file was written, once it is there (see `exitAgeMs`). */
  exitAge?: boolean;
}

/** How a stream's spooler ended (its `.done` or `.failed` file); absent while it runs. */
export type PolledSpoolEnd = { kind: 'done' } | { kind: 'failed'; reason: string };

export interface PolledStatus {
  /** The task directory is gone. */
  missing: boolean;
  /** Its output goes through spoolers (their FIFO is there): the ends below will come. */
  spooled: boolean;
  ends: Partial<Record<SpoolStream, PolledSpoolEnd>>;
  /** From the pid file, for a task polled without a pid. */
  pid?: number;
  pidStartTime?: string;
  exitCode?: number;
  /**
   * How long ago the exit file was written (ms, ≥ 0), by the remote's clock, when asked for and
   * readable: a worker that looks long after the task ended subtracts it from its own now.
   */
  exitAgeMs?: number;
  /** The start time of the pid now ('' when gone), when a pid was asked about. */
  startTime?: string;
  groupAlive: boolean;
  /** Each stream's spool segments with their sizes, oldest first. */
  segments: Record<SpoolStream, (SpoolSegment & { size: number })[]>;
}

/**
 * Reports, for each task: whether its directory exists, its exit code once the exit file holds a
 * whole line, whether its spoolers have ended, the start time of its pid (for the identity
 * check), and the sizes of its spool segments (read after the exit file and the spoolers' ends,
 * so with those they are final).
 */
export function statusScript(tasks: readonly PolledTask[]): string {
  const lines = [KILL_GROUP, START_TIME_OF];
  if (tasks.some((task) => task.exitAge)) lines.push(EXIT_AGE);
  for (const task of tasks) {
    const dir = shellQuote(task.dir);
    const age = task.exitAge ? `; oca_exit_age ${dir}/exit` : '';
    lines.push(
      `printf 'T %s\\n' ${shellQuote(task.key)}`,
      `[ -d ${dir} ] || printf 'M\\n'`,
      `if [ -f ${dir}/exit ] && IFS= read -r oca_c <${dir}/exit; then printf 'X %s\\n' "$oca_c"${age}; fi`,
      `[ -p ${dir}/stdout.fifo ] && printf 'Q\\n'`,
    );
    for (const stream of ['stdout', 'stderr'] as const) {
      lines.push(
        `if [ -f ${dir}/${stream}.failed ]; then oca_c=; IFS= read -r oca_c <${dir}/${stream}.failed; printf 'E ${stream} failed %s\\n' "$oca_c"; elif [ -e ${dir}/${stream}.done ]; then printf 'E ${stream} done\\n'; fi`,
      );
    }
    if (task.pid !== undefined) lines.push(`oca_start_time ${task.pid}; printf 'A %s\\n' "$oca_st"`);
    // A start whose pid was not seen yet: the wrapper's pid file, once it is there.
    else
      lines.push(
        `if [ -s ${dir}/pid ]; then { IFS= read -r oca_p; IFS= read -r oca_s; } <${dir}/pid; printf 'P %s\\n' "$oca_p"; printf 'S %s\\n' "$oca_s"; fi`,
      );
    if (task.pid !== undefined && task.group) lines.push(`oca_kill 0 ${task.pid} && printf 'G\\n'`);
  }
  // Each stream's segments: `stdout`, then `stdout.<offset>` (globbed on the remote).
  const files = tasks.flatMap((task) =>
    (['stdout', 'stderr'] as const).flatMap((stream) => [
      shellQuote(`${task.dir}/${stream}`),
      `${shellQuote(`${task.dir}/${stream}.`)}[0-9]*`,
    ]),
  );
  lines.push(
    "printf 'W\\n'",
    'set --',
    `for oca_f in ${files.join(' ')}; do [ -f "$oca_f" ] && set -- "$@" "$oca_f"; done`,
    '[ $# -gt 0 ] && wc -c "$@"',
    "printf 'END\\n'",
  );
  return lines.join('\n');
}

export function parseStatus(stdout: string, tasks: readonly PolledTask[]): Map<string, PolledStatus> | undefined {
  const lines = stdout.split('\n');
  if (!lines.includes('END')) return undefined;
  const out = new Map<string, PolledStatus>();
  let current: PolledStatus | undefined;
  let index = 0;
  for (; index < lines.length && lines[index] !== 'W'; index++) {
    const line = lines[index]!;
    if (line.startsWith('T ')) {
      current = { missing: false, spooled: false, ends: {}, groupAlive: false, segments: { stdout: [], stderr: [] } };
      out.set(line.slice(2), current);
    } else if (!current) {
      continue;
    } else if (line === 'M') {
      current.missing = true;
    } else if (line === 'Q') {
      current.spooled = true;
    } else if (line.startsWith('E ')) {
      const [, stream, kind] = line.split(' ');
      if (stream === 'stdout' || stream === 'stderr')
        current.ends[stream] =
          kind === 'failed' ? { kind, reason: line.slice(`E ${stream} failed `.length) } : { kind: 'done' };
    } else if (line.startsWith('X ')) {
      const code = Number.parseInt(line.slice(2), 10);
      if (Number.isFinite(code)) current.exitCode = code;
    } else if (line.startsWith('Y ')) {
      const age = fileAgeMs(line.slice(2));
      if (age !== undefined) current.exitAgeMs = age;
    } else if (line.startsWith('A ')) {
      current.startTime = line.slice(2);
    } else if (line === 'A') {
      current.startTime = '';
    } else if (line === 'G') {
      current.groupAlive = true;
    } else if (line.startsWith('P ')) {
      const pid = Number(line.slice(2));
      if (Number.isInteger(pid) && pid > 0) current.pid = pid;
    } else if (line.startsWith('S ')) {
      current.pidStartTime = startTimeOfStatLine(line.slice(2));
    }
  }
  const byDir = new Map<string, PolledStatus>();
  for (const task of tasks) {
    const status = out.get(task.key);
    if (!status) return undefined;
    byDir.set(task.dir, status);
  }
  for (index++; index < lines.length && lines[index] !== 'END'; index++) {
    const match = /^\s*(\d+)\s(.*)\/([^/]*)$/.exec(lines[index]!);
    const status = match && byDir.get(match[2]!);
    if (!status) continue;
    for (const stream of ['stdout', 'stderr'] as const) {
      const segment = parseSegmentName(stream, match[3]!);
      if (segment) status.segments[stream].push({ ...segment, size: Number(match[1]) });
    }
  }
  for (const status of out.values())
    for (const stream of ['stdout', 'stderr'] as const) status.segments[stream].sort((a, b) => a.start - b.start);
  return out;
}

// A file's age in ms from `<now> <mtime>` in seconds (see EXIT_AGE), undefined when either is
// unreadable. Where one has whole seconds only, both are taken whole: the error stays under a
// second either way, and is not always one way.
function fileAgeMs(text: string): number | undefined {
  const [now, mtime] = text.split(' ').map((word) => /^(\d+)(\.\d+)?/.exec(word));
  if (!now || !mtime) return undefined;
  const whole = now[2] === undefined || mtime[2] === undefined;
  const seconds = (m: RegExpExecArray) => Number(whole ? m[1] : m[0]);
  return Math.max(0, Math.round((seconds(now) - seconds(mtime)) * 1000));
}

/** A byte range of a stream to fetch: from `offset` in its first file on, through the others. */
export interface ReadRange {
  key: string;
  stream: 'stdout' | 'stderr';
  /** The segment files the range runs through, in order (at most 7: fds 3 to 9). */
  files: string[];
  /** Where in the first file the range begins. */
  offset: number;
  length: number;
}

/**
 * Prints a marker line with `nonce` (anything a login shell or a ForceCommand prints before the
 * script is skipped up to it), then each range as `D <key> <stream> <length>` and exactly that
 * many raw bytes, then END. A range's files are all opened before its header: one that the
 * spooler removed meanwhile prints `G` instead, never a gap in the output. Each range ends with a
 * line `E <nonce> <index>`, which no task output can hold (the nonce is new each read): a range
 * that came out short (a file shrank) is found by it, and the ranges after it still read.
 */
export function readScript(ranges: readonly ReadRange[], nonce: string): string {
  const lines = [`printf 'OCA_READ %s\\n' ${shellQuote(nonce)}`];
  lines.push(
    ...ranges.map((r, index) => {
      const [first, ...rest] = r.files.slice(0, 7).map((file, i) => ({ fd: i + 3, file }));
      const copy = [`tail -c +${r.offset + 1} <&${first!.fd}`, ...rest.map(({ fd }) => `cat <&${fd}`)].join('; ');
      const opens = [first!, ...rest].map(({ fd, file }) => `${fd}<${shellQuote(file)}`).join(' ');
      const range = `{ printf 'D %s %s %s\\n' ${shellQuote(r.key)} ${r.stream} ${r.length}; { ${copy}; } | head -c ${r.length}; } 2>/dev/null ${opens} || printf 'G\\n'`;
      return `${range}; printf 'E %s %s\\n' ${shellQuote(nonce)} ${index}`;
    }),
  );
  lines.push("printf 'END\\n'");
  return lines.join('\n');
}

/**
 * The bytes of each range that read whole, by key and stream: a range whose file vanished or
 * shrank under us is left out (nothing is shipped from it; it is read again next round). Undefined
 * when the reply does not frame at all (cut short, or not our script's).
 */
export function parseRead(
  output: Buffer,
  ranges: readonly ReadRange[],
  nonce: string,
): Map<string, Partial<Record<'stdout' | 'stderr', Buffer>>> | undefined {
  const out = new Map<string, Partial<Record<'stdout' | 'stderr', Buffer>>>();
  const marker = Buffer.from(`OCA_READ ${nonce}\n`);
  const start = output.indexOf(marker);
  if (start < 0) return undefined;
  let at = start + marker.length;
  for (const [index, range] of ranges.entries()) {
    const trailer = Buffer.from(`E ${nonce} ${index}\n`);
    const end = output.indexOf(0x0a, at);
    if (end < 0) return undefined;
    const header = output.subarray(at, end).toString('utf8');
    const whole = end + 1 + range.length;
    if (
      header === `D ${range.key} ${range.stream} ${range.length}` &&
      output.subarray(whole, whole + trailer.length).equals(trailer)
    ) {
      const entry = out.get(range.key) ?? {};
      entry[range.stream] = output.subarray(end + 1, whole);
      out.set(range.key, entry);
      at = whole + trailer.length;
      continue;
    }
    // Gone (G) or short: skip to the range's trailer.
    const skipped = output.indexOf(trailer, at);
    if (skipped < 0) return undefined;
    at = skipped + trailer.length;
  }
  return output.subarray(at).toString('utf8') === 'END\n' ? out : undefined;
}

/**
 * Sends `signal` to the task's process group, only when the pid is still the process that
 * started at `startTime` (a recycled pid is left alone). Prints SENT when it was sent.
 */
export function signalScript(pid: number, startTime: string | undefined, signal: 'TERM' | 'KILL'): string {
  const lines = [KILL_GROUP, START_TIME_OF];
  if (startTime !== undefined && startTime !== '') {
    lines.push(`oca_start_time ${pid}`, `[ "$oca_st" = ${shellQuote(startTime)} ] || exit 0`);
  }
  lines.push(`oca_kill ${signal} ${pid} && printf 'SENT\\n'`);
  return lines.join('\n');
}

/** Removes a task directory; `dir` must be a task directory (its name is the task id). */
export function removeScript(dir: string, taskId: string): string {
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  if (name !== taskId && !name.startsWith(`${taskId}.`)) {
    throw new InvalidInputError(`refusing to remove ${dir}: not the directory of task ${taskId}`);
  }
  return `rm -rf -- ${shellQuote(dir)}`;
}
