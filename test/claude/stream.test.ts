import { describe, expect, it } from 'vitest';
import {
  ClaudeLineSplitter,
  describeToolUse,
  isFailedResult,
  parseClaudeLine,
  TranscriptRenderer,
  type ClaudeResultEvent,
} from '../../src/index.js';

// Lines as `claude -p --output-format stream-json --verbose` prints them (trimmed of fields we ignore).
const SESSION = '4f1c2a9e-7d3b-4e8a-9c21-5b6d7e8f9a0b';
const line = (value: unknown) => JSON.stringify(value);
const INIT = line({
  type: 'system',
  subtype: 'init',
  cwd: '/home/dev/app',
  session_id: SESSION,
  tools: ['Task', 'Bash', 'Edit', 'mcp__github__create_issue'],
  mcp_servers: [{ name: 'github', status: 'connected' }],
  model: 'claude-sonnet-4-5-20250929',
  permissionMode: 'default',
  apiKeySource: 'ANTHROPIC_API_KEY',
});
const ASSISTANT = line({
  type: 'assistant',
  message: {
    id: 'msg_01A',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [
      { type: 'thinking', thinking: 'The build fails in lib.rs.', signature: 'sig' },
      { type: 'text', text: 'Let me build it first.' },
      {
        type: 'tool_use',
        id: 'toolu_01',
        name: 'Bash',
        input: { command: 'cargo build --release\ncargo test', description: 'Build' },
      },
      {
        type: 'tool_use',
        id: 'toolu_02',
        name: 'Edit',
        input: { file_path: '/home/dev/app/src/lib.rs', old_string: 'a', new_string: 'b' },
      },
      {
        type: 'tool_use',
        id: 'toolu_03',
        name: 'mcp__github__create_issue',
        input: { title: 'Flaky test', body: 'x' },
      },
      {
        type: 'tool_use',
        id: 'toolu_04',
        name: 'Task',
        input: { description: 'Find flaky tests', prompt: 'Look for…', subagent_type: 'general-purpose' },
      },
    ],
    stop_reason: 'tool_use',
    usage: {
      input_tokens: 12,
      cache_creation_input_tokens: 4850,
      cache_read_input_tokens: 12610,
      output_tokens: 230,
      service_tier: 'standard',
    },
  },
  parent_tool_use_id: null,
  session_id: SESSION,
});
const RESULT_STRING = line({
  type: 'user',
  message: {
    role: 'user',
    content: [
      {
        tool_use_id: 'toolu_01',
        type: 'tool_result',
        content: '   Compiling app v0.1.0\n    Finished release\n',
        is_error: false,
      },
    ],
  },
  parent_tool_use_id: null,
  session_id: SESSION,
});
const RESULT_ARRAY_ERROR = line({
  type: 'user',
  message: {
    role: 'user',
    content: [
      {
        tool_use_id: 'toolu_02',
        type: 'tool_result',
        content: [
          { type: 'text', text: 'String to replace not found in file.' },
          { type: 'image', source: {} },
        ],
        is_error: true,
      },
    ],
  },
  parent_tool_use_id: null,
  session_id: SESSION,
});
const SUCCESS = line({
  type: 'result',
  subtype: 'success',
  is_error: false,
  duration_ms: 12_340,
  duration_api_ms: 11_000,
  num_turns: 3,
  result: 'Fixed the build.',
  session_id: SESSION,
  total_cost_usd: 0.0123,
  usage: { input_tokens: 40, cache_read_input_tokens: 500, output_tokens: 900 },
  permission_denials: [],
});
const MAX_TURNS = line({
  type: 'result',
  subtype: 'error_max_turns',
  is_error: false,
  duration_ms: 61_000,
  num_turns: 2,
  session_id: SESSION,
  total_cost_usd: 0.5,
  errors: ['Reached maximum number of turns (2)'],
});
const API_RETRY = line({
  type: 'system',
  subtype: 'api_retry',
  attempt: 1,
  max_retries: 10,
  retry_delay_ms: 500,
  error_status: 529,
  error: 'overloaded_error',
  session_id: SESSION,
});
const RATE_LIMIT = line({
  type: 'rate_limit_event',
  rate_limit_info: { status: 'allowed', rateLimitType: 'five_hour' },
  session_id: SESSION,
});
const STREAM_EVENT = line({
  type: 'stream_event',
  event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
  session_id: SESSION,
});

describe('parseClaudeLine', () => {
  it('reads the init line: session, model, cwd and tools', () => {
    expect(parseClaudeLine(INIT)).toEqual({
      kind: 'init',
      sessionId: SESSION,
      model: 'claude-sonnet-4-5-20250929',
      cwd: '/home/dev/app',
      tools: ['Task', 'Bash', 'Edit', 'mcp__github__create_issue'],
    });
  });

  it('reads an assistant message with its blocks, message id and usage', () => {
    const event = parseClaudeLine(ASSISTANT);
    expect(event).toMatchObject({
      kind: 'assistant',
      messageId: 'msg_01A',
      usage: { inputTokens: 12, outputTokens: 230, cacheReadTokens: 12610, cacheCreationTokens: 4850 },
    });
    expect(event?.kind === 'assistant' && event.blocks).toEqual([
      { kind: 'thinking', text: 'The build fails in lib.rs.' },
      { kind: 'text', text: 'Let me build it first.' },
      {
        kind: 'tool_use',
        id: 'toolu_01',
        name: 'Bash',
        input: { command: 'cargo build --release\ncargo test', description: 'Build' },
      },
      {
        kind: 'tool_use',
        id: 'toolu_02',
        name: 'Edit',
        input: { file_path: '/home/dev/app/src/lib.rs', old_string: 'a', new_string: 'b' },
      },
      {
        kind: 'tool_use',
        id: 'toolu_03',
        name: 'mcp__github__create_issue',
        input: { title: 'Flaky test', body: 'x' },
      },
      {
        kind: 'tool_use',
        id: 'toolu_04',
        name: 'Task',
        input: { description: 'Find flaky tests', prompt: 'Look for…', subagent_type: 'general-purpose' },
      },
    ]);
  });

  it('reads tool results whose content is a string or an array of blocks, with is_error', () => {
    expect(parseClaudeLine(RESULT_STRING)).toEqual({
      kind: 'user',
      blocks: [
        {
          kind: 'tool_result',
          toolUseId: 'toolu_01',
          text: '   Compiling app v0.1.0\n    Finished release\n',
          isError: false,
        },
      ],
    });
    expect(parseClaudeLine(RESULT_ARRAY_ERROR)).toEqual({
      kind: 'user',
      blocks: [
        {
          kind: 'tool_result',
          toolUseId: 'toolu_02',
          text: 'String to replace not found in file.\n[image]',
          isError: true,
        },
      ],
    });
  });

  it('marks the messages of a sub-agent with the tool call they belong to', () => {
    const sub = line({
      type: 'assistant',
      message: { content: [{ type: 'text', text: 'searching' }] },
      parent_tool_use_id: 'toolu_04',
    });
    expect(parseClaudeLine(sub)).toEqual({
      kind: 'assistant',
      blocks: [{ kind: 'text', text: 'searching' }],
      parentToolUseId: 'toolu_04',
    });
  });

  it('reads a success result and a max-turns result, and says which failed', () => {
    const success = parseClaudeLine(SUCCESS) as ClaudeResultEvent;
    expect(success).toEqual({
      kind: 'result',
      subtype: 'success',
      isError: false,
      numTurns: 3,
      result: 'Fixed the build.',
      sessionId: SESSION,
      totalCostUsd: 0.0123,
      durationMs: 12_340,
      usage: { inputTokens: 40, outputTokens: 900, cacheReadTokens: 500 },
    });
    const maxTurns = parseClaudeLine(MAX_TURNS) as ClaudeResultEvent;
    expect(maxTurns).toMatchObject({
      kind: 'result',
      subtype: 'error_max_turns',
      isError: false,
      numTurns: 2,
      errors: ['Reached maximum number of turns (2)'],
    });
    expect(isFailedResult(success)).toBe(false);
    // The contract: a subtype other than success is a failure even when is_error is false.
    expect(isFailedResult(maxTurns)).toBe(true);
    expect(isFailedResult({ ...success, isError: true })).toBe(true);
  });

  it("reads the CLI's own events: API retries, background tasks, rate limits", () => {
    expect(parseClaudeLine(API_RETRY)).toEqual({
      kind: 'api_retry',
      attempt: 1,
      maxRetries: 10,
      errorStatus: 529,
      error: 'overloaded_error',
      retryDelayMs: 500,
    });
    expect(parseClaudeLine(RATE_LIMIT)).toEqual({ kind: 'rate_limit', status: 'allowed', limitType: 'five_hour' });
    const rejected = line({
      type: 'rate_limit_event',
      rate_limit_info: { status: 'rejected', resetsAt: 1796541474, rateLimitType: 'five_hour' },
    });
    expect(parseClaudeLine(rejected)).toEqual({
      kind: 'rate_limit',
      status: 'rejected',
      resetsAt: 1_796_541_474_000,
      limitType: 'five_hour',
    });
  });

  it('tolerates line types it does not know', () => {
    expect(parseClaudeLine(STREAM_EVENT)).toEqual({ kind: 'other', type: 'stream_event' });
    expect(parseClaudeLine(line({ type: 'system', subtype: 'background_tasks_changed', tasks: [] }))).toEqual({
      kind: 'other',
      type: 'system',
      subtype: 'background_tasks_changed',
    });
  });

  it('tolerates missing and mistyped fields', () => {
    expect(parseClaudeLine('{"type":"assistant"}')).toEqual({ kind: 'assistant', blocks: [] });
    expect(parseClaudeLine('{"type":"user","message":{"content":"plain prompt"}}')).toEqual({
      kind: 'user',
      blocks: [{ kind: 'text', text: 'plain prompt' }],
    });
    expect(parseClaudeLine('{"type":"result"}')).toEqual({ kind: 'result', subtype: 'unknown', isError: false });
    expect(
      parseClaudeLine(
        '{"type":"result","subtype":"success","num_turns":"3","total_cost_usd":null,"errors":[{"message":"boom"},7]}',
      ),
    ).toEqual({
      kind: 'result',
      subtype: 'success',
      isError: false,
      errors: ['boom'],
    });
    expect(parseClaudeLine('{"type":"system","subtype":"init","tools":"Bash"}')).toEqual({ kind: 'init' });
    expect(
      parseClaudeLine('{"type":"assistant","message":{"content":[null,7,{"type":"tool_use"},{"type":"mystery"}]}}'),
    ).toEqual({
      kind: 'assistant',
      blocks: [{ kind: 'tool_use', name: 'unknown', input: {} }],
    });
  });

  it('returns undefined for lines that are not JSON objects, without throwing', () => {
    for (const text of [
      '',
      '   ',
      'Error: spawn claude ENOENT',
      '{"type":"assistant"',
      '[1,2]',
      '42',
      'null',
      '"text"',
      '{not json}',
    ]) {
      expect(parseClaudeLine(text)).toBeUndefined();
    }
  });
});

describe('ClaudeLineSplitter', () => {
  it('returns the lines completed by each chunk, joining a line split across chunks', () => {
    const splitter = new ClaudeLineSplitter();
    const half = Math.floor(ASSISTANT.length / 2);
    expect(splitter.push(`${INIT}\n${ASSISTANT.slice(0, half)}`)).toEqual([INIT]);
    expect(splitter.push(ASSISTANT.slice(half, half + 10))).toEqual([]);
    expect(splitter.push(`${ASSISTANT.slice(half + 10)}\r\n${SUCCESS}`)).toEqual([ASSISTANT]);
    expect(splitter.flush()).toBe(SUCCESS);
    expect(splitter.flush()).toBeUndefined();
  });

  it('keeps a multi-byte character whole when its bytes arrive in two chunks', () => {
    const text = line({ type: 'assistant', message: { content: [{ type: 'text', text: 'Ferris 🦀 says ✓ — 日本' }] } });
    const bytes = Buffer.from(`${text}\n`);
    const crab = bytes.indexOf(Buffer.from('🦀'));
    const decoder = new TextDecoder();
    const splitter = new ClaudeLineSplitter();
    const lines = [
      ...splitter.push(decoder.decode(bytes.subarray(0, crab + 2), { stream: true })),
      ...splitter.push(decoder.decode(bytes.subarray(crab + 2), { stream: true })),
    ];
    expect(lines).toEqual([text]);
    expect(parseClaudeLine(lines[0]!)).toEqual({
      kind: 'assistant',
      blocks: [{ kind: 'text', text: 'Ferris 🦀 says ✓ — 日本' }],
    });
  });

  it('drops the partial first line when resuming from an offset inside a line', () => {
    const splitter = new ClaudeLineSplitter({ skipFirstPartial: true });
    expect(splitter.push(INIT.slice(40))).toEqual([]);
    expect(splitter.push(`${INIT.slice(-5)}\n${RESULT_STRING}\n`)).toEqual([RESULT_STRING]);
    const resumedInLastLine = new ClaudeLineSplitter({ skipFirstPartial: true });
    expect(resumedInLastLine.push('"subtype":"success"}')).toEqual([]);
    expect(resumedInLastLine.flush()).toBeUndefined();
  });
});

describe('describeToolUse', () => {
  it('says what a built-in tool call does in one line', () => {
    expect(describeToolUse('Bash', { command: 'cargo build', description: 'Build' })).toBe('Bash: cargo build');
    expect(describeToolUse('Bash', { command: '\n  cd app && make\nmake test' })).toBe('Bash: cd app && make …');
    expect(describeToolUse('Edit', { file_path: 'src/lib.rs', old_string: 'a', new_string: 'b' })).toBe(
      'Edit: src/lib.rs',
    );
    expect(
      describeToolUse('Write', { file_path: '/home/dev/app/README.md', content: '# hi' }, { cwd: '/home/dev/app/' }),
    ).toBe('Write: README.md');
    expect(describeToolUse('Read', { file_path: '/etc/hosts' }, { cwd: '/home/dev/app' })).toBe('Read: /etc/hosts');
    expect(describeToolUse('Glob', { pattern: '**/*.rs' })).toBe('Glob: **/*.rs');
    expect(describeToolUse('Grep', { pattern: 'TODO', path: '/src' })).toBe('Grep: TODO');
    expect(describeToolUse('Task', { description: 'Find flaky tests', prompt: 'long…' })).toBe(
      'Task: Find flaky tests',
    );
    expect(describeToolUse('WebFetch', { url: 'https://docs.rs/tokio', prompt: 'x' })).toBe(
      'WebFetch: https://docs.rs/tokio',
    );
    expect(describeToolUse('TodoWrite', { todos: [{}, {}, {}] })).toBe('TodoWrite: 3 items');
  });

  it('names MCP tools by server and tool', () => {
    expect(describeToolUse('mcp__github__create_issue', { title: 'x' })).toBe('mcp:github:create_issue');
    expect(describeToolUse('mcp__my_db__run__query', {})).toBe('mcp:my_db:run__query');
  });

  it('shows other tools with their input as short JSON, or the name alone', () => {
    expect(describeToolUse('ExitPlanMode', { plan: '1. fix' })).toBe('ExitPlanMode {"plan":"1. fix"}');
    expect(describeToolUse('KillShell', {})).toBe('KillShell');
    expect(describeToolUse('Bash', 'not an object')).toBe('Bash "not an object"');
  });

  it('stays on one line of at most 100 characters, cut with an ellipsis', () => {
    const long = describeToolUse('Bash', { command: `echo ${'x'.repeat(300)}` });
    expect(long).toHaveLength(100);
    expect(long.endsWith('…')).toBe(true);
    const json = describeToolUse('Custom', { text: 'line one\nline two', more: 'y'.repeat(200) });
    expect(json).not.toContain('\n');
    expect(json.length).toBeLessThanOrEqual(100);
    // Never cut inside a surrogate pair.
    const emoji = describeToolUse('Glob', { pattern: `${'a'.repeat(92)}🦀🦀🦀🦀` });
    expect(emoji).toMatch(/^Glob: a+(🦀)*…$/u);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF]…$/);
  });
});

describe('TranscriptRenderer', () => {
  const stream = [
    INIT,
    API_RETRY,
    ASSISTANT,
    RESULT_STRING,
    RATE_LIMIT,
    RESULT_ARRAY_ERROR,
    STREAM_EVENT,
    line({ type: 'assistant', message: { id: 'msg_02', content: [{ type: 'text', text: 'Fixed the build.\n' }] } }),
    SUCCESS,
  ].join('\n');

  it('renders the session, text, tool calls, tool results and the outcome', () => {
    const renderer = new TranscriptRenderer();
    expect(renderer.push(`${stream}\n`) + renderer.end()).toBe(
      [
        `● session 4f1c2a9e · model claude-sonnet-4-5-20250929 · /home/dev/app`,
        '⟳ API retry 1/10: 529 overloaded_error',
        '(thinking…)',
        'Let me build it first.',
        '→ Bash: cargo build --release …',
        '→ Edit: src/lib.rs',
        '→ mcp:github:create_issue',
        '→ Task: Find flaky tests',
        '  ← Compiling app v0.1.0 (+1 line)',
        '  ✗ String to replace not found in file. (+1 line)',
        'Fixed the build.',
        // The result text repeats the last text, so it is not printed twice.
        '✓ done in 3 turns · $0.0123 · 12.3s',
        '',
      ].join('\n'),
    );
  });

  it('renders the same transcript however the text is chunked', () => {
    const whole = new TranscriptRenderer();
    const expected = whole.push(`${stream}\n`) + whole.end();
    const chunked = new TranscriptRenderer();
    let out = '';
    for (let i = 0; i < stream.length; i += 7) out += chunked.push(stream.slice(i, i + 7));
    // No newline after the result line: end() renders it.
    expect(out).not.toContain('✓ done');
    out += chunked.end();
    expect(out).toBe(expected);
  });

  it('renders a failed run with its subtype, the result text and the errors', () => {
    const renderer = new TranscriptRenderer();
    expect(renderer.push(`${MAX_TURNS}\n`)).toBe(
      '✗ error_max_turns after 2 turns · $0.5000 · 1m01s\n  Reached maximum number of turns (2)\n',
    );
    // As the real CLI ends on an API error: subtype success, is_error, the HTTP status.
    const auth = line({
      type: 'result',
      subtype: 'success',
      is_error: true,
      num_turns: 1,
      total_cost_usd: 0,
      api_error_status: 401,
      result: 'Invalid API key · Fix external API key',
    });
    expect(renderer.push(`${auth}\n`)).toBe(
      '✗ API error 401 after 1 turn · $0.0000\nInvalid API key · Fix external API key\n',
    );
    const other = line({
      type: 'result',
      subtype: 'success',
      is_error: true,
      num_turns: 2,
      result: 'could not finish',
    });
    expect(renderer.push(`${other}\n`)).toBe('✗ error after 2 turns\ncould not finish\n');
  });

  it("shows the CLI's retries and background tasks, each on a line of its own", () => {
    const renderer = new TranscriptRenderer();
    const started = line({
      type: 'system',
      subtype: 'task_started',
      task_id: 'a99',
      description: 'Echo helper',
      task_type: 'local_agent',
      is_backgrounded: true,
    });
    const ended = line({
      type: 'system',
      subtype: 'task_notification',
      task_id: 'a99',
      status: 'completed',
      summary: 'Sub-agent says: sub',
    });
    expect(renderer.push(`${API_RETRY}\n${started}\n${ended}\n`)).toBe(
      '⟳ API retry 1/10: 529 overloaded_error\n▸ background task started: Echo helper (local_agent)\n◂ background task completed: Sub-agent says: sub\n',
    );
  });

  it('passes lines that are not JSON through, and skips unknown types and blank lines', () => {
    const renderer = new TranscriptRenderer();
    expect(renderer.push(`\nSegmentation fault (core dumped)\n${RATE_LIMIT}\n${STREAM_EVENT}\n`)).toBe(
      'Segmentation fault (core dumped)\n',
    );
    expect(renderer.push('{"type":"assistant"')).toBe('');
    expect(renderer.end()).toBe('{"type":"assistant"\n');
  });

  it('shortens a long tool result to its first line and says how many lines follow', () => {
    const big = `${'x'.repeat(500)}\n${'line\n'.repeat(999)}`;
    const renderer = new TranscriptRenderer();
    const out = renderer.push(
      `${line({ type: 'user', message: { content: [{ type: 'tool_result', content: big }] } })}\n`,
    );
    expect(out).toBe(`  ← ${'x'.repeat(119)}… (+999 lines)\n`);
    expect(
      renderer.push(`${line({ type: 'user', message: { content: [{ type: 'tool_result', content: '\n\n' }] } })}\n`),
    ).toBe('  ← (no output)\n');
  });

  it('indents the messages of a sub-agent and leaves out the prompt a user line echoes', () => {
    const renderer = new TranscriptRenderer();
    const sub = [
      line({
        type: 'user',
        message: { content: [{ type: 'text', text: 'Look for flaky tests' }] },
        parent_tool_use_id: 'toolu_04',
      }),
      line({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', name: 'Grep', input: { pattern: 'flaky' } }] },
        parent_tool_use_id: 'toolu_04',
      }),
      line({
        type: 'user',
        message: { content: [{ type: 'tool_result', content: 'tests/a.rs' }] },
        parent_tool_use_id: 'toolu_04',
      }),
    ];
    expect(renderer.push(`${sub.join('\n')}\n`)).toBe('  → Grep: flaky\n    ← tests/a.rs\n');
  });

  it('drops the partial first line when told the text starts mid-line', () => {
    const renderer = new TranscriptRenderer({ skipFirstPartial: true });
    expect(renderer.push(`${ASSISTANT.slice(100)}\n${SUCCESS}\n`)).toBe(
      '✓ done in 3 turns · $0.0123 · 12.3s\nFixed the build.\n',
    );
  });
});
