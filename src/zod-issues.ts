import type { z } from 'zod';

/** Renders a zod path the way users write it: `executors[0].type`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line for the first issue: "Expected `field` …, got `value`". */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown, fieldName?: string): string {
  const field = fieldName ?? (formatIssuePath(issue.path) || 'input');
  // Env values are secrets: say what is wrong without repeating them.
  const got = issue.path.some((key) => key === 'env') ? undefined : valueAt(input, issue.path);
  const shown = got === undefined ? 'nothing' : `\`${truncate(typeof got === 'string' ? got : JSON.stringify(got))}\``;
  switch (issue.code) {
    case 'invalid_value':
      return `Expected \`${field}\` to be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown}`;
    case 'invalid_type':
      if (got === undefined) return `\`${field}\` is required`;
      return `Expected \`${field}\` to be ${article(issue.expected)}, got ${shown}`;
    default:
      return `\`${field}\`: ${issue.message}${got === undefined ? '' : `, got ${shown}`}`;
  }
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a mapping';
  if (expected === 'record') return 'a mapping';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
