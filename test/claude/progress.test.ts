import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClaudeProgress, LogWriter, parseRecordHash, TaskKeys } from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
afterAll(async () => {
  await deleteKeys(redis, `${keys.prefix}:*`);
  redis.disconnect();
});

const line = (value: unknown) => `${JSON.stringify(value)}\n`;
const assistant = (id: string, blocks: unknown[], extra: Record<string, unknown> = {}) =>
  line({
    type: 'assistant',
    message: { id, role: 'assistant', content: blocks, usage: { input_tokens: 100, output_tokens: 10 } },
    ...extra,
  });

describe('ClaudeProgress', () => {
  it('counts a message split into one line per block once, not as a sub-agent message, and records the result', async () => {
    const taskId = randomUUID();
    await redis.hset(keys.record(taskId), { id: taskId });
    const progress = new ClaudeProgress(redis, keys, taskId, undefined, 0);
    const stream = [
      line({ type: 'system', subtype: 'init', session_id: 's-1', model: 'claude-x', cwd: '/work/app' }),
      assistant('m1', [{ type: 'text', text: 'Let me look.' }]),
      assistant('m1', [{ type: 'tool_use', name: 'Edit', input: { file_path: '/work/app/src/lib.rs' } }]),
      assistant('m2', [{ type: 'tool_use', name: 'Task', input: { description: 'review' } }]),
      assistant('sub1', [{ type: 'tool_use', name: 'Read', input: { file_path: '/etc/hosts' } }], {
        parent_tool_use_id: 'toolu_1',
      }),
      line({ type: 'rate_limit_event' }),
      'not json at all\n',
    ].join('');
    // Shipped in awkward pieces: lines cut in the middle.
    for (let i = 0; i < stream.length; i += 37) progress.observe([{ stream: 'stdout', text: stream.slice(i, i + 37) }]);
    expect(progress.fields).toMatchObject({
      session_id: 's-1',
      model: 'claude-x',
      turns: 2,
      input_tokens: 200,
      output_tokens: 20,
      last_tool: 'Read: /etc/hosts',
    });
    expect(progress.failure(0)).toBe('claude exited without a result line');

    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'success',
          is_error: false,
          num_turns: 2,
          total_cost_usd: 0.25,
          duration_ms: 1200,
          result: 'All fixed.',
          session_id: 's-1',
        }),
      },
    ]);
    await progress.finish();
    expect(progress.failure(0)).toBeUndefined();
    const record = parseRecordHash({
      ...(await redis.hgetall(keys.record(taskId))),
      id: taskId,
      executor: 'x',
      executor_type: 'local',
      task_type: 'claude_code',
      created_at: '1',
      summary: 'p',
    });
    expect(record?.claude).toEqual({
      session_id: 's-1',
      model: 'claude-x',
      turns: 2,
      last_tool: 'Read: /etc/hosts',
      input_tokens: 200,
      output_tokens: 20,
      subtype: 'success',
      is_error: false,
      num_turns: 2,
      total_cost_usd: 0.25,
      duration_ms: 1200,
      result: 'All fixed.',
    });
  });

  it('never writes onto an ended or removed record', async () => {
    const ended = randomUUID();
    await redis.hset(keys.record(ended), { id: ended, finished_at: '1' });
    const late = new ClaudeProgress(redis, keys, ended, undefined, 0);
    late.observe([{ stream: 'stdout', text: line({ type: 'system', subtype: 'init', session_id: 's-9' }) }]);
    await late.finish();
    expect(await redis.hget(keys.record(ended), 'cc:session_id')).toBeNull();

    const removed = randomUUID();
    const orphan = new ClaudeProgress(redis, keys, removed, undefined, 0);
    orphan.observe([{ stream: 'stdout', text: line({ type: 'system', subtype: 'init', session_id: 's-9' }) }]);
    await orphan.finish();
    expect(await redis.exists(keys.record(removed))).toBe(0);
  });

  it('finds the result in the log when the worker it took over from shipped it but died before recording it', async () => {
    const taskId = randomUUID();
    await redis.hset(keys.record(taskId), { id: taskId });
    const result = {
      type: 'result',
      subtype: 'success',
      is_error: false,
      num_turns: 3,
      result: 'ok',
      session_id: 's-3',
    };
    await new LogWriter(redis, keys, taskId, { maxEntries: 1000, maxBytes: 1 << 30 }).append([
      { stream: 'stdout', text: `${line({ type: 'system', subtype: 'init', session_id: 's-3' })}${line(result)}` },
    ]);
    const successor = new ClaudeProgress(redis, keys, taskId, { session_id: 's-3', turns: 3 }, 4096);
    await successor.finish();
    expect(successor.failure(0)).toBeUndefined();
    expect(successor.fields).toMatchObject({ subtype: 'success', num_turns: 3, result: 'ok' });
  });

  it('calls a result with is_error a failure even after exit 0, and keeps counting from a re-attach', async () => {
    const resumed = new ClaudeProgress(redis, keys, randomUUID(), { session_id: 's-2', turns: 4 }, 512);
    // The first line after a mid-stream resume is a tail: ignored.
    resumed.observe([
      { stream: 'stdout', text: `tail of a line"}\n${assistant('m9', [{ type: 'text', text: 'more' }])}` },
    ]);
    expect(resumed.fields.turns).toBe(5);
    resumed.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'error_max_budget_usd',
          is_error: true,
          num_turns: 5,
          result: 'budget spent',
        }),
      },
    ]);
    await resumed.finish();
    expect(resumed.failure(0)).toBe('claude error_max_budget_usd after 5 turns: budget spent');
  });

  it('counts tokens the way the real stream allows, and never replaces a count with a zero', () => {
    const progress = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    // Each line carries its message's usage as the message started: output 1.
    const started = (id: string) =>
      line({
        type: 'assistant',
        message: {
          id,
          model: 'claude-sonnet-4-5',
          content: [{ type: 'text', text: 'x' }],
          usage: { input_tokens: 1200, output_tokens: 1 },
        },
      });
    progress.observe([{ stream: 'stdout', text: started('m1') + started('m1') + started('m2') }]);
    expect(progress.fields).toMatchObject({ input_tokens: 2400, output_tokens: 2 });
    // The result's total replaces the estimate…
    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'success',
          is_error: false,
          num_turns: 2,
          usage: { input_tokens: 2500, output_tokens: 49 },
          result: 'ok',
        }),
      },
    ]);
    expect(progress.fields).toMatchObject({ input_tokens: 2500, output_tokens: 49 });
    // …but a budget stop's zero usage does not: the per-model count does.
    const budget = {
      type: 'result',
      subtype: 'error_max_budget_usd',
      is_error: true,
      num_turns: 1,
      usage: { input_tokens: 0, output_tokens: 0 },
      modelUsage: { 'claude-sonnet-4-5': { inputTokens: 50_000, outputTokens: 2000 } },
    };
    progress.observe([{ stream: 'stdout', text: line(budget) }]);
    expect(progress.fields).toMatchObject({ input_tokens: 50_000, output_tokens: 2000 });
    progress.observe([{ stream: 'stdout', text: line({ ...budget, modelUsage: {} }) }]);
    expect(progress.fields).toMatchObject({ input_tokens: 50_000, output_tokens: 2000 });
  });

  it("shows one model name and one count of turns: the messages' model, the CLI's num_turns", () => {
    const progress = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    progress.observe([
      {
        stream: 'stdout',
        text: line({ type: 'system', subtype: 'init', session_id: 's', model: 'claude-opus-4-8[1m]' }),
      },
    ]);
    expect(progress.fields.model).toBe('claude-opus-4-8');
    progress.observe([
      { stream: 'stdout', text: assistant('m1', [{ type: 'tool_use', name: 'Bash', input: { command: 'ls' } }]) },
    ]);
    expect(progress.fields.turns).toBe(1);
    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'error_max_turns',
          is_error: true,
          num_turns: 2,
          errors: ['Reached maximum number of turns (1)'],
        }),
      },
    ]);
    expect(progress.fields).toMatchObject({ turns: 2, num_turns: 2 });
    expect(progress.failure(1)).toBe('claude error_max_turns after 2 turns: Reached maximum number of turns (1)');
  });

  it('says what an API error was, its retries, and why claude would not start', () => {
    const progress = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    const retry = (attempt: number) =>
      line({
        type: 'system',
        subtype: 'api_retry',
        attempt,
        max_retries: 10,
        retry_delay_ms: 599,
        error_status: 401,
        error: 'authentication_failed',
      });
    progress.observe([
      {
        stream: 'stdout',
        text: line({ type: 'system', subtype: 'init', session_id: 's' }) + retry(1) + retry(2) + retry(3),
      },
    ]);
    expect(progress.fields).toMatchObject({
      last_event: '⟳ API retry 3/10: 401 authentication_failed',
      api_retries: 3,
    });
    const text = 'Invalid API key · Fix external API key';
    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'success',
          is_error: true,
          num_turns: 1,
          api_error_status: 401,
          result: text,
        }),
      },
    ]);
    expect(progress.failure(1)).toBe(`claude API error 401 after 1 turn: ${text}`);
    expect(progress.usageLimit()).toBeUndefined();

    // A failed result that says `subtype: "success"` and no API status reads as an error, not a success.
    const unexplained = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    unexplained.observe([
      {
        stream: 'stdout',
        text: line({ type: 'result', subtype: 'success', is_error: true, num_turns: 1, result: 'Invalid API key' }),
      },
    ]);
    expect(unexplained.failure(1)).toBe('claude error after 1 turn: Invalid API key');

    const refused = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    refused.observe([{ stream: 'stderr', text: "error: unknown option '--bogus'\n" }]);
    expect(refused.failure(1)).toBe("claude could not start: error: unknown option '--bogus'");
  });

  it('knows a usage limit when it ends on one, and when the limit resets', () => {
    const progress = new ClaudeProgress(redis, keys, randomUUID(), undefined, 0);
    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'rate_limit_event',
          rate_limit_info: { status: 'rejected', resetsAt: 1_796_541_474, rateLimitType: 'five_hour' },
        }),
      },
    ]);
    progress.observe([
      {
        stream: 'stdout',
        text: line({
          type: 'result',
          subtype: 'success',
          is_error: true,
          num_turns: 1,
          api_error_status: 429,
          api_error: 'usage_limit_reached',
          result: "You've hit your 5-hour limit · resets 7:17am (UTC)",
        }),
      },
    ]);
    expect(progress.usageLimit()).toEqual({ resetsAt: 1_796_541_474_000 });
  });
});
