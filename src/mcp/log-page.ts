// Pages of a task's output for the MCP `logs` tool, and the cursors between them.
import { TranscriptRenderer } from '../claude/transcript.js';
import type { LogEntry } from '../logs/log-stream.js';
import type { TaskType } from '../tasks/request.js';

// One answer of the MCP `logs` tool: a task's output as text of bounded size, ending on a whole
// line, with the cursor to read on from. Reading on from each cursor shows every line once.

/** Characters of output one answer carries at most. */
export const PAGE_MAX_CHARS = 16_000;

/** Where a page ends: after entry `id`, or inside it after `offset` characters of its text. */
export interface LogCursor {
  id: string;
  offset?: number;
}

export interface LogPage {
  text: string;
  /** Pass as `since` to read on. */
  cursor: string;
  /** More follows the cursor than this page shows, or earlier lines were left out. */
  truncated: boolean;
}

interface Part {
  id: string;
  text: string;
  /** A note of the reader's (output dropped by the cap): shown, never a cursor. */
  note: boolean;
  /** The entry's own text (not a transcript), and where in it `text` starts: it may be cut inside. */
  raw?: { start: number };
  /**
   * The last place in this part a page may end: after `chars` characters of `text`, read on from
   * `at`. There a line of the output ends (or the log does), and no Claude line is left open:
   * a line split across entries is never cut, as a fresh transcript would show its second half raw.
   */
  stop?: { chars: number; at: LogCursor };
}

/** `1733456789012-0`, or `1733456789012-0+4096` inside that entry. */
export function formatCursor(cursor: LogCursor): string {
  return cursor.offset === undefined ? cursor.id : `${cursor.id}+${cursor.offset}`;
}

/**
 * The page of `entries` — the log after `from` (its first entry resumed at `from.offset` when
 * that is set), or its tail: each rendered (a Claude task's stdout as a transcript), cut after the
 * last whole line and to {@link PAGE_MAX_CHARS}, from the start when reading on (`forward`), from
 * the end for a tail. An entry too long for one page is shown in parts.
 */
export function renderLogPage(
  entries: readonly LogEntry[],
  task: { taskType: TaskType; workdir?: string },
  from: LogCursor,
  forward: boolean,
): LogPage {
  // A page that starts after the init line knows the session's directory from the record.
  const renderer =
    task.taskType === 'claude_code'
      ? new TranscriptRenderer({ cwd: task.workdir?.startsWith('/') ? task.workdir : undefined })
      : undefined;
  // Whether a Claude stdout line is open: begun in an entry before, its end not read yet; and
  // where it begins.
  let open = false;
  let openAt: LogCursor | undefined;
  const parts: Part[] = entries.map((entry, index) => {
    // The reader's note about dropped output carries the id read after (or 0-0).
    const note = entry.id === '0-0' || (index === 0 && entry.id === from.id && from.offset === undefined);
    if (entry.kind === 'end') {
      const end = entry.end;
      const how = `${end.status}${end.exit_code !== null ? `, exit ${end.exit_code}` : ''}${end.signal ? `, ${end.signal}` : ''}`;
      const text = `${renderer?.end() ?? ''}[task ended: ${how}]\n`;
      return { id: entry.id, text, note: false, stop: { chars: text.length, at: { id: entry.id } } };
    }
    const start = index === 0 && entry.id === from.id ? (from.offset ?? 0) : 0;
    const own = entry.text.slice(start);
    // Offsets in cursors are into the entry as stored, of which a tail may show only the end.
    const skip = entry.skip ?? 0;
    // Just after the last line break: read on from there, or after the entry when it ends one.
    const lineEnd = own.lastIndexOf('\n') + 1;
    const at: LogCursor =
      start + lineEnd === entry.text.length ? { id: entry.id } : { id: entry.id, offset: skip + start + lineEnd };
    if (entry.stream === 'stdout' && renderer) {
      // The transcript of the lines this entry ends; the rest of the entry waits for its line's end.
      const text = renderer.push(own);
      if (own !== '') {
        if (lineEnd > 0 || !open) openAt = { id: entry.id, offset: skip + start + lineEnd };
        open = lineEnd < own.length;
      }
      return { id: entry.id, text, note, stop: lineEnd > 0 ? { chars: text.length, at } : undefined };
    }
    const prefix = entry.stream === 'system' ? '[openclaw-agent] ' : '';
    const stop = lineEnd > 0 && !open && !note ? { chars: prefix.length + lineEnd, at } : undefined;
    if (entry.stream === 'system') return { id: entry.id, text: `${prefix}${own}`, note, stop };
    return { id: entry.id, text: own, note, raw: { start: skip + start }, stop };
  });
  return forward ? pageFromStart(parts, from, open) : pageFromEnd(parts, from, open ? openAt : undefined);
}

// Reading on: as many parts as fit, up to the last place a page may end in them; a part that
// alone does not fit is shown up to a line break that fits, and the cursor points inside it.
// `open`: the parts end inside a Claude line.
function pageFromStart(parts: Part[], from: LogCursor, open: boolean): LogPage {
  let text = '';
  // Where the page ends: after `chars` of `text`; `rest` says whether output follows.
  let end: { chars: number; cursor: string; rest: boolean } | undefined;
  for (const part of parts) {
    if (text.length + part.text.length > PAGE_MAX_CHARS) {
      if (end) return { text: text.slice(0, end.chars), cursor: end.cursor, truncated: true };
      return cutPart(text, part);
    }
    if (part.stop) {
      const chars = text.length + part.stop.chars;
      end = { chars, cursor: formatCursor(part.stop.at), rest: part.stop.at.offset !== undefined };
    } else if (end) end.rest = true;
    text += part.text;
  }
  if (end) return { text: text.slice(0, end.chars), cursor: end.cursor, truncated: end.rest };
  // No line ends here: a running task's half-written line is shown as it is, unless it is a
  // Claude line, whose transcript needs the whole line: that waits.
  const last = parts.findLast((p) => !p.note);
  const notes = parts.filter((p) => p.note).map((p) => p.text);
  if (!last) return { text: notes.join(''), cursor: formatCursor(from), truncated: false };
  if (open) return { text: notes.join(''), cursor: formatCursor(from), truncated: true };
  return { text, cursor: formatCursor({ id: last.id }), truncated: false };
}

// The page of `text` and then `part`, which is too long for what room is left.
function cutPart(text: string, part: Part): LogPage {
  const room = PAGE_MAX_CHARS - text.length;
  if (part.raw) {
    const lineEnd = part.text.lastIndexOf('\n', room - 1) + 1;
    const taken = lineEnd > 0 ? lineEnd : room;
    return {
      text: text + part.text.slice(0, taken),
      cursor: formatCursor({ id: part.id, offset: part.raw.start + taken }),
      truncated: true,
    };
  }
  // A transcript chunk this long is rare: shown cut, with a word on where the rest is.
  const note = `\n[openclaw-agent] ${part.text.length - room} more characters of this part of the transcript are not shown here — \`openclaw-agent logs\` has them\n`;
  return {
    text: text + part.text.slice(0, Math.max(0, room - note.length)) + note,
    cursor: formatCursor(part.stop?.at ?? { id: part.id }),
    truncated: true,
  };
}

// A tail: the last characters that fit, from a line's start, up to the last place a page may end
// (where a line ends with no Claude line open); a running task's half-written last line is shown
// on the next page. `openAt`: where a Claude line still being written begins, when one is.
function pageFromEnd(parts: Part[], from: LogCursor, openAt: LogCursor | undefined): LogPage {
  const last = parts.findLastIndex((p) => p.stop !== undefined);
  let whole: string;
  let cursor: string;
  let more: boolean;
  if (last >= 0) {
    const stop = parts[last]!.stop!;
    whole = `${parts
      .slice(0, last)
      .map((p) => p.text)
      .join('')}${parts[last]!.text.slice(0, stop.chars)}`;
    cursor = formatCursor(stop.at);
    more = last < parts.length - 1 || stop.at.offset !== undefined;
  } else if (openAt) {
    // Only a Claude line still being written: nothing to show yet; read on from its start.
    return {
      text: parts.flatMap((p) => (p.note ? [p.text] : [])).join(''),
      cursor: formatCursor(openAt),
      truncated: true,
    };
  } else {
    // No line ends: a running task's half-written line, shown as it is.
    whole = parts.map((p) => p.text).join('');
    cursor = formatCursor(parts.length > 0 ? { id: parts.at(-1)!.id } : from);
    more = false;
  }
  if (whole.length <= PAGE_MAX_CHARS) return { text: whole, cursor, truncated: more };
  const cut = whole.slice(-PAGE_MAX_CHARS);
  const newline = cut.indexOf('\n');
  return { text: newline === -1 ? cut : cut.slice(newline + 1), cursor, truncated: true };
}
