import { describe, expect, it } from 'vitest';
import { withoutBlankLines } from '../../src/mcp/mcp-stdio.js';

// Feeds `chunks` through the filter and returns what comes out, as text.
async function filtered(chunks: readonly Buffer[]): Promise<string> {
  const filter = withoutBlankLines();
  const out: Buffer[] = [];
  filter.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  for (const chunk of chunks) filter.write(chunk);
  filter.end();
  await ended;
  return Buffer.concat(out).toString('utf8');
}

describe('withoutBlankLines', () => {
  const input = '\n \t\r\n{"a":"x y\\n"}\n\r\n  {"b":"é ✓"} \r\nnot json\n\n \n{"c":1}';
  const expected = '{"a":"x y\\n"}\n  {"b":"é ✓"} \r\nnot json\n{"c":1}';

  it('drops empty and blank lines and passes every other line whole, leading blanks and CR included', async () => {
    expect(await filtered([Buffer.from(input)])).toBe(expected);
  });

  it('gives the same bytes wherever the input is cut into chunks, inside a multi-byte character too', async () => {
    const bytes = Buffer.from(input);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await filtered([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toBe(expected);
    }
    const oneByOne = [...bytes].map((byte) => Buffer.from([byte]));
    expect(await filtered(oneByOne)).toBe(expected);
  });

  it('holds at most 64 KiB of blanks: a longer run of them goes on with the line it opens', async () => {
    const blanks = ' '.repeat(100 * 1024);
    expect(await filtered([Buffer.from(`${blanks}x\n{"a":1}\n`)])).toBe(`${blanks}x\n{"a":1}\n`);
    expect(await filtered([Buffer.from(`${blanks}\n{"a":1}\n`)])).toBe(`${blanks}\n{"a":1}\n`);
  });

  it('drops a blank tail that never ends in a newline', async () => {
    expect(await filtered([Buffer.from('{"a":1}\n  \t')])).toBe('{"a":1}\n');
  });
});
