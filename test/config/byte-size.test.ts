import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from '../../src/config/byte-size.js';

describe('byte sizes', () => {
  it('parses sizes as docker run --memory takes them, in powers of 1024', () => {
    expect(parseByteSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('64MiB')).toBe(64 * 1024 ** 2);
    expect(parseByteSize('100000')).toBe(100_000);
    for (const bad of ['', 'lots', '5x', '-1m']) expect(parseByteSize(bad)).toBeUndefined();
  });

  it('formats sizes the way they are written in config', () => {
    expect(formatByteSize(512 * 1024 ** 2)).toBe('512m');
    expect(formatByteSize(1.5 * 1024 ** 3)).toBe('1.5g');
    expect(formatByteSize(100)).toBe('100b');
  });
});
