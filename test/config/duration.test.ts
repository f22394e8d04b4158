import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, requireDuration } from '../../src/index.js';

describe('durations', () => {
  it('parses units, compounds and bare seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('rejects what is not a duration', () => {
    for (const bad of ['soon', '', '10x', 'm', '5 s', '-1s', '1h soon']) expect(parseDuration(bad)).toBeUndefined();
    expect(() => requireDuration('timeout', 'soon')).toThrow(
      'Expected `timeout` to be a duration like 30s or 2h, got `soon`',
    );
  });

  it('formats for humans', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(7_380_000)).toBe('2h03m');
  });
});
