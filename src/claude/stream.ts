/**
 * The NDJSON that `claude -p --output-format stream-json --verbose` prints, read line by line:
 * a `system`/`init` line, `assistant` and `user` messages, a final `result`, and line types that
 * come and go between versions (`api_retry`, `rate_limit_event`, `stream_event`, …). Everything
 * here is pure and never throws on odd input, so the same code serves the worker's progress
 * tracking and the CLI's transcript.
 */

/** Token counts as Claude reports them (`input_tokens`, `cache_read_input_tokens`, …). */
export interface ClaudeUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
}

/** One content block of a message. A tool result's content is flattened to its text. */
export type ClaudeBlock =
  | { kind: 'text'; text: string }
  | { kind: 'thinking'; text: string }
  | { kind: 'tool_use'; id?: string; name: string; input: unknown }
  | { kind: 'tool_result'; toolUseId?: string; text: string; isError: boolean };

export type ClaudeEvent =
  | { kind: 'init'; sessionId?: string; model?: string; cwd?: string; tools?: string[] }
  | {
      kind: 'assistant';
      blocks: ClaudeBlock[];
      /**
       * Claude prints one line per content block and repeats the message's id and usage on each:
       * sum usage once per `messageId`.
       */
      messageId?: string;
      usage?: ClaudeUsage;
      /** The model that wrote it (`<synthetic>` for the CLI's own error messages). */
      model?: string;
      /** Set on the messages of a sub-agent (the Task tool call they belong to). */
      parentToolUseId?: string;
    }
  | { kind: 'user'; blocks: ClaudeBlock[]; parentToolUseId?: string }
  | {
      kind: 'result';
      subtype: string;
      isError: boolean;
      numTurns?: number;
      result?: string;
      sessionId?: string;
      totalCostUsd?: number;
      durationMs?: number;
      usage?: ClaudeUsage;
      /** Input and output tokens over every model of `modelUsage` (the CLI's own count, also where `usage` is zeros). */
      modelUsage?: ClaudeUsage;
      errors?: string[];
      /** The HTTP status of the API error the run ended on (401, 429 …), when it ended on one. */
      apiErrorStatus?: number;
      /** What the API error was, e.g. `usage_limit_reached`. */
      apiError?: string;
    }
  /** The CLI retries a failed API call: `⟳ API retry 3/10: 401 authentication_failed`. */
  | {
      kind: 'api_retry';
      attempt?: number;
      maxRetries?: number;
      errorStatus?: number;
      error?: string;
      retryDelayMs?: number;
    }
  /** A background task (a sub-agent, a background Bash) started or ended. */
  | { kind: 'task_started'; taskId?: string; description?: string; taskType?: string }
  | { kind: 'task_notification'; taskId?: string; status?: string; summary?: string }
  /** The account's rate limit as the API reported it (subscriber logins): `rejected` until `resetsAt` (ms). */
  | { kind: 'rate_limit'; status?: string; resetsAt?: number; limitType?: string }
  | { kind: 'other'; type: string; subtype?: string };

export type ClaudeResultEvent = Extract<ClaudeEvent, { kind: 'result' }>;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const numberOf = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

// Leaves out the keys whose value is undefined, so events compare and print cleanly.
function compact<T extends ClaudeEvent | ClaudeBlock | ClaudeUsage>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Parses one line of the stream; undefined for a line that is not a JSON object (never throws). */
export function parseClaudeLine(line: string): ClaudeEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const type = stringOf(value.type) ?? '';
  const subtype = stringOf(value.subtype);
  if (type === 'system' && subtype === 'init') {
    const tools = Array.isArray(value.tools)
      ? value.tools.filter((t): t is string => typeof t === 'string')
      : undefined;
    return compact({
      kind: 'init',
      sessionId: stringOf(value.session_id),
      model: stringOf(value.model),
      cwd: stringOf(value.cwd),
      tools,
    });
  }
  if (type === 'assistant' || type === 'user') {
    const message = isObject(value.message) ? value.message : {};
    const blocks = parseBlocks(message.content);
    const parentToolUseId = stringOf(value.parent_tool_use_id);
    if (type === 'user') return compact({ kind: 'user', blocks, parentToolUseId });
    return compact({
      kind: 'assistant',
      blocks,
      messageId: stringOf(message.id),
      usage: parseUsage(message.usage),
      model: stringOf(message.model),
      parentToolUseId,
    });
  }
  if (type === 'result') {
    const errors = Array.isArray(value.errors)
      ? value.errors.map(errorText).filter((e): e is string => e !== undefined)
      : undefined;
    return compact({
      kind: 'result',
      subtype: subtype ?? 'unknown',
      isError: value.is_error === true,
      numTurns: numberOf(value.num_turns),
      result: stringOf(value.result),
      sessionId: stringOf(value.session_id),
      totalCostUsd: numberOf(value.total_cost_usd),
      durationMs: numberOf(value.duration_ms),
      usage: parseUsage(value.usage),
      modelUsage: sumModelUsage(value.modelUsage),
      errors,
      apiErrorStatus: numberOf(value.api_error_status),
      apiError: stringOf(value.api_error),
    });
  }
  if (type === 'system' && subtype === 'api_retry') {
    return compact({
      kind: 'api_retry',
      attempt: numberOf(value.attempt),
      maxRetries: numberOf(value.max_retries),
      errorStatus: numberOf(value.error_status),
      error: stringOf(value.error),
      retryDelayMs: numberOf(value.retry_delay_ms),
    });
  }
  if (type === 'system' && subtype === 'task_started') {
    return compact({
      kind: 'task_started',
      taskId: stringOf(value.task_id),
      description: stringOf(value.description),
      taskType: stringOf(value.task_type),
    });
  }
  if (type === 'system' && subtype === 'task_notification') {
    return compact({
      kind: 'task_notification',
      taskId: stringOf(value.task_id),
      status: stringOf(value.status),
      summary: stringOf(value.summary),
    });
  }
  if (type === 'rate_limit_event') {
    const info = isObject(value.rate_limit_info) ? value.rate_limit_info : {};
    const resetsAt = numberOf(info.resetsAt);
    return compact({
      kind: 'rate_limit',
      status: stringOf(info.status),
      resetsAt: resetsAt === undefined ? undefined : resetsAt * 1000,
      limitType: stringOf(info.rateLimitType),
    });
  }
  return compact({ kind: 'other', type, subtype });
}

/**
 * The one line a transcript, `status` and the dashboard show for the CLI's own events: an API
 * retry, a background task started or ended. Undefined for the others.
 */
export function describeClaudeEvent(event: ClaudeEvent): string | undefined {
  switch (event.kind) {
    case 'api_retry': {
      const of =
        event.attempt !== undefined
          ? ` ${event.attempt}${event.maxRetries !== undefined ? `/${event.maxRetries}` : ''}`
          : '';
      const why = [event.errorStatus, event.error].filter((part) => part !== undefined).join(' ');
      return `⟳ API retry${of}${why ? `: ${why}` : ''}`;
    }
    case 'task_started':
      return `▸ background task started: ${shortenLine(event.description ?? event.taskId ?? 'task', 100)}${event.taskType ? ` (${event.taskType})` : ''}`;
    case 'task_notification':
      return `◂ background task ${event.status ?? 'ended'}${event.summary ? `: ${shortenLine(event.summary, 100)}` : ''}`;
    default:
      return undefined;
  }
}

/** Whether a result line means the run failed: per the contract, `is_error` or any subtype but `success`. */
export function isFailedResult(result: ClaudeResultEvent): boolean {
  return result.isError || result.subtype !== 'success';
}

function parseBlocks(content: unknown): ClaudeBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ kind: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: ClaudeBlock[] = [];
  for (const raw of content) {
    const block = isObject(raw) ? parseBlock(raw) : undefined;
    if (block) blocks.push(block);
  }
  return blocks;
}

function parseBlock(block: JsonObject): ClaudeBlock | undefined {
  switch (block.type) {
    case 'text':
      return { kind: 'text', text: stringOf(block.text) ?? '' };
    case 'thinking':
      return { kind: 'thinking', text: stringOf(block.thinking) ?? stringOf(block.text) ?? '' };
    case 'redacted_thinking':
      return { kind: 'thinking', text: '' };
    case 'tool_use':
    case 'server_tool_use':
      return compact({
        kind: 'tool_use',
        id: stringOf(block.id),
        name: stringOf(block.name) ?? 'unknown',
        input: block.input ?? {},
      });
    case 'tool_result':
      return compact({
        kind: 'tool_result',
        toolUseId: stringOf(block.tool_use_id),
        text: toolResultText(block.content),
        isError: block.is_error === true,
      });
    default:
      return undefined;
  }
}

// A tool result's content is a string or an array of blocks; images and the like become a tag.
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      if (!isObject(part)) return '';
      if (part.type === 'text') return stringOf(part.text) ?? '';
      return `[${stringOf(part.type) ?? 'content'}]`;
    })
    .filter((text) => text !== '')
    .join('\n');
}

function parseUsage(usage: unknown): ClaudeUsage | undefined {
  if (!isObject(usage)) return undefined;
  return compact({
    inputTokens: numberOf(usage.input_tokens),
    outputTokens: numberOf(usage.output_tokens),
    cacheReadTokens: numberOf(usage.cache_read_input_tokens),
    cacheCreationTokens: numberOf(usage.cache_creation_input_tokens),
  });
}

// `modelUsage` holds a count per model: their sum, or undefined when there is none.
function sumModelUsage(models: unknown): ClaudeUsage | undefined {
  if (!isObject(models)) return undefined;
  let inputTokens = 0;
  let outputTokens = 0;
  let seen = false;
  for (const usage of Object.values(models)) {
    if (!isObject(usage)) continue;
    inputTokens += numberOf(usage.inputTokens) ?? 0;
    outputTokens += numberOf(usage.outputTokens) ?? 0;
    seen = true;
  }
  return seen ? { inputTokens, outputTokens } : undefined;
}

function errorText(error: unknown): string | undefined {
  if (typeof error === 'string') return error;
  if (isObject(error)) return stringOf(error.message) ?? JSON.stringify(error);
  return undefined;
}

export interface ClaudeLineSplitterOptions {
  /**
   * Drop the first line: the text starts at a byte offset that may be inside a line (a resumed
   * tail). When the offset is known to be a line start, leave this off or a whole line is lost.
   * @default false
   */
  skipFirstPartial?: boolean;
}

/**
 * Cuts text arriving in arbitrary chunks into lines (without `\n` or a trailing `\r`). A long line
 * that arrives in many chunks is joined once, when its newline comes.
 */
export class ClaudeLineSplitter {
  private pending: string[] = [];
  private skipping: boolean;

  constructor(options: ClaudeLineSplitterOptions = {}) {
    this.skipping = options.skipFirstPartial ?? false;
  }

  /** The lines completed by this chunk, in order. */
  push(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const piece = text.slice(start, newline);
      start = newline + 1;
      const line = this.pending.length > 0 ? this.pending.join('') + piece : piece;
      this.pending = [];
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      lines.push(stripCarriageReturn(line));
    }
    if (start < text.length && !this.skipping) this.pending.push(text.slice(start));
    return lines;
  }

  /** The unterminated last line, if any (a stream cut short); the splitter is empty afterwards. */
  flush(): string | undefined {
    const rest = this.pending.join('');
    this.pending = [];
    this.skipping = false;
    return rest === '' ? undefined : stripCarriageReturn(rest);
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Collapses the text to one line and cuts it to `max` characters with `…`, never inside a surrogate pair. */
export function shortenLine(text: string, max: number): string {
  const oneLine = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  if (oneLine.length <= max) return oneLine;
  let cut = Math.max(0, max - 1);
  const code = oneLine.charCodeAt(cut);
  if (code >= 0xdc00 && code <= 0xdfff) cut--;
  return `${oneLine.slice(0, cut).trimEnd()}…`;
}

const TOOL_LINE_MAX = 100;

export interface DescribeToolUseOptions {
  /** The session's working directory: file paths under it are shown relative to it. @default undefined */
  cwd?: string;
}

/**
 * One short line saying what a tool call does: `Bash: cargo build`, `Edit: src/lib.rs`,
 * `Task: fix the tests`, `mcp:github:create_issue`, else the tool's name and its input as JSON.
 */
export function describeToolUse(name: string, input: unknown, options: DescribeToolUseOptions = {}): string {
  if (name.startsWith('mcp__')) {
    const [server = '', ...tool] = name.slice('mcp__'.length).split('__');
    return shortenLine(['mcp', server, ...(tool.length > 0 ? [tool.join('__')] : [])].join(':'), TOOL_LINE_MAX);
  }
  const fields = isObject(input) ? input : {};
  const detail = describeInput(name, fields, options.cwd);
  if (detail !== undefined && detail.trim() !== '') return shortenLine(`${name}: ${detail}`, TOOL_LINE_MAX);
  if (input === undefined || input === null || (isObject(input) && Object.keys(input).length === 0)) return name;
  return shortenLine(`${name} ${shortJson(input)}`, TOOL_LINE_MAX);
}

// The one input field that says the most about a call of a built-in tool.
function describeInput(name: string, input: JsonObject, cwd: string | undefined): string | undefined {
  const base = cwd?.replace(/\/+$/, '');
  const path = (value: unknown) => {
    const p = stringOf(value);
    return p !== undefined && base && p.startsWith(`${base}/`) ? p.slice(base.length + 1) : p;
  };
  switch (name) {
    case 'Bash': {
      const command = stringOf(input.command);
      if (command === undefined) return stringOf(input.description);
      const lines = command
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      return lines.length > 1 ? `${lines[0]} …` : lines[0];
    }
    case 'Read':
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
      return path(input.file_path);
    case 'NotebookEdit':
    case 'NotebookRead':
      return path(input.notebook_path);
    case 'LS':
      return path(input.path);
    case 'Glob':
    case 'Grep':
      return stringOf(input.pattern);
    case 'Task':
    case 'Agent':
      return stringOf(input.description) ?? stringOf(input.subagent_type);
    case 'WebFetch':
      return stringOf(input.url);
    case 'WebSearch':
      return stringOf(input.query);
    case 'TodoWrite': {
      if (!Array.isArray(input.todos)) return undefined;
      return `${input.todos.length} ${input.todos.length === 1 ? 'item' : 'items'}`;
    }
    default:
      return undefined;
  }
}

function shortJson(value: unknown): string {
  try {
    return shortenLine(JSON.stringify(value) ?? String(value), TOOL_LINE_MAX);
  } catch {
    return String(value);
  }
}
