import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { finishTask, LogWriter, readServerSentEvents, type OutputChunk, type TaskClient } from '../../src/index.js';
import type { SseEvent } from '../../src/api/sse.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const TOKEN = `token-${randomUUID()}`;
const DROPPED_NOTE = /^[\d.]+ (bytes|KiB) of earlier output was dropped here: /;

// A task's log as SSE (bull-board/log-events.ts) over real HTTP. The logs are written into Redis by
// the worker's own LogWriter and finishTask, with no worker running: each test says exactly which
// entries its log holds and whether (and how) the cap trimmed it.
describe('the SSE log stream of a task', () => {
  let h: Harness;
  let client: TaskClient;
  let dashboard: RunningDashboard;

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
    dashboard = await startDashboard({ config: h.config(), port: 0, token: TOKEN, home: h.home });
  });
  afterAll(async () => {
    await dashboard?.close();
    await h?.cleanup();
  });

  /** A queued task whose log holds `chunks`, one entry each (trimmed to `caps`), then ended when `ended`. */
  async function taskWithLog(
    type: 'shell_command' | 'claude_code',
    chunks: OutputChunk[],
    options: { ended?: boolean; caps?: { maxEntries: number; maxBytes: number } } = {},
  ): Promise<{ id: string; ids: string[] }> {
    const payload =
      type === 'claude_code'
        ? { type, prompt: 'Write the docs', workspace: h.dir }
        : { type, command: 'true', args: [], env: {}, workingDir: h.dir };
    const { id } = await client.enqueue({ executor: 'local', payload });
    const writer = new LogWriter(
      client.redis,
      client.keys,
      id,
      options.caps ?? { maxEntries: 1000, maxBytes: 1 << 20 },
    );
    const ids: string[] = [];
    for (const chunk of chunks) {
      await writer.append([chunk]);
      const [newest] = await client.redis.xrevrange(client.keys.log(id), '+', '-', 'COUNT', 1);
      ids.push(newest![0]);
    }
    if (options.ended ?? true) {
      const end = { outcome: 'completed' as const, exitCode: 0, signal: null, finishedAt: Date.now() };
      await finishTask(client.redis, client.keys, id, end, { retentionMs: 3_600_000, maxLogEntries: 1000 });
      const [last] = await client.redis.xrevrange(client.keys.log(id), '+', '-', 'COUNT', 1);
      ids.push(last![0]);
    }
    return { id, ids };
  }

  /**
   * Every event of one GET of the log, read until the server closes the stream. The deadline only
   * stops a stream that never closes (the failure under test), it measures nothing.
   */
  async function readStream(id: string, options: { lastEventId?: string; query?: string } = {}): Promise<SseEvent[]> {
    const response = await fetch(`${dashboard.url}/api/tasks/${id}/logs${options.query ?? ''}`, {
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
      },
      signal: AbortSignal.timeout(20_000),
    });
    expect(response.status).toBe(200);
    const events: SseEvent[] = [];
    try {
      for await (const event of readServerSentEvents(response.body!)) events.push(event);
    } catch (error) {
      throw new Error(
        `the stream after ${options.lastEventId ?? 'the start'} never closed; it sent ${JSON.stringify(events)} (${String(error)})`,
      );
    }
    return events;
  }

  const texts = (events: SseEvent[]) =>
    events.map((e) => [e.event, e.event === 'end' ? e.data : (JSON.parse(e.data) as string)]);

  it("sends an ended task's end again to a client that resumes after it, and closes, as often as it comes back", async () => {
    const { id, ids } = await taskWithLog('shell_command', [
      { stream: 'stdout', text: 'one\n' },
      { stream: 'stdout', text: 'two\n' },
    ]);
    const endId = ids.at(-1)!;
    const whole = await readStream(id);
    expect(whole.map((e) => [e.id, e.event])).toEqual([
      [ids[0], 'stdout'],
      [ids[1], 'stdout'],
      [endId, 'end'],
    ]);
    // An EventSource that does not close() on `end` reconnects with the end's id, again and again.
    for (let reconnect = 0; reconnect < 3; reconnect++) {
      const again = await readStream(id, { lastEventId: endId });
      expect(again.map((e) => [e.id, e.event, e.data])).toEqual([[endId, 'end', whole.at(-1)!.data]]);
      expect(JSON.parse(again[0]!.data)).toEqual({ status: 'completed', exit_code: 0, signal: null, error: null });
    }
    // `?after=` resumes the same way.
    expect((await readStream(id, { query: `?after=${endId}` })).map((e) => e.event)).toEqual(['end']);
  });

  it("resumes a Claude task's transcript after its end with the end alone, repeating none of the text", async () => {
    // The last line has no line break: the transcript shows it when the end comes, once.
    const { id, ids } = await taskWithLog('claude_code', [
      { stream: 'stdout', text: 'plain words\n' },
      { stream: 'stdout', text: 'a last line with no line break' },
    ]);
    const endId = ids.at(-1)!;
    const whole = await readStream(id, { query: '?view=transcript' });
    expect(texts(whole).filter(([event]) => event === 'stdout')).toEqual([
      ['stdout', 'plain words\n'],
      ['stdout', ''],
      ['stdout', 'a last line with no line break\n'],
    ]);
    const again = await readStream(id, { query: '?view=transcript', lastEventId: endId });
    expect(again.map((e) => [e.id, e.event])).toEqual([[endId, 'end']]);
  });

  it('ends the stream of a task whose record says it ended though its log holds no end marker', async () => {
    const { id, ids } = await taskWithLog('shell_command', [{ stream: 'stdout', text: 'one\n' }], { ended: false });
    // Its job gone from the queue with no outcome written: the task reads as lost.
    expect(await client.queue('local').remove(id)).toBe(1);
    expect((await client.get(id)).status).toBe('lost');
    for (const lastEventId of [undefined, ids[0]]) {
      const events = await readStream(id, { lastEventId });
      expect(events.map((e) => e.event).at(-1), `after ${lastEventId}`).toBe('end');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: 'lost' });
    }
  });

  it('shows the note about output the cap dropped to a reader from the start, and to one resuming from a dropped entry', async () => {
    const chunks = Array.from({ length: 30 }, (_, i) => ({
      stream: 'stdout' as const,
      text: `line ${String(i).padStart(2, '0')} ${'.'.repeat(90)}\n`,
    }));
    const { id, ids } = await taskWithLog('shell_command', chunks, { caps: { maxEntries: 1000, maxBytes: 1000 } });
    const kept = (await client.redis.xrange(client.keys.log(id), '-', '+')).map(([entryId]) => entryId);
    const firstKept = ids.indexOf(kept[0]!);
    expect(firstKept).toBeGreaterThan(1);

    for (const lastEventId of [undefined, ids[0], ids[firstKept - 1]]) {
      const events = await readStream(id, { lastEventId });
      expect(events[0]!.event, `after ${lastEventId}`).toBe('system');
      expect(JSON.parse(events[0]!.data)).toMatch(DROPPED_NOTE);
      expect(events.slice(1).map((e) => e.id)).toEqual(kept);
      expect(texts(events.slice(1, -1))).toEqual(chunks.slice(firstKept).map((c) => ['stdout', c.text]));
    }
    // A reader that had read into the kept entries missed nothing: no note.
    const resumed = await readStream(id, { lastEventId: kept[0] });
    expect(resumed.map((e) => e.id)).toEqual(kept.slice(1));
  });

  it("shows the note about dropped output in a Claude task's transcript, only to a reader who missed output", async () => {
    const chunks = Array.from({ length: 30 }, (_, i) => ({
      stream: 'stdout' as const,
      text: `line ${String(i).padStart(2, '0')} ${'.'.repeat(90)}\n`,
    }));
    const { id, ids } = await taskWithLog('claude_code', chunks, { caps: { maxEntries: 1000, maxBytes: 1000 } });
    const kept = (await client.redis.xrange(client.keys.log(id), '-', '+')).map(([entryId]) => entryId);
    const firstKept = ids.indexOf(kept[0]!);
    expect(firstKept).toBeGreaterThan(1);
    const keptText = chunks.slice(firstKept).map((c) => c.text);

    for (const lastEventId of [undefined, ids[firstKept - 1]]) {
      const events = await readStream(id, { query: '?view=transcript', lastEventId });
      expect(events[0]!.event, `after ${lastEventId}`).toBe('system');
      expect(JSON.parse(events[0]!.data)).toMatch(DROPPED_NOTE);
      const output = events.filter((e) => e.event === 'stdout').map((e) => JSON.parse(e.data) as string);
      expect(output.join('')).toBe(keptText.join(''));
    }
    const resumed = await readStream(id, { query: '?view=transcript', lastEventId: kept[0] });
    expect(resumed.map((e) => e.event)).not.toContain('system');
    expect(
      resumed
        .filter((e) => e.event === 'stdout')
        .map((e) => JSON.parse(e.data) as string)
        .join(''),
    ).toBe(keptText.slice(1).join(''));
  });
});
