// A Claude task's stream-json output as a transcript for people (CLI, dashboard, MCP).
import { formatDuration } from '../config/duration.js';
import {
  ClaudeLineSplitter,
  describeClaudeEvent,
  describeToolUse,
  isFailedResult,
  parseClaudeLine,
  shortenLine,
  type ClaudeBlock,
  type ClaudeEvent,
  type ClaudeResultEvent,
} from './stream.js';

// How `logs` shows a Claude task: its stream-json output rendered as a transcript.

const RESULT_LINE_MAX = 120;

export interface TranscriptRendererOptions {
  /** As for {@link ClaudeLineSplitter}: the text starts mid-line. @default false */
  skipFirstPartial?: boolean;
  /** The session's working directory, for a transcript that starts after the init line. @default from the init line */
  cwd?: string;
}

/**
 * Turns the stream into a transcript for people, chunk by chunk: the session line, assistant text,
 * `→ Bash: cargo build` per tool call, `  ← first line of the result`, and the outcome with turns,
 * cost and time. Unknown line types are left out; a line that is not JSON (a crash message) is
 * passed through as it is.
 */
export class TranscriptRenderer {
  private readonly splitter: ClaudeLineSplitter;
  private cwd: string | undefined;
  private lastText: string | undefined;

  constructor(options: TranscriptRendererOptions = {}) {
    this.splitter = new ClaudeLineSplitter(options);
    this.cwd = options.cwd;
  }

  /** The transcript of the lines this chunk completes. */
  push(text: string): string {
    return this.splitter
      .push(text)
      .map((line) => this.renderLine(line))
      .join('');
  }

  /** The transcript of an unterminated last line, if any. */
  end(): string {
    const rest = this.splitter.flush();
    return rest === undefined ? '' : this.renderLine(rest);
  }

  private renderLine(line: string): string {
    if (line.trim() === '') return '';
    const event = parseClaudeLine(line);
    if (!event) return `${line}\n`;
    switch (event.kind) {
      case 'init':
        this.cwd = event.cwd;
        return `${this.renderInit(event)}\n`;
      case 'assistant':
      case 'user':
        return indent(event.blocks.map((block) => this.renderBlock(block, event.kind)).join(''), event.parentToolUseId);
      case 'result':
        return this.renderResult(event);
      case 'api_retry':
      case 'task_started':
      case 'task_notification':
        return `${describeClaudeEvent(event)}\n`;
      case 'rate_limit':
      case 'other':
        return '';
    }
  }

  private renderInit(event: Extract<ClaudeEvent, { kind: 'init' }>): string {
    const parts = [`● session ${event.sessionId?.slice(0, 8) ?? '?'}`];
    if (event.model) parts.push(`model ${event.model}`);
    if (event.cwd) parts.push(event.cwd);
    return parts.join(' · ');
  }

  private renderBlock(block: ClaudeBlock, role: 'assistant' | 'user'): string {
    switch (block.kind) {
      case 'text': {
        // The prompt a user line echoes (or a sub-agent's brief) is not part of the transcript.
        const text = block.text.trimEnd();
        if (role === 'user' || text === '') return '';
        this.lastText = text;
        return `${text}\n`;
      }
      case 'thinking':
        return '(thinking…)\n';
      case 'tool_use':
        return `→ ${describeToolUse(block.name, block.input, { cwd: this.cwd })}\n`;
      case 'tool_result':
        return `  ${block.isError ? '✗' : '←'} ${summarizeToolResult(block.text)}\n`;
    }
  }

  private renderResult(event: ClaudeResultEvent): string {
    const turns =
      event.numTurns === undefined ? undefined : `${event.numTurns} ${event.numTurns === 1 ? 'turn' : 'turns'}`;
    const failed = isFailedResult(event);
    const what =
      event.apiErrorStatus !== undefined
        ? `API error ${event.apiErrorStatus}`
        : event.subtype === 'success'
          ? 'error'
          : event.subtype;
    const head = failed ? `✗ ${what}${turns ? ` after ${turns}` : ''}` : `✓ done${turns ? ` in ${turns}` : ''}`;
    const parts = [head];
    if (event.totalCostUsd !== undefined) parts.push(`$${event.totalCostUsd.toFixed(4)}`);
    if (event.durationMs !== undefined) parts.push(formatDuration(event.durationMs));
    const lines = [parts.join(' · ')];
    // The result text usually repeats the last assistant text, which is printed already.
    const result = event.result?.trimEnd();
    if (result && result !== this.lastText) lines.push(result);
    for (const error of event.errors ?? []) lines.push(`  ${error}`);
    return `${lines.join('\n')}\n`;
  }
}

// A tool result as one line: its first non-blank line, shortened, and how many lines follow.
// Results can be megabytes (a whole file), so the text is scanned rather than split.
function summarizeToolResult(text: string): string {
  const body = text.trimEnd();
  let start = 0;
  let end = body.indexOf('\n');
  while (end !== -1 && body.slice(start, end).trim() === '') {
    start = end + 1;
    end = body.indexOf('\n', start);
  }
  const first = body.slice(start, Math.min(end === -1 ? body.length : end, start + RESULT_LINE_MAX * 2));
  if (first.trim() === '') return '(no output)';
  let more = 0;
  for (let i = end; i !== -1; i = body.indexOf('\n', i + 1)) more++;
  const line = shortenLine(first, RESULT_LINE_MAX);
  return more > 0 ? `${line} (+${more} ${more === 1 ? 'line' : 'lines'})` : line;
}

function indent(text: string, parentToolUseId: string | undefined): string {
  if (parentToolUseId === undefined || text === '') return text;
  return text.replace(/^(?=.)/gm, '  ');
}
