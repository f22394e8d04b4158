import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, type TaskClient } from '../../src/index.js';
import { searchTasks, searchWords, type TaskQuery } from '../../src/tasks/search.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// No worker: every task stays queued, which is all that searching needs.
describe('task search: filters, word index and cursor pages', () => {
  let h: Harness;
  let client: TaskClient;
  const ids: string[] = [];

  const shell = (command: string, extra: { labels?: string[]; name?: string } = {}) =>
    client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command, args: [], env: { SECRET_TOKEN: 'hunter2' }, workingDir: '/tmp' },
      ...extra,
    });

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
    for (let i = 0; i < 12; i++) ids.push((await shell(`echo task-${i}`)).id);
    ids.push((await shell('cargo build --release', { labels: ['rust'] })).id);
    ids.push((await shell('make test', { name: 'Nightly Cargo check' })).id);
    ids.push(
      (
        await client.enqueue({
          executor: 'local',
          payload: { type: 'claude_code', prompt: 'Fix the flaky <script> test in CARGO.toml' },
        })
      ).id,
    );
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function everyPage(query: TaskQuery): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await searchTasks(client, { ...query, cursor });
      pages.push(page.views.map((v) => v.record.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 100);
    return pages;
  }

  it('splits text into lower-cased words', () => {
    expect(searchWords('cargo build --release && make TEST; ünï_code 42')).toEqual([
      'cargo',
      'build',
      'release',
      'make',
      'test',
      'ünï',
      'code',
      '42',
    ]);
  });

  it('pages through every task newest first, each exactly once, also across equal creation times', async () => {
    // Five tasks created in the same millisecond: ties are ordered by id, and no page boundary loses one.
    const score = Number(await client.redis.zscore(client.keys.byCreated(), ids[2]!));
    await client.redis.zadd(client.keys.byCreated(), ...ids.slice(2, 7).flatMap((id) => [score, id]));
    const pages = await everyPage({ limit: 2 });
    const seen = pages.flat();
    expect(new Set(seen).size).toBe(ids.length);
    expect(seen.length).toBe(ids.length);
    const byScore = await client.redis.zrevrange(client.keys.byCreated(), 0, -1);
    expect(seen).toEqual(byScore);
    expect(pages.every((p) => p.length <= 2)).toBe(true);
  });

  it('filters by type, label, executor and status', async () => {
    const claude = await searchTasks(client, { taskType: 'claude_code' });
    expect(claude.views.map((v) => v.record.id)).toEqual([ids[14]]);
    const rust = await searchTasks(client, { label: 'rust' });
    expect(rust.views.map((v) => v.record.id)).toEqual([ids[12]]);
    expect((await searchTasks(client, { executor: 'local', limit: 100 })).views).toHaveLength(ids.length);
    expect((await searchTasks(client, { executor: 'nope' })).views).toHaveLength(0);
    expect((await searchTasks(client, { status: 'queued', limit: 100 })).views).toHaveLength(ids.length);
    expect((await searchTasks(client, { status: 'running' })).views).toHaveLength(0);
  });

  it('finds tasks by words of the command, prompt, name or labels: case-insensitive, as prefixes, all words at once', async () => {
    const found = async (q: string) => (await searchTasks(client, { q, limit: 100 })).views.map((v) => v.record.id);
    // Newest first as the id index orders them (tasks created in the same millisecond by id).
    const byScore = await client.redis.zrevrange(client.keys.byCreated(), 0, -1);
    const newestFirst = (...some: (string | undefined)[]) => byScore.filter((id) => some.includes(id));
    expect(await found('cargo')).toEqual(newestFirst(ids[14], ids[13], ids[12]));
    expect(await found('CARG')).toEqual(newestFirst(ids[14], ids[13], ids[12]));
    expect(await found('cargo release')).toEqual([ids[12]]);
    expect(await found('nightly')).toEqual([ids[13]]);
    expect(await found('rust')).toEqual([ids[12]]);
    expect(await found('script')).toEqual([ids[14]]);
    expect(await found('task 7')).toEqual([ids[7]]);
    expect(await found('nothing-like-this')).toEqual([]);
    // Env values are not searchable.
    expect(await found('hunter2')).toEqual([]);
    expect(await found('cargo rust')).toEqual([ids[12]]);
    expect(
      (await searchTasks(client, { q: 'cargo', taskType: 'shell_command' })).views.map((v) => v.record.id),
    ).toEqual(newestFirst(ids[13], ids[12]));
  });

  it('catches up with tasks the index does not hold yet (enqueued before it existed)', async () => {
    const redis = h.redis();
    const keys = await redis.keys(`${h.prefix}:_search:*`);
    await redis.del(...keys);
    expect((await searchTasks(client, { q: 'nightly' })).views.map((v) => v.record.id)).toEqual([ids[13]]);
    expect((await searchTasks(client, { q: 'task', limit: 100 })).views).toHaveLength(12);
  });

  it('indexes tasks enqueued after a search, and drops forgotten ones from the index', async () => {
    expect((await searchTasks(client, { q: 'zebra' })).views).toHaveLength(0);
    const late = await shell('echo zebra');
    expect((await searchTasks(client, { q: 'zebra' })).views.map((v) => v.record.id)).toEqual([late.id]);
    await client.forget(late.id);
    expect((await searchTasks(client, { q: 'zebra' })).views).toHaveLength(0);
    expect(await client.redis.zscore(`${h.prefix}:_search:w:zebra`, late.id)).toBeNull();
    // Indexed at enqueue: found even when the catch-up mark ran ahead (a host whose clock is fast).
    await client.redis.set(`${h.prefix}:_search:mark`, String(Date.now() + 3_600_000));
    const skewed = await shell('echo platypus');
    expect((await searchTasks(client, { q: 'platypus' })).views.map((v) => v.record.id)).toEqual([skewed.id]);
  });

  it('bounds the ids read for one page: a rare filter comes back short, with a cursor to go on', async () => {
    const first = await searchTasks(client, { taskType: 'claude_code', scanLimit: 3, limit: 1 });
    // limit 1 → at least that many ids are read; the claude task is the newest, so it is found.
    expect(first.views).toHaveLength(1);
    const pages = await everyPage({ label: 'rust', scanLimit: 4, limit: 2 });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat()).toEqual([ids[12]]);
  });

  it('refuses a cursor it did not make', async () => {
    await expect(searchTasks(client, { cursor: 'bogus' })).rejects.toThrow(InvalidInputError);
  });
});
