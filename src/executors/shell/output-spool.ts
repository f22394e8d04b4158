// The capped output spool of local and SSH tasks: the sh functions that copy a task's output into
// segment files and drop the oldest past the cap, and the names and notes its readers share.
import { formatDroppedBytes } from '../../logs/log-stream.js';

/**
 * The spooler's sh functions, used as `oca_spool PREFIX CAP BLOCK COUNT <FIFO` (one per stream):
 * - It copies its stdin (the task's stdout or stderr, through a FIFO) into segment files: the
 *   first is PREFIX itself (`stdout`, as before segments), the next `PREFIX.<offset>`, named by the
 *   offset of their first byte in the stream. So a reader's byte offset (the log's checkpoint)
 *   means the same whatever was dropped, and a re-attach resumes from it.
 * - One `dd` per segment (COUNT reads of at most BLOCK bytes: a segment is at most BLOCK × COUNT);
 *   before the next segment, the oldest are removed until the rest hold at most CAP bytes. The
 *   pipe holds the task back meanwhile, so the spool never grows past CAP and one segment.
 * - At the end of its input it creates `PREFIX.done`: readers then know the stream is whole.
 * - When a write fails (a full disk: ENOSPC; a file size limit: EFBIG) it frees the task's
 *   `reserve` file, writes the reason to `PREFIX.failed` and reads on into /dev/null: the task
 *   neither blocks nor gets SIGPIPE, its output from there on is lost, and readers say so.
 * - It ignores TERM: a task stopped with TERM still has its last output copied (KILL ends it).
 * - It reads dd's summary (`N+M records in`, `… records out`, `BYTES bytes …`, the same in GNU,
 *   busybox and BSD dd) with shell expansions: no process but dd per segment. dd runs in the C
 *   locale: a task's LANGUAGE or LC_ALL would translate the summary (`Datensätze ein`), and the
 *   spooler would stop after its first segment, the task's next write dying of SIGPIPE.
 */
export const SPOOL_FUNCTIONS = `oca_spool() {
  trap '' TERM
  oca_p=$1 oca_cap=$2 oca_bs=$3 oca_n=$4 oca_o=0 oca_first=0 oca_segs= oca_f=$1
  while :; do
    oca_r=$(export LC_ALL=C; exec dd bs="$oca_bs" count="$oca_n" of="$oca_f" 2>&1) || { oca_spool_failed "$oca_r"; return; }
    oca_c=\${oca_r%%" records in"*}; oca_c=\${oca_c##*[!0-9+]}
    oca_b=\${oca_r#*" records out"?}; oca_b=\${oca_b%%[!0-9]*}
    case $oca_b in '') oca_b=$(wc -c <"$oca_f") ;; esac
    if [ "$oca_b" -gt 0 ]; then
      oca_segs="$oca_segs$oca_o "
      oca_o=$((oca_o + oca_b))
      set --
      while [ $((oca_o - oca_first)) -gt "$oca_cap" ]; do
        case $oca_segs in *' '*' '*) ;; *) break ;; esac
        oca_s=\${oca_segs%% *}; oca_segs=\${oca_segs#* }; oca_first=\${oca_segs%% *}
        if [ "$oca_s" = 0 ]; then set -- "$@" "$oca_p"; else set -- "$@" "$oca_p.$oca_s"; fi
      done
      [ $# -gt 0 ] && rm -f -- "$@"
      oca_f=$oca_p.$oca_o
    fi
    case $oca_c in *+*) [ $((\${oca_c%+*} + \${oca_c#*+})) -lt "$oca_n" ] && break ;; *) break ;; esac
  done
  : >"$oca_p.done"
}
oca_spool_failed() {
  case $1 in
    *'No space left'*) oca_e=ENOSPC ;;
    *'too large'*) oca_e=EFBIG ;;
    *'quota'*) oca_e=EDQUOT ;;
    *) oca_e=\${1%%"
"*} ;;
  esac
  : >"\${oca_p%/*}/reserve"
  printf '%s\\n' "$oca_e" >"$oca_p.failed"
  exec cat >/dev/null
}
oca_spool_start() {
  printf '%16384s' '' >"$1/reserve" 2>/dev/null
  mkfifo "$1/stdout.fifo" "$1/stderr.fifo" 2>/dev/null || return
  (oca_spool "$1/stdout" "$2" "$3" "$4" <"$1/stdout.fifo" >/dev/null 2>&1 &
   oca_spool "$1/stderr" "$2" "$3" "$4" <"$1/stderr.fifo" >/dev/null 2>&1 &)
}
`;

/** The default of logs.max_spool_bytes, on local and SSH hosts alike. */
export const DEFAULT_MAX_SPOOL_BYTES = 1024 ** 3;

/** The most one segment holds: the spool on disk stays within its cap and one segment. */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * The spooler's reads: a page each, so that a segment is a byte size whatever the reads return
 * from the pipe (a writer's stdio sends a few KiB at a time), and a `dd` starts per segment only.
 */
const BLOCK_BYTES = 4096;

/**
 * The spooler's block size and reads per segment for a cap: segments of an eighth of the cap (at
 * least 64 KiB, at most 64 MiB), in reads of 4 KiB.
 */
export function spoolSegmentShape(capBytes: number): { block: number; count: number } {
  const segment = Math.min(MAX_SEGMENT_BYTES, Math.max(64 * 1024, Math.floor(capBytes / 8)));
  return { block: BLOCK_BYTES, count: Math.max(1, Math.floor(segment / BLOCK_BYTES)) };
}

/** The most a stream's spool holds on disk for a cap: the cap and one segment. */
export function spoolBound(capBytes: number): number {
  const { block, count } = spoolSegmentShape(capBytes);
  return capBytes + block * count;
}

/** The wrapper's spool words: `CAP BLOCK COUNT`, after the task directory. */
export function spoolWords(capBytes: number): string[] {
  const { block, count } = spoolSegmentShape(capBytes);
  return [String(capBytes), String(block), String(count)];
}

/** One segment file of a stream: its name in the task directory and the offset of its first byte. */
export interface SpoolSegment {
  name: string;
  start: number;
}

export type SpoolStream = 'stdout' | 'stderr';

/** The segment a file name is, for `stream`: `stdout` starts at 0, `stdout.<n>` at n. */
export function parseSegmentName(stream: SpoolStream, name: string): SpoolSegment | undefined {
  if (name === stream) return { name, start: 0 };
  if (!name.startsWith(`${stream}.`)) return undefined;
  const rest = name.slice(stream.length + 1);
  return /^[1-9]\d*$/.test(rest) ? { name, start: Number(rest) } : undefined;
}

/** The file name of the segment of `stream` that starts at `start`. */
export function segmentName(stream: SpoolStream, start: number): string {
  return start === 0 ? stream : `${stream}.${start}`;
}

/** How a stream's spooler ended, from its marker files; undefined while it runs. */
export type SpoolEnd = { kind: 'done' } | { kind: 'failed'; reason: string };

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device (ENOSPC)',
  EFBIG: 'file too large (EFBIG)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
};

/** The log's note for output the spool dropped before it was shipped (the wording of the log's own cap). */
export function spoolDropNote(bytes: number, host: string): string {
  return `${formatDroppedBytes(bytes)} of earlier output was dropped here: the spool on ${host} keeps only a task's newest output (logs.max_spool_bytes)\n`;
}

/**
 * A spool without spoolers (a local task's `stdout` written straight by the task) whose oldest
 * output the worker freed keeps an empty marker file, `stdout.kept.<offset>`: the bytes before that
 * offset are a hole now, to be skipped, not read (they read as zeros).
 */
export function keptMarkerName(stream: SpoolStream, offset: number): string {
  return `${stream}.kept.${offset}`;
}

/** The offset a kept-marker file names, for `stream`; undefined for any other name. */
export function parseKeptMarker(stream: SpoolStream, name: string): number | undefined {
  const match = /^(stdout|stderr)\.kept\.(\d+)$/.exec(name);
  return match && match[1] === stream ? Number(match[2]) : undefined;
}

/**
 * The line a task's log and record get when its wrapper could not write the exit file (it put the
 * code on its pid file instead): most likely the spool's disk was full (or a quota reached), and a
 * task writing its output straight into the spool had its writes fail meanwhile.
 */
export function spoolFullLine(host: string): string {
  return `output spool on ${host} failed: no room for the task's exit code when it ended (a full disk or a quota) — output it wrote while there was none was lost`;
}

/** The one line a task's log and record get when its spool could no longer be written. */
export function spoolFailureLine(stream: SpoolStream, host: string, reason: string): string {
  const why = REASONS[reason.trim()] ?? (reason.trim() || 'a write failed');
  return `output spool on ${host} failed: ${why} — ${stream} after this point was lost`;
}
