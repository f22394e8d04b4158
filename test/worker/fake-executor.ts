import {
  DetachedError,
  resultFromExitCode,
  type CleanedUp,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
} from '../../src/executors/executor.js';
import type { OutputChunk } from '../../src/logs/log-stream.js';
import type { TaskRequest } from '../../src/tasks/request.js';
import type { ExecutorType } from '../../src/tasks/record.js';
import type { StopRequest } from '../../src/tasks/stop.js';

/** What the processor handed the fake on one call of `execute`, and what happened during it. */
export interface FakeCall {
  taskId: string;
  /** When the call began (ms). */
  at: number;
  /** The run number the processor passed (`ctx.attempt`). */
  attempt: number;
  request: TaskRequest;
  /** The record's handle as the call began: non-empty means the processor asks for a re-attach. */
  handle: Record<string, string>;
  /** The record's `attemptStartedAt` as the call began. */
  attemptStartedAt: number | undefined;
  /** The record's checkpoint as the call began (where shipping resumes). */
  checkpoint: Record<string, string>;
  /** The stop request `ctx.stop` tripped with while the call ran, if it did. */
  stop: StopRequest | undefined;
  /** Whether the worker's shutdown signal aborted while the call ran. */
  detached: boolean;
}

/** What the fake does on one call: a test's script, given the context and this call's record. */
export type FakeRun = (ctx: ExecutionContext, call: FakeCall, io: FakeIo) => Promise<ExecutionResult>;

/** What a scripted run uses to act like a real executor. */
export interface FakeIo {
  /** Records the handle (as a real executor does once its process is up). */
  start(handle?: Record<string, string>, pid?: number): Promise<void>;
  /** Ships stdout (or stderr) with the checkpoint moved along, as a real executor does. */
  write(text: string, stream?: OutputChunk['stream']): Promise<void>;
  /** Resolves with the stop request when `ctx.stop` trips; rejects with DetachedError when the worker shuts down. */
  stopped(): Promise<StopRequest>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * An in-memory Executor that the test scripts call by call: the n-th `execute` runs `runs[n]`
 * (the last one again once they are used up). It keeps every call (what the processor asked
 * for, whether the record held a handle, the stop request it was given), and `started(n)` waits
 * until the n-th call has recorded its handle.
 */
export class FakeExecutor implements Executor {
  readonly type: ExecutorType = 'local';
  readonly calls: FakeCall[] = [];
  private readonly startedCalls: Deferred<FakeCall>[] = [];
  private readonly runs: FakeRun[];

  constructor(...runs: FakeRun[]) {
    if (runs.length === 0) throw new Error('FakeExecutor needs at least one run');
    this.runs = runs;
  }

  /** Nothing of a fake run is left anywhere: nothing to remove. */
  cleanup(): Promise<CleanedUp> {
    return Promise.resolve({ dirs: [], containers: [] });
  }

  /** Resolves when call `index` (0-based) has called `markStarted`. */
  started(index: number): Promise<FakeCall> {
    return this.startedOf(index).promise;
  }

  private startedOf(index: number): Deferred<FakeCall> {
    while (this.startedCalls.length <= index) this.startedCalls.push(deferred());
    return this.startedCalls[index]!;
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    const index = this.calls.length;
    const call: FakeCall = {
      taskId: ctx.taskId,
      at: Date.now(),
      attempt: ctx.attempt,
      request: ctx.request,
      handle: { ...ctx.record.handle },
      attemptStartedAt: ctx.record.attemptStartedAt,
      checkpoint: { ...ctx.record.checkpoint },
      stop: undefined,
      detached: false,
    };
    this.calls.push(call);
    const unsubscribe = ctx.stop.onTrip((request) => (call.stop = request));
    const onAbort = () => (call.detached = true);
    ctx.signal.addEventListener('abort', onAbort);
    // Shipping resumes where the record's checkpoint says, like a re-attaching executor.
    const shipped = {
      stdout: Number(ctx.record.checkpoint.stdout ?? 0) || 0,
      stderr: Number(ctx.record.checkpoint.stderr ?? 0) || 0,
    };
    const io: FakeIo = {
      start: async (handle = { fake: `${ctx.taskId}.${ctx.attempt}` }, pid = 40_000 + ctx.attempt) => {
        await ctx.markStarted(handle, pid);
        this.startedOf(index).resolve(call);
      },
      write: async (text, stream = 'stdout') => {
        if (stream === 'system') throw new Error('the fake ships stdout and stderr only');
        shipped[stream] += Buffer.byteLength(text);
        await ctx.log.append([{ stream, text }], { [stream]: String(shipped[stream]) });
      },
      stopped: () =>
        new Promise<StopRequest>((resolve, reject) => {
          const onShutdown = () => reject(new DetachedError());
          if (ctx.signal.aborted) return onShutdown();
          ctx.signal.addEventListener('abort', onShutdown, { once: true });
          ctx.stop.onTrip((request) => {
            ctx.signal.removeEventListener('abort', onShutdown);
            resolve(request);
          });
        }),
    };
    try {
      const run = this.runs[Math.min(index, this.runs.length - 1)]!;
      return await run(ctx, call, io);
    } finally {
      unsubscribe();
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Starts, prints `output`, exits with `code`. */
export function exits(code: number, output = ''): FakeRun {
  return async (_ctx, _call, io) => {
    await io.start();
    if (output !== '') await io.write(output);
    return resultFromExitCode(code);
  };
}

/**
 * Starts (or, given a handle, re-attaches: marks started with the same handle, keeping the
 * clock), prints `output`, and runs until stopped: then it ends as a shell reports SIGTERM
 * (exit 143) with `stopped: true`, as the contract says. When the worker shuts down it rejects
 * with DetachedError, leaving the "process" running.
 */
export function runsUntilStopped(output = ''): FakeRun {
  return async (_ctx, call, io) => {
    await io.start(Object.keys(call.handle).length > 0 ? call.handle : undefined);
    if (output !== '') await io.write(output);
    await io.stopped();
    return { outcome: 'failed', exitCode: 143, signal: null, stopped: true };
  };
}

/** One line of Claude's stream-json output. */
export const jsonLine = (value: Record<string, unknown>): string => `${JSON.stringify(value)}\n`;

/**
 * What the `claude` CLI prints for a subscriber at the account's usage limit (as
 * test/fixtures/fake-claude.mjs does for `limit:S`): init, a rejected rate_limit_event resetting at
 * `resetsAtSeconds`, the CLI's synthetic message, and a result with is_error, api_error
 * usage_limit_reached and api_error_status 429. The run then exits 1.
 */
export function usageLimitLines(sessionId: string, resetsAtSeconds: number): string[] {
  const info = {
    status: 'rejected',
    resetsAt: resetsAtSeconds,
    rateLimitType: 'five_hour',
    overageStatus: 'rejected',
    isUsingOverage: false,
  };
  const text = "You've hit your 5-hour limit · resets 5pm (UTC)";
  return [
    initLine(sessionId),
    jsonLine({ type: 'rate_limit_event', rate_limit_info: info, session_id: sessionId }),
    jsonLine({
      type: 'assistant',
      message: {
        id: 'msg_limit',
        role: 'assistant',
        model: '<synthetic>',
        content: [{ type: 'text', text }],
        usage: { input_tokens: 0, output_tokens: 0 },
      },
      parent_tool_use_id: null,
      session_id: sessionId,
      is_api_error_message: true,
    }),
    jsonLine({
      type: 'result',
      subtype: 'success',
      is_error: true,
      num_turns: 1,
      session_id: sessionId,
      total_cost_usd: 0,
      api_error_status: 429,
      api_error_type: 'rate_limit_error',
      api_error: 'usage_limit_reached',
      result: text,
    }),
  ];
}

// The stream's first line, as the real CLI prints it.
const initLine = (sessionId: string) =>
  jsonLine({
    type: 'system',
    subtype: 'init',
    session_id: sessionId,
    model: 'claude-sonnet-4-5',
    cwd: '/work',
    tools: ['Bash'],
  });

/** A Claude run that succeeds in session `sessionId` (a resumed one says so first). */
export function successLines(sessionId: string, resumed: boolean): string[] {
  return [
    initLine(sessionId),
    ...(resumed
      ? [
          jsonLine({
            type: 'assistant',
            message: {
              id: 'msg_resume',
              role: 'assistant',
              model: 'claude-sonnet-4-5',
              content: [{ type: 'text', text: `resuming ${sessionId}` }],
            },
            parent_tool_use_id: null,
            session_id: sessionId,
          }),
        ]
      : []),
    jsonLine({
      type: 'result',
      subtype: 'success',
      is_error: false,
      num_turns: 2,
      session_id: sessionId,
      total_cost_usd: 0.0024,
      result: 'done',
    }),
  ];
}

/** A Claude run: starts, prints `lines` (one append each), exits with `code`. */
export function claudeRun(lines: string[], code: number): FakeRun {
  return async (_ctx, _call, io) => {
    await io.start();
    for (const line of lines) await io.write(line);
    return resultFromExitCode(code);
  };
}

/**
 * Re-attaches when the record holds a handle (marks started with it again, which keeps the clock;
 * starts afresh otherwise), prints `output`, exits with `code`.
 */
export function reattachesAndExits(code: number, output = ''): FakeRun {
  return async (_ctx, call, io) => {
    await io.start(Object.keys(call.handle).length > 0 ? call.handle : undefined);
    if (output !== '') await io.write(output);
    return resultFromExitCode(code);
  };
}
