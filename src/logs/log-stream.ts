// A task's log in a Redis Stream: output appended with its checkpoint and capped, and reading,
// tailing and following it.
import type { RedisClient } from '../redis/connection.js';
import { formatByteSize } from '../config/byte-size.js';
import { CommandFrame, type CommandArg } from '../redis/command-frame.js';
import type { Config } from '../config/config.js';
import { LuaScript } from '../redis/lua-script.js';
import type { TaskKeys } from '../tasks/keys.js';
import { checkpointFields } from '../tasks/record.js';

const TAG_OF: Record<OutputStream, string> = { stdout: 'o', stderr: 'e', system: 's' };
const STREAM_OF: Record<string, OutputStream> = { o: 'stdout', e: 'stderr', s: 'system' };
/** The tag of the end marker entry (`t` = tag, `d` = data in every entry). */
export const END_TAG = 'x';

/** Which of the task's outputs a chunk came from; `system` is our own notes. */
export type OutputStream = 'stdout' | 'stderr' | 'system';

export interface OutputChunk {
  stream: OutputStream;
  /** Text, or UTF-8 bytes that end on a character boundary (shipped without decoding). */
  text: string | Buffer;
}

/** The final entry of every task log; followers stop at it. */
export interface EndMarker {
  status: string;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
}

export type LogEntry =
  | {
      id: string;
      kind: 'output';
      stream: OutputStream;
      text: string;
      /** Characters of the stored entry left out before `text` (a tail that starts inside it). */
      skip?: number;
    }
  | { id: string; kind: 'end'; end: EndMarker };

/**
 * Adds the chunks and moves the checkpoint in one step, but only if the checkpoint still holds the
 * values this writer last wrote: a second worker following the same task (the first one lost its
 * lock) is refused instead of shipping the same bytes twice, and so is any writer once the task
 * has ended (returns 2): nothing follows the end marker.
 * Then keeps the log within its caps: past `max_bytes` of output (or `max_entries` entries) the
 * oldest entries go, down to 90 % of the cap so that trimming is rare, never the newest entry nor
 * the end marker. The record counts the log's bytes (`log_bytes`), the bytes dropped
 * (`log_dropped`) and the first entry kept (`log_kept_from`), which readers turn into a note.
 * ARGV: max entries, number of checkpoint fields, number of chunks, updated_at, max bytes, then
 * (field, expected, new) per checkpoint field, then (tag, data) per chunk.
 */
export const APPEND_SCRIPT = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then return 2 end
local n, m = tonumber(ARGV[2]), tonumber(ARGV[3])
local i = 6
for _ = 1, n do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '0') ~= ARGV[i + 1] then return 0 end
  i = i + 3
end
i = 6
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  i = i + 3
end
if n > 0 then redis.call('HSET', KEYS[1], 'updated_at', ARGV[4]) end
local added, newest = 0, nil
for _ = 1, m do
  newest = redis.call('XADD', KEYS[2], '*', 't', ARGV[i], 'd', ARGV[i + 1])
  added = added + #ARGV[i + 1]
  i = i + 2
end
if m == 0 then return 1 end
local bytes = redis.call('HINCRBY', KEYS[1], 'log_bytes', added)
local len = redis.call('XLEN', KEYS[2])
local maxEntries, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[5])
if bytes <= maxBytes and len <= maxEntries then return 1 end
local targetBytes, targetLen = math.floor(maxBytes * 0.9), math.floor(maxEntries * 0.9)
local dropped, keep, start, count = 0, nil, '-', 2
while not keep do
  -- Few entries at first: big entries are copied into the script whole.
  local page = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', count)
  count = math.min(count * 2, 128)
  if #page == 0 then keep = newest end
  for _, entry in ipairs(page) do
    local fields = entry[2]
    if (bytes <= targetBytes and len <= targetLen) or entry[1] == newest or fields[2] == '${END_TAG}' then
      keep = entry[1]
      break
    end
    local size = #(fields[4] or '')
    bytes, dropped, len = bytes - size, dropped + size, len - 1
  end
  if not keep then start = '(' .. page[#page][1] end
end
redis.call('XTRIM', KEYS[2], 'MINID', keep)
redis.call('HSET', KEYS[1], 'log_bytes', bytes, 'log_kept_from', keep)
redis.call('HINCRBY', KEYS[1], 'log_dropped', dropped)
return 1
`);

/** How much of a task's output its log keeps (the config's `logs` section). */
export interface LogCaps {
  maxEntries: number;
  maxBytes: number;
}

/** The caps the config sets. */
export function logCapsOf(config: Pick<Config, 'logs'>): LogCaps {
  return { maxEntries: config.logs.max_entries, maxBytes: config.logs.max_bytes };
}

/** Thrown when another worker has taken over the task's output (see APPEND_SCRIPT). */
export class OwnershipLostError extends Error {
  constructor(taskId: string) {
    super(`another worker now follows task ${taskId}; this one stops shipping its output`);
    this.name = 'OwnershipLostError';
  }
}

/** Thrown when the task has ended meanwhile (another worker ended it): whatever still runs is an orphan. */
export class TaskEndedError extends OwnershipLostError {
  constructor(taskId: string) {
    super(taskId);
    this.message = `task ${taskId} has already ended (recorded by another worker); this one stops shipping its output`;
    this.name = 'TaskEndedError';
  }
}

/**
 * Appends a task's output to its Redis Stream. Each `append` adds the chunks and moves the
 * checkpoint atomically, so a worker that dies between two appends leaves a checkpoint that
 * matches the stream exactly: the next worker resumes with no gap and no duplicate. Callers keep
 * at most one append in flight while they read more output, which is the back-pressure.
 */
export class LogWriter {
  private readonly expected: Record<string, string>;
  /** Two, used in turn: with one append in flight the next is framed in the other. */
  private readonly frames = [new CommandFrame(), new CommandFrame()] as const;
  private sent = 0;
  /** Whether the last append was sent a second time, and so may have run after the one after it. */
  private lastResent: Promise<boolean> = Promise.resolve(false);
  /** Called with each batch once it is in the stream (the Claude progress tracker reads it). */
  onAppended: ((chunks: readonly OutputChunk[]) => void) | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskKeys,
    private readonly taskId: string,
    private readonly caps: LogCaps,
    /** The checkpoint as this writer found it (the record's `c:` fields). @default {} */
    initialCheckpoint: Record<string, string> = {},
  ) {
    this.expected = { ...initialCheckpoint };
  }

  async append(chunks: readonly OutputChunk[], checkpoint?: Record<string, string>): Promise<void> {
    const parts = chunks.filter((chunk) => chunk.text.length > 0);
    const fields = Object.entries(checkpointFields(checkpoint ?? {}));
    if (parts.length === 0 && fields.length === 0) return;
    const args: CommandArg[] = [
      this.caps.maxEntries,
      fields.length,
      parts.length,
      String(Date.now()),
      this.caps.maxBytes,
    ];
    for (const [field, value] of fields) args.push(field, this.expected[field.slice(2)] ?? '0', value);
    for (const chunk of parts) args.push(TAG_OF[chunk.stream], chunk.text);
    // The next append may be sent before this one is answered (Redis runs them in order): it
    // expects what this one sets. Should this one fail, so does the next, and the writer is done.
    Object.assign(this.expected, checkpoint);
    const sending = this.send(args, this.sent++ % 2 === 0 ? this.frames[0] : this.frames[1], this.lastResent);
    this.lastResent = sending.then(
      (sent) => sent.resent,
      () => false,
    );
    const { applied } = await sending;
    if (applied === 2) throw new TaskEndedError(this.taskId);
    if (applied !== 1) throw new OwnershipLostError(this.taskId);
    this.onAppended?.(parts);
  }

  // A refusal just after an append that was sent a second time (its script was not loaded: Redis
  // restarted) may only mean that this one ran first, against the checkpoint before it: once
  // that one has run, this one is sent again. A real refusal refuses again.
  private async send(
    args: CommandArg[],
    frame: CommandFrame,
    previousResent: Promise<boolean>,
  ): Promise<{ applied: unknown; resent: boolean }> {
    const keys = [this.keys.record(this.taskId), this.keys.log(this.taskId)];
    const first = await APPEND_SCRIPT.runReporting(this.redis, keys, args, frame);
    if (first.result !== 0 || !(await previousResent)) return { applied: first.result, resent: first.resent };
    const again = await APPEND_SCRIPT.runReporting(this.redis, keys, args, frame);
    return { applied: again.result, resent: true };
  }
}

function parseEntry(id: string, fields: string[]): LogEntry | undefined {
  let tag: string | undefined;
  let data = '';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 't') tag = fields[i + 1];
    else if (fields[i] === 'd') data = fields[i + 1] ?? '';
  }
  if (tag === END_TAG) {
    try {
      return { id, kind: 'end', end: JSON.parse(data) as EndMarker };
    } catch {
      return { id, kind: 'end', end: { status: 'unknown', exit_code: null, signal: null, error: null } };
    }
  }
  const stream = tag === undefined ? undefined : STREAM_OF[tag];
  return stream ? { id, kind: 'output', stream, text: data } : undefined;
}

function parseEntries(raw: [string, string[]][]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const [id, fields] of raw) {
    const entry = parseEntry(id, fields);
    if (entry) out.push(entry);
  }
  return out;
}

/**
 * A line of ours into a log whose task has not ended: nothing follows the end marker (as in
 * APPEND_SCRIPT). KEYS: record, log; ARGV: max entries, the line. Returns 0 once the task has ended.
 */
const SYSTEM_LINE_SCRIPT = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 't', 's', 'd', ARGV[2])
return 1
`);

/**
 * Appends one line of ours (the `system` stream) to a task's log, which keeps `maxEntries`
 * entries; nothing once the task has ended (a worker of another host may have ended it meanwhile).
 */
export async function appendSystemLine(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  line: string,
  maxEntries: number,
): Promise<void> {
  await SYSTEM_LINE_SCRIPT.run(redis, [keys.record(taskId), keys.log(taskId)], [String(maxEntries), `${line}\n`]);
}

/** One entry of a task's log by its id; undefined when it is not (or no longer) there. */
export async function readLogEntry(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  id: string,
): Promise<LogEntry | undefined> {
  return parseEntries(await redis.xrange(keys.log(taskId), id, id))[0];
}

/** Where a task's log was trimmed (see APPEND_SCRIPT): entries before `keptFrom` are gone. */
interface LogTrim {
  keptFrom: string;
  droppedBytes: number;
}

async function readTrim(redis: RedisClient, keys: TaskKeys, taskId: string): Promise<LogTrim | undefined> {
  const [keptFrom, dropped] = await redis.hmget(keys.record(taskId), 'log_kept_from', 'log_dropped');
  const droppedBytes = Number(dropped);
  return keptFrom && droppedBytes > 0 ? { keptFrom, droppedBytes } : undefined;
}

// Whether stream entry id `a` (`ms-seq`, or `0`/`-` for the start) comes before `b`.
function isBeforeId(a: string, b: string): boolean {
  if (a === '-' || a === '0') return true;
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}

/** An amount of dropped output as the notes say it: `1008.01 MiB`, `512 bytes`. */
export function formatDroppedBytes(bytes: number): string {
  const size = formatByteSize(bytes);
  return size.endsWith('b') ? `${bytes} bytes` : `${size.slice(0, -1)} ${size.slice(-1).toUpperCase()}iB`;
}

// The note a reader gets in place of output the log's cap dropped.
function trimNote(id: string, droppedBytes: number): LogEntry {
  const text = `${formatDroppedBytes(droppedBytes)} of earlier output was dropped here: a task's log keeps only its newest output (logs.max_bytes)\n`;
  return { id, kind: 'output', stream: 'system', text };
}

/**
 * The entries of a task's log after `afterId`, oldest first — every one, or the first `limit` —
 * with a note first where the cap dropped some.
 */
export async function readLog(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  afterId = '-',
  limit = Infinity,
): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  const trim = await readTrim(redis, keys, taskId);
  if (trim && isBeforeId(afterId, trim.keptFrom))
    out.push(trimNote(afterId === '-' ? '0-0' : afterId, trim.droppedBytes));
  let start = afterId === '-' ? '-' : `(${afterId}`;
  for (let left = limit; left > 0;) {
    const count = Math.min(1000, left);
    const page = (await redis.xrange(keys.log(taskId), start, '+', 'COUNT', count)) as [string, string[]][];
    out.push(...parseEntries(page));
    const last = page.at(-1);
    if (page.length < count || !last) break;
    start = `(${last[0]}`;
    left -= page.length;
  }
  return out;
}

/**
 * The entries holding the last `lines` lines of output (stdout and stderr together), oldest first,
 * with the first one cut to start at a line boundary. The end marker, if any, comes last.
 * `lastId` is the newest entry id read (follow from there), `0` for an empty log.
 */
export async function readLogTail(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  lines: number,
): Promise<{ entries: LogEntry[]; lastId: string }> {
  const collected: LogEntry[] = [];
  let newlines = 0;
  let end = '+';
  for (;;) {
    const page = (await redis.xrevrange(keys.log(taskId), end, '-', 'COUNT', 200)) as [string, string[]][];
    for (const entry of parseEntries(page)) {
      collected.push(entry);
      if (entry.kind === 'output') newlines += countNewlines(entry.text);
      if (newlines > lines) return tailOf(collected, lines);
    }
    const last = page.at(-1);
    if (page.length < 200 || !last) break;
    end = `(${last[0]}`;
  }
  // The whole log is fewer lines than asked for: say if its start was dropped.
  const trim = await readTrim(redis, keys, taskId);
  if (trim) collected.push(trimNote('0-0', trim.droppedBytes));
  return tailOf(collected, lines);
}

// `collected` is newest first.
function tailOf(collected: LogEntry[], lines: number): { entries: LogEntry[]; lastId: string } {
  const lastId = collected[0]?.id ?? '0';
  collected.reverse();
  return { entries: trimToLastLines(collected, lines), lastId };
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

// Drops leading text so that exactly the last `lines` lines remain (a final unterminated line counts).
function trimToLastLines(entries: LogEntry[], lines: number): LogEntry[] {
  const outputs = entries.filter((e): e is Extract<LogEntry, { kind: 'output' }> => e.kind === 'output');
  const total = outputs.reduce((n, e) => n + countNewlines(e.text), 0);
  const lastText = outputs.at(-1)?.text ?? '';
  const totalLines = total + (lastText !== '' && !lastText.endsWith('\n') ? 1 : 0);
  let drop = Math.max(0, totalLines - lines);
  const out: LogEntry[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'output' || drop === 0) {
      out.push(entry);
      continue;
    }
    let cut = 0;
    while (drop > 0) {
      const next = entry.text.indexOf('\n', cut);
      if (next === -1) {
        cut = entry.text.length;
        break;
      }
      cut = next + 1;
      drop--;
    }
    if (cut < entry.text.length) out.push({ ...entry, text: entry.text.slice(cut), skip: (entry.skip ?? 0) + cut });
  }
  return out;
}

export interface FollowOptions {
  /** Start after this entry id; `0` reads from the beginning. @default '0' */
  afterId?: string;
  signal?: AbortSignal;
  /** Called when a block times out, to learn whether the task ended without a marker (expired log). */
  isEnded?: () => Promise<boolean>;
  /** How long one XREAD blocks. @default 1000 */
  blockMs?: number;
}

/**
 * Follows a task's log until its end marker, calling `onEntry` for each entry in order. Needs a
 * connection of its own (XREAD BLOCK holds it). Returns the end marker, or undefined when aborted
 * or when the task ended without one.
 */
export async function followLog(
  redis: RedisClient,
  keys: TaskKeys,
  taskId: string,
  onEntry: (entry: LogEntry) => void,
  options: FollowOptions = {},
): Promise<EndMarker | undefined> {
  let after = options.afterId ?? '0';
  const blockMs = options.blockMs ?? 1000;
  // The follower starts behind, or has fallen behind (a full page): output may have been dropped.
  let behind = true;
  let notedBytes = 0;
  while (!options.signal?.aborted) {
    if (behind) {
      const trim = await readTrim(redis, keys, taskId);
      if (trim && trim.droppedBytes > notedBytes && isBeforeId(after, trim.keptFrom)) {
        onEntry(trimNote(after, trim.droppedBytes - notedBytes));
        notedBytes = trim.droppedBytes;
      }
    }
    const reply = await redis.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', keys.log(taskId), after);
    const page = reply?.[0]?.[1] ?? [];
    behind = page.length === 1000;
    for (const entry of parseEntries(page)) {
      if (entry.kind === 'end') return entry.end;
      onEntry(entry);
    }
    const last = page.at(-1);
    if (last) after = last[0];
    else if (options.isEnded && (await options.isEnded())) {
      // The task may have ended, its last output and end marker written, between the block's
      // timeout and the look at its record: read what came meanwhile before giving up on a marker.
      for (;;) {
        const rest = (await redis.xread('COUNT', 1000, 'STREAMS', keys.log(taskId), after))?.[0]?.[1] ?? [];
        for (const entry of parseEntries(rest)) {
          if (entry.kind === 'end') return entry.end;
          onEntry(entry);
        }
        if (rest.length < 1000) return undefined;
        after = rest.at(-1)![0];
      }
    }
  }
  return undefined;
}
