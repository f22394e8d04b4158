// A task's log for the dashboard and the API: a resumable SSE stream, or its last lines as text.
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TranscriptRenderer } from '../src/claude/transcript.js';
import { followerConnection } from '../src/redis/connection.js';
import { readLog, readLogEntry, readLogTail, type EndMarker, type LogEntry } from '../src/logs/log-stream.js';
import type { TaskClient } from '../src/tasks/client.js';
import type { TaskView } from '../src/tasks/record.js';
import { isEndedStatus } from '../src/tasks/status.js';
import { HttpError } from './http-errors.js';
import { SECURITY_HEADERS } from './panel-page.js';

// A task's log over HTTP: Server-Sent Events whose ids are the Redis Stream entry ids, so a
// client that reconnects with Last-Event-ID (EventSource does so by itself) resumes right after
// the last entry it saw: no gap, no duplicate. `event:` is stdout, stderr, system or end; `data:`
// is the chunk as a JSON string (SSE itself would read a `\r` in the text as a line break).

const STREAM_ID = /^\d+-\d+$/;
const HEARTBEAT_MS = 15_000;
const BLOCK_MS = 1000;

/** Orders Redis Stream ids (`ms-seq`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** Where to resume: the Last-Event-ID header, else `?after=`, else the beginning. */
export function resumePoint(request: FastifyRequest, after: string | undefined): string {
  const header = request.headers['last-event-id'];
  const given = (typeof header === 'string' && header !== '' ? header : after) ?? '0';
  if (given !== '0' && !STREAM_ID.test(given)) {
    throw new HttpError(
      400,
      `Expected Last-Event-ID to be a log entry id like 1700000000000-0, got \`${given.slice(0, 40)}\``,
    );
  }
  return given;
}

/** `?tail=N`: the last N lines as plain text (our own notes marked as such). */
export async function sendLogTail(
  client: TaskClient,
  view: TaskView,
  lines: number,
  transcript: boolean,
  reply: FastifyReply,
): Promise<string> {
  const { entries } = await readLogTail(client.redis, client.keys, view.record.id, lines);
  void reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store');
  return logText(entries, transcript && view.record.taskType === 'claude_code');
}

/**
 * The whole log as a text file to save (`attachment`): every output entry in order, our own notes
 * marked as such. The log's size is bounded by the `logs` caps, so it is read at once.
 */
export async function sendLogFile(client: TaskClient, view: TaskView, reply: FastifyReply): Promise<string> {
  const entries = await readLog(client.redis, client.keys, view.record.id);
  void reply
    .type('text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-disposition', `attachment; filename="task-${view.record.id.slice(0, 8)}.log"`);
  return logText(entries, false);
}

// The output entries as text; a Claude task's stdout as a transcript when `transcript`.
function logText(entries: readonly LogEntry[], transcript: boolean): string {
  const renderer = transcript ? new TranscriptRenderer() : undefined;
  let text = '';
  for (const entry of entries) {
    if (entry.kind !== 'output') continue;
    if (entry.stream === 'system') text += `[openclaw-agent] ${entry.text}`;
    else if (renderer && entry.stream === 'stdout') text += renderer.push(entry.text);
    else text += entry.text;
  }
  if (renderer) text += renderer.end();
  return text;
}

interface StreamOptions {
  afterId: string;
  /** A Claude task's stdout rendered as a transcript. */
  transcript: boolean;
}

/**
 * Streams the log from `afterId` until the end marker, then closes. In transcript mode the log is
 * replayed from its start into the renderer (silently up to `afterId`), so a resumed transcript
 * is exactly the one an uninterrupted client saw.
 */
export async function streamLog(
  client: TaskClient,
  view: TaskView,
  request: FastifyRequest,
  reply: FastifyReply,
  options: StreamOptions,
): Promise<void> {
  const taskId = view.record.id;
  const renderer = options.transcript && view.record.taskType === 'claude_code' ? new TranscriptRenderer() : undefined;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const closed = new AbortController();
  raw.on('close', () => closed.abort());
  const blocking = followerConnection(client.redis);
  blocking.on('error', () => {});
  closed.signal.addEventListener('abort', () => blocking.disconnect());
  const heartbeat = setInterval(() => void write(raw, ': keep-alive\n\n'), HEARTBEAT_MS);

  // `heard`: the client resumed after this end (EventSource reconnects after it unless it closes):
  // it gets the end alone, as the transcript's last words went out with it the first time.
  const emitEnd = async (id: string, end: EndMarker, heard: boolean) => {
    if (renderer && !heard) await send(raw, id, 'stdout', JSON.stringify(renderer.end()));
    await send(raw, id, 'end', JSON.stringify(end));
  };
  const emit = async (entry: LogEntry) => {
    if (entry.kind === 'end') return emitEnd(entry.id, entry.end, compareStreamIds(entry.id, options.afterId) <= 0);
    const text = renderer && entry.stream === 'stdout' ? renderer.push(entry.text) : entry.text;
    // Replayed entries only feed the renderer; an entry that completes no line is still sent (empty)
    // so that its id moves the client's resume point.
    if (compareStreamIds(entry.id, options.afterId) <= 0) return;
    await send(raw, entry.id, entry.stream, JSON.stringify(text));
  };

  try {
    await write(raw, 'retry: 1000\n\n');
    let after = renderer ? '-' : options.afterId === '0' ? '-' : options.afterId;
    const key = client.keys.log(taskId);
    // The first read is after the client's own id, which may be the end marker's, or past it.
    let first = true;
    // Set once the task's record says it ended: the next read that finds nothing more ends the stream.
    let recorded: EndMarker | undefined;
    while (!closed.signal.aborted) {
      const entries = await readLog(client.redis, client.keys, taskId, after);
      const resumed = first;
      first = false;
      // readLog puts its note on dropped output first, with the id it read after (0-0 for the start).
      const note = entries[0]?.id === (after === '-' ? '0-0' : after) ? entries.shift() : undefined;
      // The note stands for the entries dropped before the next one: news to a client that had not
      // read that far (a transcript replays from the start, past notes its client has seen).
      if (note?.kind === 'output' && entries[0] && compareStreamIds(entries[0].id, options.afterId) > 0)
        await send(raw, note.id, note.stream, JSON.stringify(note.text));
      for (const entry of entries) {
        if (closed.signal.aborted) return;
        await emit(entry);
        after = entry.id;
        if (entry.kind === 'end') return;
      }
      if (entries.length > 0) continue;
      if (resumed && after !== '-') {
        // A client that resumed after the end marker (or past it) hears it again.
        const end = await readEndAtOrBefore(client, taskId, after);
        if (end) {
          await emit(end);
          return;
        }
      }
      if (recorded) {
        // The log expired (or the task was cleaned up, or ended with no marker written) without an
        // end marker left to read.
        await emitEnd(after === '-' ? '0-1' : after, recorded, false);
        return;
      }
      // Nothing new: wait on XREAD for the next entry, then read it (and what came with it) above.
      const woke = await blocking
        .xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', key, after === '-' ? '0' : after)
        .catch(() => null);
      if (woke || closed.signal.aborted) continue;
      // The record says it ended: one more read takes what came meanwhile, then the stream ends.
      // (It ends with a marker in the same step, so this is for a log that expired or never got one.)
      const current = (await client.views([taskId]))[0];
      if (!current || isEndedStatus(current.status))
        recorded = {
          status: current?.status ?? 'lost',
          exit_code: current?.record.exitCode ?? null,
          signal: current?.record.signal ?? null,
          error: current?.record.error ?? null,
        };
    }
  } catch (error) {
    if (!closed.signal.aborted)
      await write(
        raw,
        `event: error\ndata: ${JSON.stringify(String(error instanceof Error ? error.message : error))}\n\n`,
      );
  } finally {
    clearInterval(heartbeat);
    blocking.disconnect();
    raw.end();
  }
}

// The log's end marker when it is its last entry and comes no later than `id`.
async function readEndAtOrBefore(client: TaskClient, taskId: string, id: string): Promise<LogEntry | undefined> {
  const [last] = await client.redis.xrevrange(client.keys.log(taskId), '+', '-', 'COUNT', 1);
  if (!last || compareStreamIds(last[0], id) > 0) return undefined;
  const entry = await readLogEntry(client.redis, client.keys, taskId, last[0]);
  return entry?.kind === 'end' ? entry : undefined;
}

function send(raw: ServerResponse, id: string, event: string, data: string): Promise<void> {
  return write(raw, `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
}

// Waits for the socket to drain when it is full: a slow client slows the reader, not our memory.
function write(raw: ServerResponse, text: string): Promise<void> {
  if (raw.destroyed || raw.writableEnded) return Promise.resolve();
  if (raw.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.once('drain', done);
    raw.once('close', done);
  });
}
