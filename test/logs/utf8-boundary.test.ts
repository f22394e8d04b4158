import { describe, expect, it } from 'vitest';
import { completeUtf8Length } from '../../src/index.js';

describe('completeUtf8Length', () => {
  it('holds back a character cut at every possible point', () => {
    for (const ch of ['é', '€', '𝄞']) {
      const bytes = Buffer.from(`ab${ch}`);
      for (let cut = 3; cut < bytes.length; cut++) expect(completeUtf8Length(bytes.subarray(0, cut))).toBe(2);
      expect(completeUtf8Length(bytes)).toBe(bytes.length);
    }
  });

  it('passes ASCII, empty input and invalid bytes through', () => {
    expect(completeUtf8Length(Buffer.from('hello'))).toBe(5);
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
    expect(completeUtf8Length(Buffer.from([0x61, 0xff]))).toBe(2);
    expect(completeUtf8Length(Buffer.from([0x80, 0x80, 0x80, 0x80]))).toBe(4);
  });
});
