import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AnsiTerminal, plainText, type TermSegment } from '../../bull-board/ansi-terminal.js';
import { PANEL_JS } from '../../bull-board/panel-assets.js';

function lines(output: string | string[]): { done: TermSegment[][]; open: TermSegment[] } {
  const term = new AnsiTerminal();
  for (const chunk of Array.isArray(output) ? output : [output]) term.write(chunk);
  return { done: term.takeCompleted(), open: term.currentLine() };
}

const texts = (output: string | string[]) => {
  const { done, open } = lines(output);
  return [...done.map(plainText), plainText(open)];
};

describe('AnsiTerminal: output the way a terminal shows it', () => {
  it('keeps plain lines and the open last line apart', () => {
    expect(texts('one\ntwo\nthr')).toEqual(['one', 'two', 'thr']);
  });

  it('lets a carriage return overwrite the line, as progress bars do', () => {
    expect(texts('progress 10%\rprogress 50%\rprogress 100%\ndone\n')).toEqual(['progress 100%', 'done', '']);
    // cargo and nix erase the rest of the line after the \r
    expect(texts('Compiling foo (1/300)\r\x1b[KBuilding\n')).toEqual(['Building', '']);
    expect(texts('abcdef\r\x1b[2Kxy')).toEqual(['xy']);
    expect(texts('abcdef\rxy')).toEqual(['xycdef']);
  });

  it('turns SGR colours into CSS colours: 16, 256 and 24-bit, bold, reset', () => {
    const { done } = lines('\x1b[31mred\x1b[0m plain \x1b[1;38;5;208morange\x1b[39m \x1b[48;2;1;2;3mbg\x1b[m\n');
    const [line] = done;
    expect(line!.map((s) => s.text)).toEqual(['red', ' plain ', 'orange', ' ', 'bg']);
    expect(line![0]!.style.fg).toBe('#cd3131');
    expect(line![1]!.style).toEqual({});
    expect(line![2]!.style).toMatchObject({ bold: true, fg: 'rgb(255, 135, 0)' });
    expect(line![3]!.style.fg).toBeUndefined();
    expect(line![4]!.style.bg).toBe('rgb(1, 2, 3)');
  });

  it('holds an escape sequence split across writes until it is whole', () => {
    const { done } = lines(['\x1b[3', '2mgreen\x1b', '[0m\n']);
    expect(done[0]).toEqual([{ text: 'green', style: { fg: '#0dbc79' } }]);
  });

  it('drops other escape sequences (titles, cursor moves) and control characters, keeping the text', () => {
    expect(texts('\x1b]0;title\x07a\x1b[2Ab\x07c\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n')).toEqual(['abclink', '']);
  });

  it('treats markup as text', () => {
    expect(texts('<script>alert(1)</script>')).toEqual(['<script>alert(1)</script>']);
  });

  it('expands tabs, honours backspace and keeps emoji whole', () => {
    expect(texts('a\tb\n')).toEqual(['a       b', '']);
    expect(texts('abc\b\bX\n')).toEqual(['aXc', '']);
    expect(texts('🤖 ok\r⚙️\n')).toEqual(['⚙️ ok', '']);
    expect(texts('👩\u200d💻x\b\bY\n')).toEqual(['Yx', '']);
  });

  it('is self-contained, so the page can receive it as source text', () => {
    const source = `(${AnsiTerminal.toString()})`;
    const Reborn = new Script(source).runInNewContext({}) as typeof AnsiTerminal;
    const term = new Reborn();
    term.write('\x1b[31mx\x1b[0m\r\n');
    expect(term.takeCompleted()).toEqual([[{ text: 'x', style: { fg: '#cd3131' } }]]);
  });
});

describe('panel script', () => {
  it('parses as JavaScript', () => {
    expect(() => new Script(PANEL_JS)).not.toThrow();
  });
});
