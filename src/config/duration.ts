// Durations as the CLI and the config take them (`30s`, `2h`, `1h30m`): parsed, checked, formatted.
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { quoteInput } from '../text/escape.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `500ms`, `30s`, `2h`, `1h30m` or a bare number of seconds.
 * Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(part)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

// Throws a one-line error naming the option when `text` is not a positive duration.
export function requireDuration(option: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new InvalidInputError(`Expected \`${option}\` to be a duration like 30s or 2h, got ${quoteInput(text)}`);
  }
  return ms;
}

/** Formats milliseconds for humans: `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A duration in a config file, written as `30s`, `2h` or a number of seconds; parses to milliseconds. */
export const DurationSchema = z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like 30s or 2h' });
    return z.NEVER;
  }
  return ms;
});

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 time (`2026-12-07T03:00:00Z`, `2026-12-07 03:00+01:00`; without a zone, this
 * machine's local time) in ms since the epoch; anything else is one line naming `what`.
 */
export function requireTime(what: string, text: string): number {
  const trimmed = text.trim();
  const at = ISO_TIME.test(trimmed) ? Date.parse(trimmed.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new InvalidInputError(`Expected ${what} to be a time like 2026-12-07T03:00:00Z, got ${quoteInput(text)}`);
  }
  return at;
}
