// Task search for the dashboard and the API.
import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { InvalidInputError } from '../errors.js';
import type { TaskKeys } from './keys.js';
import { describePayload, type TaskRequest, type TaskType } from './request.js';
import type { TaskView } from './record.js';
import type { TaskStatus } from './status.js';

// Finding tasks for the dashboard and the API: filters, a text search over name, command or
// prompt and labels (BullMQ has none, so we keep a word index of our own), and cursor pages.

/** What searching needs of a SearchableTasks (structural, so that the client can index at enqueue). */
export interface SearchableTasks {
  readonly redis: RedisClient;
  readonly keys: TaskKeys;
  readonly prefix: string;
  views(ids: string[]): Promise<TaskView[]>;
}

/**
 * Keys of the word index, beside TaskKeys' (`<prefix>:_…` never collides with a queue's keys).
 * One sorted set per word holds the ids of the tasks using it, scored by creation time, so a
 * query is an intersection that is already ordered newest first.
 */
class SearchKeys {
  constructor(private readonly prefix: string) {}

  word(word: string): string {
    return `${this.prefix}:_search:w:${word}`;
  }

  /** Sorted set of every indexed word at score 0, for prefix lookup with ZRANGEBYLEX. */
  words(): string {
    return `${this.prefix}:_search:words`;
  }

  /** The creation time up to which tasks are indexed. */
  mark(): string {
    return `${this.prefix}:_search:mark`;
  }

  scratch(): string {
    return `${this.prefix}:_search:tmp:${randomUUID()}`;
  }
}

const MAX_WORD_LENGTH = 64;
const MAX_WORDS_PER_TASK = 400;
/** How many indexed words a query word may stand for as a prefix (`carg` → cargo, cargo_toml …). */
const MAX_PREFIX_EXPANSION = 200;
/**
 * Tasks created this long before the mark are indexed again on each catch-up: a task's creation
 * time is taken a moment before its id lands in the index, and hosts' clocks differ a little.
 */
const REINDEX_OVERLAP_MS = 10_000;

/** The words a text is found by: lower-cased runs of letters and digits, each once. */
export function searchWords(text: string): string[] {
  const words = new Set<string>();
  for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    words.add(match[0].slice(0, MAX_WORD_LENGTH));
    if (words.size === MAX_WORDS_PER_TASK) break;
  }
  return [...words];
}

// The words of a task: its name, its command or prompt, its labels (never env values).
function taskWords(name: string | null | undefined, summary: string, labels: readonly string[]): string[] {
  return searchWords([name ?? '', summary, ...labels].join(' '));
}

/**
 * The index entries of a new task (written with its record at enqueue, see `recordNewTask`): its
 * id goes into each word's set, scored by its creation time, and each word into the word list.
 */
export function searchIndexEntries(
  prefix: string,
  request: TaskRequest,
): { wordsKey: string; words: string[]; wordKeys: string[] } {
  const keys = new SearchKeys(prefix);
  const words = taskWords(request.name, describePayload(request.payload), request.labels);
  return { wordsKey: keys.words(), words, wordKeys: words.map((word) => keys.word(word)) };
}

/** The word-index keys that hold a task, from what its record says of it. */
export function taskWordKeys(
  prefix: string,
  task: { name?: string | null; summary: string; labels: readonly string[] },
): string[] {
  const keys = new SearchKeys(prefix);
  return taskWords(task.name, task.summary, task.labels).map((word) => keys.word(word));
}

/**
 * Adds tasks created since the last call to the word index. New tasks are indexed at enqueue;
 * this catches up with tasks from before the index existed (it runs before each search, and
 * indexing a task twice changes nothing).
 */
export async function indexNewTasks(client: SearchableTasks): Promise<number> {
  const keys = new SearchKeys(client.prefix);
  const redis = client.redis;
  const mark = Number((await redis.get(keys.mark())) ?? 0);
  let from = Math.max(0, mark - REINDEX_OVERLAP_MS);
  let indexed = 0;
  let newest = mark;
  for (;;) {
    const page = await redis.zrangebyscore(client.keys.byCreated(), from, '+inf', 'WITHSCORES', 'LIMIT', 0, 500);
    if (page.length === 0) break;
    const { ids, scores } = splitScores(page);
    const write = redis.pipeline();
    indexed += await queueWordEntries(redis, client.keys, ids, scores, write);
    newest = Math.max(newest, scores.at(-1)!);
    write.set(keys.mark(), String(newest));
    await write.exec();
    if (ids.length < 500) break;
    // Ties at the page boundary are read again; ZADD of the same member is a no-op.
    from = newest === from ? newest + 1 : newest;
  }
  return indexed;
}

/** The members and scores of a `WITHSCORES` reply. */
export function splitScores(page: readonly string[]): { ids: string[]; scores: number[] } {
  const ids: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i + 1 < page.length; i += 2) {
    ids.push(page[i]!);
    scores.push(Number(page[i + 1]));
  }
  return { ids, scores };
}

// Reads the name, command or prompt and labels of the tasks `ids` and queues their word index
// entries on `write`, each at its score (its creation time); returns how many had a record.
async function queueWordEntries(
  redis: RedisClient,
  keys: TaskKeys,
  ids: readonly string[],
  scores: readonly number[],
  write: ChainableCommander,
): Promise<number> {
  const search = new SearchKeys(keys.prefix);
  const read = redis.pipeline();
  for (const id of ids) read.hmget(keys.record(id), 'name', 'summary', 'labels');
  const fields = (await read.exec()) ?? [];
  let queued = 0;
  ids.forEach((id, index) => {
    const [name, summary, labels] = (fields[index]?.[1] ?? []) as (string | null)[];
    if (summary === null || summary === undefined) return;
    const words = taskWords(name, summary, parseLabels(labels ?? null));
    for (const word of words) write.zadd(search.word(word), scores[index]!, id);
    if (words.length > 0) write.zadd(search.words(), ...words.flatMap((word) => [0, word]));
    queued++;
  });
  return queued;
}

/**
 * Drops the word index's entries of tasks created before `cutoff` (their records have expired),
 * then puts back those of `survivors`: tasks that old whose records still exist (a long task, or
 * one that ended lately), at their creation times. Words left with no task leave the word list.
 */
export async function dropSearchEntriesBefore(
  redis: RedisClient,
  keys: TaskKeys,
  cutoff: number,
  survivors: { ids: readonly string[]; createdAt: readonly number[] },
): Promise<void> {
  const search = new SearchKeys(keys.prefix);
  const words = await redis.zrange(search.words(), 0, -1);
  for (let i = 0; i < words.length; i += 500) {
    const batch = words.slice(i, i + 500);
    const trim = redis.pipeline();
    for (const word of batch) trim.zremrangebyscore(search.word(word), '-inf', `(${cutoff}`);
    for (const word of batch) trim.exists(search.word(word));
    const replies = (await trim.exec()) ?? [];
    const emptied = batch.filter((_, j) => replies[batch.length + j]?.[1] === 0);
    if (emptied.length > 0) await redis.zrem(search.words(), ...emptied);
  }
  if (survivors.ids.length === 0) return;
  const write = redis.pipeline();
  await queueWordEntries(redis, keys, survivors.ids, survivors.createdAt, write);
  await write.exec();
}

function parseLabels(text: string | null): string[] {
  try {
    const value: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export interface TaskQuery {
  status?: TaskStatus;
  executor?: string;
  taskType?: TaskType;
  /** Only tasks carrying this label. */
  label?: string;
  /** Words that must all occur in the name, command or prompt, or labels; each also matches as a prefix. */
  q?: string;
  /** @default 50 */
  limit?: number;
  /** Where the previous page ended (its `nextCursor`). */
  cursor?: string;
  /** Most task ids read for one page; a page may come back short, with a cursor to go on. @default 2000 */
  scanLimit?: number;
}

export interface TaskPage {
  views: TaskView[];
  /** Pass back as `cursor` for the next (older) page; undefined at the end. */
  nextCursor: string | undefined;
}

interface Position {
  score: number;
  id: string;
}

/** Cursors are opaque to callers: the creation time and id of the last task read, base64url. */
function encodeCursor(position: Position): string {
  return Buffer.from(`${position.score}:${position.id}`).toString('base64url');
}

/** The cursor of a page that starts just after (older than) the task `id` created at `createdAt`. */
export function cursorAfterTask(createdAt: number, id: string): string {
  return encodeCursor({ score: createdAt, id });
}

function decodeCursor(cursor: string): Position {
  const text = Buffer.from(cursor, 'base64url').toString();
  const colon = text.indexOf(':');
  const score = Number(text.slice(0, colon));
  const id = text.slice(colon + 1);
  if (colon <= 0 || !Number.isFinite(score) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new InvalidInputError(
      `Expected \`cursor\` to be a cursor returned by a previous page, got \`${cursor.slice(0, 60)}\``,
    );
  }
  return { score, id };
}

/**
 * One page of tasks, newest first, matching every filter given. Reads at most `scanLimit` ids, so
 * a rare filter over thousands of tasks costs bounded time per page and the caller pages on.
 */
export async function searchTasks(client: SearchableTasks, query: TaskQuery = {}): Promise<TaskPage> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidInputError(
      `Expected \`limit\` to be a whole number from 1 to 1000, got \`${String(query.limit)}\``,
    );
  }
  const scanLimit = Math.max(limit, query.scanLimit ?? 2000);
  const words = searchWords(query.q ?? '');
  let source = client.keys.byCreated();
  const scratch: string[] = [];
  const wordKeys: string[] = [];
  try {
    if (words.length > 0) {
      await indexNewTasks(client);
      const matched = await intersectWords(client, words, scratch, wordKeys);
      if (matched === undefined) return { views: [], nextCursor: undefined };
      source = matched;
    }
    return await readPage(client, source, query, limit, scanLimit, wordKeys);
  } finally {
    if (scratch.length > 0) await client.redis.del(...scratch);
  }
}

// The ids having every word (each word standing for the indexed words it prefixes), in a scratch set.
async function intersectWords(
  client: SearchableTasks,
  words: string[],
  scratch: string[],
  wordKeys: string[],
): Promise<string | undefined> {
  const keys = new SearchKeys(client.prefix);
  const redis = client.redis;
  const perWord: string[] = [];
  for (const word of words) {
    const expansions = await redis.zrangebylex(
      keys.words(),
      `[${word}`,
      `[${word}\xff`,
      'LIMIT',
      0,
      MAX_PREFIX_EXPANSION,
    );
    if (expansions.length === 0) return undefined;
    wordKeys.push(...expansions.map((w) => keys.word(w)));
    if (expansions.length === 1) {
      perWord.push(keys.word(expansions[0]!));
      continue;
    }
    const union = keys.scratch();
    scratch.push(union);
    await redis
      .multi()
      .zunionstore(union, expansions.length, ...expansions.map((w) => keys.word(w)), 'AGGREGATE', 'MAX')
      .expire(union, 60)
      .exec();
    perWord.push(union);
  }
  if (perWord.length === 1) return perWord[0]!;
  const result = keys.scratch();
  scratch.push(result);
  await redis
    .multi()
    .zinterstore(result, perWord.length, ...perWord, 'AGGREGATE', 'MAX')
    .expire(result, 60)
    .exec();
  return result;
}

async function readPage(
  client: SearchableTasks,
  source: string,
  query: TaskQuery,
  limit: number,
  scanLimit: number,
  wordKeys: string[],
): Promise<TaskPage> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const views: TaskView[] = [];
  let last: Position | undefined = after;
  let scanned = 0;
  let offset = 0;
  const batch = Math.min(200, Math.max(limit, 50));
  for (;;) {
    const max = last === undefined ? '+inf' : String(last.score);
    const page = await client.redis.zrevrangebyscore(source, max, '-inf', 'WITHSCORES', 'LIMIT', offset, batch);
    const positions: Position[] = [];
    for (let i = 0; i + 1 < page.length; i += 2) positions.push({ id: page[i]!, score: Number(page[i + 1]) });
    // Within one creation time, ids come in descending order: skip those at or before the cursor.
    const fresh = positions.filter((p) => last === undefined || p.score < last.score || p.id < last.id);
    if (fresh.length === 0) {
      if (positions.length < batch) return { views, nextCursor: undefined };
      offset += positions.length;
      continue;
    }
    offset = 0;
    const found = new Map((await client.views(fresh.map((p) => p.id))).map((view) => [view.record.id, view]));
    await dropStale(
      client,
      wordKeys,
      fresh.filter((p) => !found.has(p.id)),
    );
    for (const position of fresh) {
      last = position;
      scanned++;
      const view = found.get(position.id);
      if (view && matches(view, query)) views.push(view);
      if (views.length === limit) return { views, nextCursor: encodeCursor(position) };
      if (scanned >= scanLimit) return { views, nextCursor: encodeCursor(position) };
    }
    if (positions.length < batch) return { views, nextCursor: undefined };
  }
}

// Ids whose record has expired leave the searched word sets (views() already dropped them from the id index).
async function dropStale(client: SearchableTasks, wordKeys: string[], stale: Position[]): Promise<void> {
  if (stale.length === 0 || wordKeys.length === 0) return;
  const ids = stale.map((p) => p.id);
  const pipeline = client.redis.pipeline();
  for (const key of wordKeys) pipeline.zrem(key, ...ids);
  await pipeline.exec();
}

function matches(view: TaskView, query: TaskQuery): boolean {
  const r = view.record;
  if (query.status && view.status !== query.status) return false;
  if (query.executor && r.executor !== query.executor) return false;
  if (query.taskType && r.taskType !== query.taskType) return false;
  if (query.label && !r.labels.includes(query.label)) return false;
  return true;
}
