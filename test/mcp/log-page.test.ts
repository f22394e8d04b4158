import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/index.js';
import { formatCursor, PAGE_MAX_CHARS, renderLogPage, type LogCursor } from '../../src/mcp/log-page.js';

const SHELL = { taskType: 'shell_command' as const };
const out = (id: string, text: string): LogEntry => ({ id, kind: 'output', stream: 'stdout', text });
const end = (id: string): LogEntry => ({
  id,
  kind: 'end',
  end: { status: 'completed', exit_code: 0, signal: null, error: null },
});

// Pages through `log` as a reader would: from each cursor, the entries after it (the one it
// points inside first, from its offset).
function readAll(log: LogEntry[]): string[] {
  const pages: string[] = [];
  let from: LogCursor = { id: '0' };
  for (let i = 0; i < 100; i++) {
    const at = from;
    const after = log.findIndex((e) => e.id === at.id);
    const entries = at.offset !== undefined ? log.slice(after) : log.slice(after + 1);
    const page = renderLogPage(entries, SHELL, at, true);
    pages.push(page.text);
    if (!page.truncated) return pages;
    expect(page.cursor).not.toBe(formatCursor(at));
    const [id, offset] = page.cursor.split('+');
    from = offset === undefined ? { id: id! } : { id: id!, offset: Number(offset) };
  }
  throw new Error('the pages never ended');
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
});
