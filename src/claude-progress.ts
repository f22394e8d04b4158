import type { Redis } from 'ioredis';
import { ClaudeLineSplitter, describeToolUse, parseClaudeLine, type ClaudeEvent } from './claude-stream.js';
import { InvalidInputError } from './errors.js';
import { LuaScript } from './lua-script.js';
import { readLogTail, type OutputChunk } from './log-stream.js';
import type { TaskKeys } from './task-keys.js';
import type { TaskGit } from './git/task-worktree.js';
import { claudeFields, type ClaudeProgressFields, type TaskView } from './task-record.js';

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

  constructor(
    private readonly redis: Redis,
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

  /** Feeds shipped output; only stdout carries the stream. */
  observe(chunks: readonly OutputChunk[]): void {
    for (const chunk of chunks) {
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
    this.writing = this.writing.then(() => PROGRESS_SCRIPT.run(this.redis, [this.keys.record(this.taskId)], args).then(() => undefined)).catch(() => undefined);
    return this.writing;
  }

  /**
   * Ends observing: the last partial line (a result without its newline), then a final write.
   * A worker that took over after the result line was shipped (and its predecessor died before
   * recording it) finds the result in the log stream itself.
   */
  async finish(): Promise<void> {
    const rest = this.splitter.flush();
    const event = rest === undefined ? undefined : parseClaudeLine(rest);
    if (event) this.apply(event);
    if (!this.sawResult && this.resumed) await this.recoverResult();
    await this.flush();
  }

  private async recoverResult(): Promise<void> {
    const { entries } = await readLogTail(this.redis, this.keys, this.taskId, 200).catch(() => ({ entries: [] }));
    const stdout = entries.map((e) => (e.kind === 'output' && e.stream === 'stdout' ? e.text : '')).join('');
    const result = stdout
      .split('\n')
      .map(parseClaudeLine)
      .filter((e): e is Extract<ClaudeEvent, { kind: 'result' }> => e?.kind === 'result')
      .at(-1);
    if (result) this.apply(result);
  }

  /**
   * Whether the run failed by the contract even when `claude` exited 0 (is_error, or a subtype
   * other than success), and why in one line; undefined when it succeeded.
   */
  failure(exitCode: number | null): string | undefined {
    const s = this.state;
    if (!this.sawResult) return exitCode === 0 ? 'claude exited without a result line' : undefined;
    if (s.is_error !== true && s.subtype === 'success') return undefined;
    const detail = s.result && s.result.trim() !== '' ? `: ${oneLine(s.result, 200)}` : '';
    return `claude ${s.subtype ?? 'error'}${s.num_turns !== undefined ? ` after ${s.num_turns} turns` : ''}${detail}`;
  }

  private apply(event: ClaudeEvent): void {
    const set = (fields: ClaudeProgressFields) => {
      Object.assign(this.state, fields);
      Object.assign(this.dirty, fields);
    };
    switch (event.kind) {
      case 'init':
        this.cwd = event.cwd;
        set({ session_id: event.sessionId ?? this.state.session_id, model: event.model ?? this.state.model });
        break;
      case 'assistant': {
        const fields: ClaudeProgressFields = {};
        const tool = [...event.blocks].reverse().find((b) => b.kind === 'tool_use');
        if (tool && tool.kind === 'tool_use') fields.last_tool = describeToolUse(tool.name, tool.input, { cwd: this.cwd });
        // A sub-agent's messages are not turns of this session.
        const newMessage = event.parentToolUseId === undefined && (event.messageId === undefined || event.messageId !== this.lastMessageId);
        if (event.messageId !== undefined) this.lastMessageId = event.messageId;
        if (newMessage) fields.turns = (this.state.turns ?? 0) + 1;
        if (newMessage && event.usage) {
          fields.input_tokens = (this.state.input_tokens ?? 0) + (event.usage.inputTokens ?? 0);
          fields.output_tokens = (this.state.output_tokens ?? 0) + (event.usage.outputTokens ?? 0);
        }
        set(fields);
        break;
      }
      case 'result':
        this.sawResult = true;
        set({
          session_id: event.sessionId ?? this.state.session_id,
          subtype: event.subtype,
          is_error: event.isError,
          num_turns: event.numTurns,
          total_cost_usd: event.totalCostUsd,
          duration_ms: event.durationMs,
          result: event.result ?? event.errors?.join('; '),
          ...(event.usage?.inputTokens !== undefined ? { input_tokens: event.usage.inputTokens } : {}),
          ...(event.usage?.outputTokens !== undefined ? { output_tokens: event.usage.outputTokens } : {}),
        });
        void this.flush();
        break;
      default:
        break;
    }
  }
}

/** What `start --continue` takes from an earlier task: its executor, workspace and session. */
export function continuationOf(view: TaskView): { taskId: string; executor: string; workspace?: string; sessionId: string; git?: TaskGit } {
  const r = view.record;
  if (r.taskType !== 'claude_code') throw new InvalidInputError(`task ${r.id} is a shell command; only Claude tasks can be continued`);
  const sessionId = r.claude?.session_id;
  if (!sessionId) {
    throw new InvalidInputError(`task ${r.id} has no Claude session yet (${view.status}); continue it once it has started`);
  }
  return { taskId: r.id, executor: r.executor, workspace: r.workdir, sessionId, git: r.git };
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
