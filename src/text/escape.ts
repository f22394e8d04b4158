// Text from a user or a task, made safe to show on one line of ours.

/**
 * Shows what a user gave inside an error message: in backticks, shortened, with line breaks and
 * other control characters escaped so that the message stays one line.
 */
export function quoteInput(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `\`${escapeControls(short)}\``;
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Writes line breaks and other control characters as `\n`, `\u0007`…: the text stays one line. */
export function escapeControls(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what this finds
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (char) => ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
