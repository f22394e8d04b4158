// Server-sent events (text/event-stream) read from a fetch body, and a task's log entries in them.
import type { EndMarker, LogEntry } from '../logs/log-stream.js';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into events (CR, LF and CRLF line ends, comments skipped). */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end of the buffer may be the first half of a CRLF.
        if (!match || (match[0] === '\r' && match.index === buffer.length - 1 && !done)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (done) return;
    }
  } finally {
    // A consumer that stops early closes the connection too (a follow can last as long as its task).
    await reader.cancel().catch(() => {});
  }
}

export function toLogEntry(event: SseEvent): LogEntry | undefined {
  if (event.id === undefined) return undefined;
  if (event.event === 'end') return { id: event.id, kind: 'end', end: JSON.parse(event.data) as EndMarker };
  if (event.event !== 'stdout' && event.event !== 'stderr' && event.event !== 'system') return undefined;
  return { id: event.id, kind: 'output', stream: event.event, text: JSON.parse(event.data) as string };
}
