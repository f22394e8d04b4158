// A running Claude task's progress on its record, read from its output: session, turns, last
// tool, tokens and the result; and why a run failed, or that it hit the usage limit.
import type { RedisClient } from '../redis/connection.js';
import {
  ClaudeLineSplitter,
  describeClaudeEvent,
  describeToolUse,
  parseClaudeLine,
  type ClaudeEvent,
} from './stream.js';
import { LuaScript } from '../redis/lua-script.js';
import { readLogTail, type OutputChunk } from '../logs/log-stream.js';
import type { TaskKeys } from '../tasks/keys.js';
import { claudeFields, type ClaudeProgressFields } from '../tasks/record.js';

/**
 * Progress goes only onto a live record: not after the task ended (its retention clock runs) and
 * not onto a record `cleanup` removed, which a late write would otherwise bring back.
 */
const PROGRESS_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`);

/** How often progress is written to the record while a Claude task runs. */
const FLUSH_EVERY_MS = 500;

/**
 * Follows a Claude task's stream-json output as the worker ships it, and keeps what an operator
 * wants to see on the task record: session, model, turns so far, the last tool call, tokens; at
 * the end the result (subtype, cost, duration, text). Writes are batched every half second and
 * once more at the end; a worker that re-attaches starts from the fields already recorded.
 */
export class ClaudeProgress {
  private readonly state: ClaudeProgressFields;
  private readonly splitter: ClaudeLineSplitter;
  private dirty: ClaudeProgressFields = {};
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private sawResult = false;
  private readonly resumed: boolean;
  /** The real CLI prints one assistant line per content block, repeating the message id and usage. */
  private lastMessageId: string | undefined;
  private cwd: string | undefined;
  /** stderr, for the reason `claude` gives when it refuses to start. */
  private readonly stderr = new ClaudeLineSplitter();
  private lastStderr: string | undefined;
  /** When the account's usage limit resets (ms), as the last `rate_limit_event` said. */
  private limitResetsAt: number | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskKeys,
    private readonly taskId: string,
    recorded: ClaudeProgressFields | undefined,
    /** Output shipped before this worker took over: the first line may be a tail. */
    resumedAtByte: number,
  ) {
    this.state = { ...recorded };
    this.sawResult = recorded?.subtype !== undefined;
    // Resuming at a byte offset (almost always a line boundary: claude writes whole lines): a
    // first line that is a tail does not parse as JSON, and parseClaudeLine ignores it.
    this.resumed = resumedAtByte > 0;
    this.splitter = new ClaudeLineSplitter();
  }

  get fields(): Readonly<ClaudeProgressFields> {
    return this.state;
  }

  /** Feeds shipped output: stdout carries the stream; stderr's last line is kept. */
  observe(chunks: readonly OutputChunk[]): void {
    for (const chunk of chunks) {
      if (chunk.stream === 'stderr') {
        const text = typeof chunk.text === 'string' ? chunk.text : chunk.text.toString('utf8');
        for (const line of this.stderr.push(text)) if (line.trim() !== '') this.lastStderr = line.trim();
        continue;
      }
      if (chunk.stream !== 'stdout') continue;
      const text = typeof chunk.text === 'string' ? chunk.text : chunk.text.toString('utf8');
      for (const line of this.splitter.push(text)) {
        const event = parseClaudeLine(line);
        if (event) this.apply(event);
      }
    }
    if (Object.keys(this.dirty).length > 0) this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /** Writes what changed since the last write (the result at once, when it arrives). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const fields = claudeFields(this.dirty);
    this.dirty = {};
    if (Object.keys(fields).length === 0) return this.writing;
    const args = Object.entries(fields).flat();
    this.writing = this.writing
      .then(() => PROGRESS_SCRIPT.run(this.redis, [this.keys.record(this.taskId)], args).then(() => undefined))
      .catch(() => undefined);
    return this.writing;
  }

  /**
   * Ends observing: the last partial line (a result without its newline), then a final write.
   * A worker that took over after the result line was shipped (and its predecessor died before
   * recording it) finds the result in the log stream itself, and a usage limit's reset time.
   */
  async finish(): Promise<void> {
    const rest = this.splitter.flush();
    const event = rest === undefined ? undefined : parseClaudeLine(rest);
    if (event) this.apply(event);
    if (this.resumed && (!this.sawResult || (this.usageLimit() !== undefined && this.limitResetsAt === undefined)))
      await this.recoverResult();
    await this.flush();
  }

  private async recoverResult(): Promise<void> {
    const { entries } = await readLogTail(this.redis, this.keys, this.taskId, 200).catch(() => ({ entries: [] }));
    const stdout = entries.map((e) => (e.kind === 'output' && e.stream === 'stdout' ? e.text : '')).join('');
    const events = stdout.split('\n').map(parseClaudeLine);
    const result = events.filter((e): e is Extract<ClaudeEvent, { kind: 'result' }> => e?.kind === 'result').at(-1);
    if (result && !this.sawResult) this.apply(result);
    // A usage limit's reset time comes in a line before the result.
    const limit = events
      .filter((e): e is Extract<ClaudeEvent, { kind: 'rate_limit' }> => e?.kind === 'rate_limit')
      .at(-1);
    if (limit) this.apply(limit);
  }

  /**
   * Whether the run failed by the contract even when `claude` exited 0 (is_error, or a subtype
   * other than success), and why in one line; undefined when it succeeded.
   */
  failure(exitCode: number | null): string | undefined {
    const s = this.state;
    if (!this.sawResult) {
      if (exitCode === 0) return 'claude exited without a result line';
      // It refused to start (a bad flag, root with bypassPermissions): the reason is on stderr.
      const reason = this.lastStderr ?? this.stderr.flush()?.trim();
      return s.session_id === undefined && reason ? `claude could not start: ${oneLine(reason, 200)}` : undefined;
    }
    if (s.is_error !== true && s.subtype === 'success') return undefined;
    const detail = s.result && s.result.trim() !== '' ? `: ${oneLine(s.result, 200)}` : '';
    // A failed run may still say `subtype: "success"` (an invalid API key does): that is no success.
    const what =
      s.api_error_status !== undefined
        ? `API error ${s.api_error_status}`
        : s.subtype === undefined || s.subtype === 'success'
          ? 'error'
          : s.subtype;
    const turns = s.num_turns !== undefined ? ` after ${s.num_turns} ${s.num_turns === 1 ? 'turn' : 'turns'}` : '';
    return `claude ${what}${turns}${detail}`;
  }

  /**
   * When the run ended on the account's usage limit (the `usage_limit_reached` error, or a 429
   * the CLI gave up on): when it resets, as far as the stream said. Undefined otherwise.
   */
  usageLimit(): { resetsAt?: number } | undefined {
    const s = this.state;
    if (s.api_error !== 'usage_limit_reached' && s.api_error_status !== 429) return undefined;
    return this.limitResetsAt === undefined ? {} : { resetsAt: this.limitResetsAt };
  }

  private apply(event: ClaudeEvent): void {
    const set = (fields: ClaudeProgressFields) => {
      Object.assign(this.state, fields);
      Object.assign(this.dirty, fields);
    };
    switch (event.kind) {
      case 'init':
        this.cwd = event.cwd;
        // `claude-sonnet-4-5[1m]` asks for the 1M context; the messages name the model itself.
        set({
          session_id: event.sessionId ?? this.state.session_id,
          model: event.model?.replace(/\[[^\]]*\]$/, '') ?? this.state.model,
        });
        break;
      case 'assistant': {
        const fields: ClaudeProgressFields = {};
        const tool = [...event.blocks].reverse().find((b) => b.kind === 'tool_use');
        if (tool && tool.kind === 'tool_use')
          fields.last_tool = describeToolUse(tool.name, tool.input, { cwd: this.cwd });
        // A sub-agent's messages are not turns of this session.
        const newMessage =
          event.parentToolUseId === undefined &&
          (event.messageId === undefined || event.messageId !== this.lastMessageId);
        if (event.messageId !== undefined) this.lastMessageId = event.messageId;
        if (newMessage) fields.turns = (this.state.turns ?? 0) + 1;
        // Each line carries its message's usage as it started (output 1): counted once per message;
        // the result line's count replaces these.
        if (newMessage && event.usage) {
          fields.input_tokens = (this.state.input_tokens ?? 0) + (event.usage.inputTokens ?? 0);
          fields.output_tokens = (this.state.output_tokens ?? 0) + (event.usage.outputTokens ?? 0);
        }
        if (event.model !== undefined && event.model !== '<synthetic>' && event.parentToolUseId === undefined)
          fields.model = event.model;
        set(fields);
        break;
      }
      case 'api_retry':
        set({
          last_event: describeClaudeEvent(event),
          ...(event.attempt !== undefined ? { api_retries: event.attempt } : {}),
        });
        break;
      case 'task_started':
      case 'task_notification':
        set({ last_event: describeClaudeEvent(event) });
        break;
      case 'rate_limit':
        if (event.status === 'rejected' && event.resetsAt !== undefined) this.limitResetsAt = event.resetsAt;
        break;
      case 'result': {
        this.sawResult = true;
        // The CLI's count wins, where it has one: `usage` (zeros on a budget stop), else `modelUsage`.
        const counted = (field: 'inputTokens' | 'outputTokens') => {
          const value = [event.usage?.[field], event.modelUsage?.[field]].find((n) => n !== undefined && n > 0);
          return value === undefined ? {} : { [field === 'inputTokens' ? 'input_tokens' : 'output_tokens']: value };
        };
        set({
          session_id: event.sessionId ?? this.state.session_id,
          subtype: event.subtype,
          is_error: event.isError,
          num_turns: event.numTurns,
          // One count of turns: the CLI's.
          ...(event.numTurns !== undefined ? { turns: event.numTurns } : {}),
          total_cost_usd: event.totalCostUsd,
          duration_ms: event.durationMs,
          result: event.result ?? event.errors?.join('; '),
          api_error_status: event.apiErrorStatus,
          api_error: event.apiError,
          ...counted('inputTokens'),
          ...counted('outputTokens'),
        });
        void this.flush();
        break;
      }
      default:
        break;
    }
  }
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
