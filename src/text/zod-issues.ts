// zod issues as one line a user reads: the field as they wrote it, what was wrong, what they gave.
import type { z } from 'zod';
import { escapeControls, quoteInput } from './escape.js';

/** Renders a zod path the way users write it: `executors[0].type`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** A camelCase key in the snake_case every field we take is spelled in: `timeoutMs` → `timeout_ms`. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** One line for the first issue: "Expected `field` …, got `value`". */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown, fieldName?: string): string {
  const field = escapeControls(fieldName ?? (formatIssuePath(issue.path) || 'input'));
  // Env values are secrets: say what is wrong without repeating them. A custom issue whose
  // message names the value already says `params: { quiet: true }`.
  const quiet = issue.path.some((key) => key === 'env') || (issue.code === 'custom' && issue.params?.quiet === true);
  const got = quiet ? undefined : valueAt(input, issue.path);
  const shown = got === undefined ? 'nothing' : quoteInput(showValue(got));
  switch (issue.code) {
    case 'invalid_value':
      return `Expected \`${field}\` to be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.map((key) => quoteInput(key)).join(', ');
      // Every field we take (config, API, MCP) is snake_case: a camelCase one gets its spelling.
      const camel = issue.keys.find((key) => /[a-z][A-Z]/.test(key));
      const hint = camel === undefined ? '' : ` (fields are snake_case: ${quoteInput(snakeCase(camel))})`;
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${keys}${issue.path.length > 0 ? ` in \`${field}\`` : ''}${hint}`;
    }
    case 'invalid_type':
      if (got === undefined) return `\`${field}\` is required`;
      return `Expected \`${field}\` to be ${article(issue.expected)}, got ${shown}`;
    default:
      return `\`${field}\`: ${issue.message}${got === undefined ? '' : `, got ${shown}`}`;
  }
}

// JSON for the message; a value nested past the stack's depth (a hostile body) is only sketched.
function showValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[…]' : '{…}';
  }
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a mapping';
  if (expected === 'record') return 'a mapping';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
