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
  /** Ends on a line boundary (or is the end marker): a cursor may stop after it. */
  whole: boolean;
  /** A note of the reader's (output dropped by the cap): shown, never a cursor. */
  note: boolean;
  /** The entry's own text (not a transcript), and where in it `text` starts: it may be cut inside. */
  raw?: { start: number };
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
  const parts: Part[] = entries.map((entry, index) => {
    // The reader's note about dropped output carries the id read after (or 0-0).
    const note = entry.id === '0-0' || (index === 0 && entry.id === from.id && from.offset === undefined);
    if (entry.kind === 'end') {
      const end = entry.end;
      const how = `${end.status}${end.exit_code !== null ? `, exit ${end.exit_code}` : ''}${end.signal ? `, ${end.signal}` : ''}`;
      return { id: entry.id, text: `${renderer?.end() ?? ''}[task ended: ${how}]\n`, whole: true, note: false };
    }
    const start = index === 0 && entry.id === from.id ? (from.offset ?? 0) : 0;
    const own = entry.text.slice(start);
    const whole = entry.text.endsWith('\n');
    if (entry.stream === 'system') return { id: entry.id, text: `[openclaw-agent] ${own}`, whole, note };
    if (entry.stream === 'stdout' && renderer) return { id: entry.id, text: renderer.push(own), whole, note };
    return { id: entry.id, text: own, whole, note, raw: { start } };
  });
  // A running task's last line may be half written: it is shown whole on the next page.
  let end = parts.length;
  while (end > 0 && !parts[end - 1]!.whole) end--;
  if (!parts.slice(0, end).some((p) => !p.note)) end = parts.length;
  const shown = parts.slice(0, end);
  return forward ? pageFromStart(shown, from, end < parts.length) : pageFromEnd(shown, from, end < parts.length);
}

// Reading on: as many entries as fit; an entry that alone does not fit is shown up to a line
// break that fits, and the cursor points inside it.
function pageFromStart(parts: Part[], from: LogCursor, more: boolean): LogPage {
  let text = '';
  let cursor: string | undefined;
  for (const part of parts) {
    if (text.length + part.text.length <= PAGE_MAX_CHARS) {
      text += part.text;
      if (!part.note) cursor = formatCursor({ id: part.id });
      continue;
    }
    if (cursor !== undefined) return { text, cursor, truncated: true };
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
      cursor: formatCursor({ id: part.id }),
      truncated: true,
    };
  }
  return { text, cursor: cursor ?? formatCursor(from), truncated: more };
}

// A tail: the last characters that fit, from a line's start.
function pageFromEnd(parts: Part[], from: LogCursor, more: boolean): LogPage {
  const last = parts.at(-1);
  const cursor = last ? formatCursor({ id: last.id }) : formatCursor(from);
  const whole = parts.map((p) => p.text).join('');
  if (whole.length <= PAGE_MAX_CHARS) return { text: whole, cursor, truncated: more };
  const cut = whole.slice(-PAGE_MAX_CHARS);
  const newline = cut.indexOf('\n');
  return { text: newline === -1 ? cut : cut.slice(newline + 1), cursor, truncated: true };
}
