import { describe, expect, it } from 'vitest';
import { TranscriptRenderer, type LogEntry } from '../../src/index.js';
import { formatCursor, PAGE_MAX_CHARS, renderLogPage, type LogCursor } from '../../src/mcp/log-page.js';

const SHELL = { taskType: 'shell_command' as const };
const CLAUDE = { taskType: 'claude_code' as const };
const out = (id: string, text: string): LogEntry => ({ id, kind: 'output', stream: 'stdout', text });
const err = (id: string, text: string): LogEntry => ({ id, kind: 'output', stream: 'stderr', text });
const end = (id: string): LogEntry => ({
  id,
  kind: 'end',
  end: { status: 'completed', exit_code: 0, signal: null, error: null },
});

// Pages through `log` as a reader would: from each cursor, the entries after it (the one it
// points inside first, from its offset).
function readAll(log: LogEntry[], task: { taskType: 'shell_command' | 'claude_code' } = SHELL, start = '0'): string[] {
  const pages: string[] = [];
  let from: LogCursor = parseCursor(start);
  for (let i = 0; i < 100; i++) {
    const at = from;
    const after = log.findIndex((e) => e.id === at.id);
    const entries = at.offset !== undefined ? log.slice(after) : log.slice(after + 1);
    const page = renderLogPage(entries, task, at, true);
    pages.push(page.text);
    if (!page.truncated) return pages;
    expect(page.cursor).not.toBe(formatCursor(at));
    from = parseCursor(page.cursor);
  }
  throw new Error('the pages never ended');
}

function parseCursor(cursor: string): LogCursor {
  const [id, offset] = cursor.split('+');
  return offset === undefined ? { id: id! } : { id: id!, offset: Number(offset) };
}

// One assistant message as Claude's stream-json prints it: one line.
const assistantLine = (text: string) =>
  `${JSON.stringify({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text }] } })}\n`;

// The transcript of `log` read at once: what reading it page by page must add up to.
function transcriptOf(log: LogEntry[]): string {
  const renderer = new TranscriptRenderer();
  let text = '';
  for (const entry of log) {
    if (entry.kind === 'end') text += `${renderer.end()}[task ended: completed, exit 0]\n`;
    else text += entry.stream === 'stdout' ? renderer.push(entry.text) : entry.text;
  }
  return text;
}

// A small seeded generator (mulberry32): the same cuts on every run.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// `text` in entries cut at arbitrary places (as a worker ships what each read got), with whole
// stderr lines put between some of them when `stderr`.
function cutIntoEntries(text: string, seed: number, stderr: boolean): LogEntry[] {
  const next = random(seed);
  const log: LogEntry[] = [];
  for (let at = 0; at < text.length;) {
    const size = 1 + Math.floor(next() * 3000);
    log.push(out(`${log.length + 1}-0`, text.slice(at, at + size)));
    at += size;
    if (stderr && next() < 0.3) log.push(err(`${log.length + 1}-0`, `warning ${log.length}\n`));
  }
  return [...log, end(`${log.length + 1}-0`)];
}

describe('renderLogPage', () => {
  it('shows an entry longer than a page in parts cut at line breaks, every line once', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    const pages = readAll([out('1-0', `${lines.join('\n')}\n`), end('2-0')]);
    expect(pages.length).toBeGreaterThan(2);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(PAGE_MAX_CHARS);
    expect(pages.join('')).toBe(`${lines.join('\n')}\n[task ended: completed, exit 0]\n`);
  });

  it('holds back a half-written last line until it is whole', () => {
    const page = renderLogPage([out('1-0', 'done\n'), out('2-0', 'half a li')], SHELL, { id: '0' }, true);
    expect(page).toEqual({ text: 'done\n', cursor: '1-0', truncated: true });
    const next = renderLogPage([out('2-0', 'half a li'), out('3-0', 'ne\n')], SHELL, { id: '1-0' }, true);
    expect(next).toEqual({ text: 'half a line\n', cursor: '3-0', truncated: false });
  });

  it('shows the note about dropped output, and never takes it for a cursor', () => {
    const note: LogEntry = {
      id: '5-0',
      kind: 'output',
      stream: 'system',
      text: '1 MiB of earlier output was dropped here\n',
    };
    const page = renderLogPage([note, out('6-0', 'kept\n')], SHELL, { id: '5-0' }, true);
    expect(page).toEqual({
      text: '[openclaw-agent] 1 MiB of earlier output was dropped here\nkept\n',
      cursor: '6-0',
      truncated: false,
    });
    expect(renderLogPage([note], SHELL, { id: '5-0' }, true).cursor).toBe('5-0');
  });

  it('keeps the last page of a tail, from a line start', () => {
    const text = `${Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n')}\n`;
    const page = renderLogPage([out('1-0', text)], SHELL, { id: '0' }, false);
    expect(page.truncated).toBe(true);
    expect(page.cursor).toBe('1-0');
    expect(page.text.length).toBeLessThanOrEqual(PAGE_MAX_CHARS);
    expect(page.text.endsWith('line 2999\n')).toBe(true);
    expect(page.text).toMatch(/^line \d+\n/);
  });

  it("renders a Claude task's stdout as a transcript", () => {
    const init = JSON.stringify({
      type: 'system',
      subtype: 'init',
      session_id: 'abcdef12-0000',
      model: 'claude-x',
      cwd: '/work',
    });
    const page = renderLogPage([out('1-0', `${init}\n`)], { taskType: 'claude_code' }, { id: '0' }, true);
    expect(page.text).toBe('● session abcdef12 · model claude-x · /work\n');
  });

  it("ends no page inside a Claude line split across two entries: the line's event is shown once, as the transcript", () => {
    const filler = Array.from({ length: 150 }, (_, i) => assistantLine(`filler ${i} ${'.'.repeat(90)}`)).join('');
    const split = assistantLine(`hello world ${'x'.repeat(1500)}`);
    const log = [
      out('1-0', filler),
      out('2-0', split.slice(0, 60)),
      out('3-0', split.slice(60)),
      out('4-0', assistantLine('after')),
      end('5-0'),
    ];
    // The filler fits a page; the split line's event does not fit after it.
    expect(transcriptOf(log.slice(0, 1)).length).toBeLessThan(PAGE_MAX_CHARS);
    expect(transcriptOf(log.slice(0, 3)).length).toBeGreaterThan(PAGE_MAX_CHARS);
    const pages = readAll(log, CLAUDE);
    for (const page of pages) expect(page.endsWith('\n'), page.slice(-80)).toBe(true);
    expect(pages.join('')).toBe(transcriptOf(log));
    expect(pages.join('')).toContain(`hello world ${'x'.repeat(1500)}\n`);
  });

  it('pages a Claude transcript cut into entries anywhere, with stderr lines between, every line once and in order', () => {
    const next = random(7);
    const ndjson = Array.from({ length: 400 }, (_, i) =>
      assistantLine(`message ${i} ${'word '.repeat(Math.floor(next() * 80))}`),
    ).join('');
    for (let seed = 1; seed <= 20; seed++) {
      const log = cutIntoEntries(ndjson, seed, true);
      const pages = readAll(log, CLAUDE);
      expect(pages.length, `seed ${seed}`).toBeGreaterThan(2);
      for (const page of pages) {
        expect(page.length).toBeLessThanOrEqual(PAGE_MAX_CHARS);
        expect(page.endsWith('\n'), `seed ${seed}: ${page.slice(-80)}`).toBe(true);
      }
      expect(pages.join(''), `seed ${seed}`).toBe(transcriptOf(log));
    }
  });

  it('ends every page of output cut into entries anywhere on a whole line, every line once', () => {
    const lines = Array.from({ length: 6000 }, (_, i) => `line ${i}${' pad'.repeat(i % 7)}`);
    const text = `${lines.join('\n')}\n`;
    for (let seed = 1; seed <= 10; seed++) {
      const pages = readAll(cutIntoEntries(text, seed, false));
      expect(pages.length, `seed ${seed}`).toBeGreaterThan(2);
      for (const page of pages) expect(page.endsWith('\n'), `seed ${seed}: ${page.slice(-40)}`).toBe(true);
      expect(pages.join(''), `seed ${seed}`).toBe(`${text}[task ended: completed, exit 0]\n`);
    }
  });

  it('holds back a Claude line still being written, also when no line ends on the page', () => {
    const line = assistantLine('hello');
    const page = renderLogPage([out('2-0', line.slice(0, 30))], CLAUDE, { id: '1-0' }, true);
    expect(page).toEqual({ text: '', cursor: '1-0', truncated: true });
    const next = renderLogPage(
      [out('2-0', line.slice(0, 30)), out('3-0', line.slice(30))],
      CLAUDE,
      { id: '1-0' },
      true,
    );
    expect(next).toEqual({ text: 'hello\n', cursor: '3-0', truncated: false });
  });

  it('reads on from a tail taken at any moment of a running task, every line once', () => {
    const next = random(7);
    const ndjson = Array.from({ length: 30 }, (_, i) =>
      assistantLine(`message ${i} ${'word '.repeat(Math.floor(next() * 40))}`),
    ).join('');
    const lines = `${Array.from({ length: 400 }, (_, i) => `line ${i}${' pad'.repeat(i % 7)}`).join('\n')}\n`;
    for (const [task, text] of [
      [CLAUDE, ndjson],
      [SHELL, lines],
    ] as const) {
      for (let seed = 1; seed <= 20; seed++) {
        const log = cutIntoEntries(text, seed, true);
        const whole = task === CLAUDE ? transcriptOf(log) : log.map((e) => (e.kind === 'end' ? '' : e.text)).join('');
        for (let written = 1; written < log.length; written++) {
          // A tail while only the first entries are written, then reading on to the task's end.
          const tail = renderLogPage(log.slice(0, written), task, { id: '0' }, false);
          const rest = readAll(log, task, tail.cursor).join('');
          const what = `${task.taskType}, seed ${seed}, tail of ${written} entries: ${tail.cursor}`;
          expect(`${tail.text}${rest}`, what).toBe(
            task === CLAUDE ? whole : `${whole}[task ended: completed, exit 0]\n`,
          );
        }
      }
    }
  });

  it('reads on from a tail of a Claude line still being written, alone or after a whole one', () => {
    const line = assistantLine('second');
    const alone = renderLogPage([out('1-0', line.slice(0, 30))], CLAUDE, { id: '0' }, false);
    expect(alone).toEqual({ text: '', cursor: '1-0+0', truncated: true });
    const first = assistantLine('first');
    const after = renderLogPage([out('1-0', `${first}${line.slice(0, 30)}`)], CLAUDE, { id: '0' }, false);
    expect(after).toEqual({ text: 'first\n', cursor: `1-0+${first.length}`, truncated: true });
  });

  it("points a tail's cursor into an entry the tail shows only the end of, as the entry is stored", () => {
    // The stored entry is `a\nb\nc`; a tail of two lines starts two characters into it.
    const tail = renderLogPage(
      [{ id: '1-0', kind: 'output', stream: 'stdout', text: 'b\nc', skip: 2 }],
      SHELL,
      { id: '0' },
      false,
    );
    expect(tail).toEqual({ text: 'b\n', cursor: '1-0+4', truncated: true });
    expect(readAll([out('1-0', 'a\nb\nc'), out('2-0', 'd\n'), end('3-0')], SHELL, tail.cursor)).toEqual([
      'cd\n[task ended: completed, exit 0]\n',
    ]);
  });

  it('ends a tail before a Claude line still being written, not after a stderr line written meanwhile', () => {
    const line = assistantLine('second');
    const log = [out('1-0', assistantLine('first')), out('2-0', line.slice(0, 30)), err('3-0', 'warning\n')];
    const tail = renderLogPage(log, CLAUDE, { id: '0' }, false);
    expect(tail).toEqual({ text: 'first\n', cursor: '1-0', truncated: true });
    const next = renderLogPage([...log.slice(1), out('4-0', line.slice(30))], CLAUDE, { id: '1-0' }, true);
    expect(next).toEqual({ text: 'warning\nsecond\n', cursor: '4-0', truncated: false });
  });
});
