/** How a run of text looks: CSS colours and flags, as SGR escape sequences set them. */
export interface TermStyle {
  readonly fg?: string;
  readonly bg?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly italic?: boolean;
  readonly underline?: boolean;
  readonly inverse?: boolean;
  readonly strike?: boolean;
}

/** A run of text with one style. */
export interface TermSegment {
  text: string;
  style: TermStyle;
}

/**
 * Turns program output into lines of styled text the way a terminal shows it: SGR colours (16,
 * 256 and 24-bit) and attributes, `\r` returning to the start of the line so the next write
 * overwrites it (progress bars of cargo, nix, pip), erase-in-line, backspace and tabs. Other
 * escape sequences (cursor movement across lines, titles, OSC hyperlinks) are dropped, keeping
 * their text. It only produces text and style values, never markup: the page builds DOM nodes
 * from them with textContent.
 *
 * Self-contained on purpose: the page receives this class as its source text (`toString()`),
 * so it must not refer to anything outside its own body.
 */
export class AnsiTerminal {
  /** Longest line kept whole; longer output is wrapped so one line cannot grow without bound. */
  private readonly maxLine = 20_000;
  private readonly basic = [
    '#000000',
    '#cd3131',
    '#0dbc79',
    '#e5e510',
    '#2472c8',
    '#bc3fbc',
    '#11a8cd',
    '#e5e5e5',
    '#666666',
    '#f14c4c',
    '#23d18b',
    '#f5f543',
    '#3b8eea',
    '#d670d6',
    '#29b8db',
    '#ffffff',
  ];
  private chars: string[] = [];
  private styles: TermStyle[] = [];
  private col = 0;
  private style: TermStyle = {};
  private pending = '';
  private completed: TermSegment[][] = [];

  /** Feeds output; an escape sequence split across calls is held until it is whole. */
  write(text: string): void {
    const input = this.pending + text;
    this.pending = '';
    let i = 0;
    while (i < input.length) {
      const c = input[i]!;
      if (c === '\x1b') {
        const used = this.escape(input, i);
        if (used === 0) {
          this.pending = input.slice(i);
          return;
        }
        i += used;
        continue;
      }
      i++;
      if (c === '\n') this.newline();
      else if (c === '\r') this.col = 0;
      else if (c === '\b') this.col = Math.max(0, this.col - 1);
      else if (c === '\t') {
        const stop = (Math.floor(this.col / 8) + 1) * 8;
        while (this.col < stop) this.put(' ');
      } else if (c < ' ' || c === '\x7f') {
        // Other control characters have no visible effect.
      } else {
        let ch = c;
        // A surrogate pair is one character.
        const code = c.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdbff && i < input.length) ch += input[i++]!;
        // Combining marks, variation selectors and emoji joined by ZWJ take no column of their own.
        if (this.col > 0 && (/^[\p{M}\u200d]$/u.test(ch) || this.chars[this.col - 1]?.endsWith('\u200d')))
          this.chars[this.col - 1] += ch;
        else this.put(ch);
      }
    }
  }

  /** Lines ended since the last call, oldest first, each as styled runs. */
  takeCompleted(): TermSegment[][] {
    const out = this.completed;
    this.completed = [];
    return out;
  }

  /** The line being written (after the last newline), as styled runs. */
  currentLine(): TermSegment[] {
    return this.segments(this.chars, this.styles);
  }

  /** Foreground and background colours after `inverse` is applied. */
  colorsOf(style: TermStyle): { fg: string | undefined; bg: string | undefined } {
    return style.inverse ? { fg: style.bg ?? '#1e1e1e', bg: style.fg ?? '#d4d4d4' } : { fg: style.fg, bg: style.bg };
  }

  private put(ch: string): void {
    if (this.col >= this.maxLine) this.newline();
    while (this.chars.length < this.col) {
      this.chars.push(' ');
      this.styles.push({});
    }
    this.chars[this.col] = ch;
    this.styles[this.col] = this.style;
    this.col++;
  }

  private newline(): void {
    this.completed.push(this.segments(this.chars, this.styles));
    this.chars = [];
    this.styles = [];
    this.col = 0;
  }

  private segments(chars: string[], styles: TermStyle[]): TermSegment[] {
    const out: TermSegment[] = [];
    for (let i = 0; i < chars.length; i++) {
      const last = out[out.length - 1];
      if (last && last.style === styles[i]) last.text += chars[i]!;
      else out.push({ text: chars[i]!, style: styles[i] ?? {} });
    }
    return out;
  }

  // Handles the escape sequence at `start`; returns its length, or 0 when it is cut off.
  private escape(input: string, start: number): number {
    const next = input[start + 1];
    if (next === undefined) return 0;
    if (next === '[') {
      let end = start + 2;
      while (end < input.length && !/[\x40-\x7e]/.test(input[end]!)) end++;
      if (end >= input.length) return input.length - start > 64 ? input.length - start : 0;
      this.csi(input.slice(start + 2, end), input[end]!);
      return end + 1 - start;
    }
    if (next === ']' || next === 'P' || next === '_' || next === '^') {
      // OSC, DCS, APC, PM: up to BEL or ST (ESC \); the text of an OSC 8 link stays outside it.
      for (let end = start + 2; end < input.length; end++) {
        if (input[end] === '\x07') return end + 1 - start;
        if (input[end] === '\x1b' && input[end + 1] === '\\') return end + 2 - start;
        if (input[end] === '\x1b' && end + 1 >= input.length) return 0;
      }
      return input.length - start > 4096 ? input.length - start : 0;
    }
    if (next === '(' || next === ')' || next === '#') return start + 2 < input.length ? 3 : 0;
    return 2;
  }

  private csi(params: string, final: string): void {
    const numbers = params
      .replace(/^[?>=]/, '')
      .split(/[;:]/)
      .map((p) => (p === '' ? 0 : Number(p)));
    const n = Math.max(1, numbers[0] ?? 1);
    switch (final) {
      case 'm':
        this.sgr(params === '' ? [0] : numbers);
        break;
      case 'K': {
        const mode = numbers[0] ?? 0;
        if (mode === 0) {
          this.chars.length = Math.min(this.chars.length, this.col);
          this.styles.length = this.chars.length;
        } else if (mode === 1) {
          for (let i = 0; i <= this.col && i < this.chars.length; i++) {
            this.chars[i] = ' ';
            this.styles[i] = {};
          }
        } else {
          this.chars = [];
          this.styles = [];
        }
        break;
      }
      case 'G':
        this.col = n - 1;
        break;
      case 'C':
        this.col += n;
        break;
      case 'D':
        this.col = Math.max(0, this.col - n);
        break;
      default:
        // Cursor movement across lines, scrolling, modes: not shown in a log.
        break;
    }
  }

  private sgr(codes: number[]): void {
    let s: { -readonly [K in keyof TermStyle]: TermStyle[K] } = { ...this.style };
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      if (code === 0) s = {};
      else if (code === 1) s.bold = true;
      else if (code === 2) s.dim = true;
      else if (code === 3) s.italic = true;
      else if (code === 4) s.underline = true;
      else if (code === 7) s.inverse = true;
      else if (code === 9) s.strike = true;
      else if (code === 22) {
        s.bold = undefined;
        s.dim = undefined;
      } else if (code === 23) s.italic = undefined;
      else if (code === 24) s.underline = undefined;
      else if (code === 27) s.inverse = undefined;
      else if (code === 29) s.strike = undefined;
      else if (code >= 30 && code <= 37) s.fg = this.basic[code - 30];
      else if (code >= 90 && code <= 97) s.fg = this.basic[code - 90 + 8];
      else if (code >= 40 && code <= 47) s.bg = this.basic[code - 40];
      else if (code >= 100 && code <= 107) s.bg = this.basic[code - 100 + 8];
      else if (code === 39) s.fg = undefined;
      else if (code === 49) s.bg = undefined;
      else if (code === 38 || code === 48) {
        let color: string | undefined;
        if (codes[i + 1] === 5) {
          color = this.color256(codes[i + 2] ?? 0);
          i += 2;
        } else if (codes[i + 1] === 2) {
          const [r = 0, g = 0, b = 0] = codes.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v)));
          color = `rgb(${r}, ${g}, ${b})`;
          i += 4;
        }
        if (code === 38) s.fg = color;
        else s.bg = color;
      }
    }
    this.style = s;
  }

  private color256(n: number): string {
    if (n < 16) return this.basic[n] ?? '#000000';
    if (n >= 232) {
      const v = Math.min(255, 8 + (n - 232) * 10);
      return `rgb(${v}, ${v}, ${v})`;
    }
    const i = n - 16;
    const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
}

/** A line as plain text (for tests and copying). */
export function plainText(line: readonly TermSegment[]): string {
  return line.map((segment) => segment.text).join('');
}
