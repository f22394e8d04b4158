import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { readLocalSecret } from '../../src/config/local-secret.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { KNOWN_ID } from './cli-args.js';
import { expectOneLine, fuzzParameters, junkText, STACK_FRAME } from './fuzz-support.js';

interface Answer {
  status: number;
  type: string;
  text: string;
}

/**
 * The contract for one request: never a 5xx, never a stack trace; a 4xx is JSON `{"error": "…"}`
 * with a one-line message.
 */
function checkAnswer(r: Answer, what: string, tally: { refused: number; accepted: number }): void {
  expect(r.status, `${what} → ${r.status} ${r.text}`).toBeLessThan(500);
  expect(r.text, `${what}: a stack trace in the answer`).not.toMatch(STACK_FRAME);
  if (r.status < 400) {
    tally.accepted++;
    return;
  }
  tally.refused++;
  expect(r.type, `${what}: ${r.text}`).toMatch(/^application\/json/);
  const body = JSON.parse(r.text) as { error?: unknown };
  expect(typeof body.error, `${what}: ${r.text}`).toBe('string');
  expectOneLine(body.error as string, `${what} error`);
}

const shellPayload = fc.record(
  {
    type: fc.constant('shell_command'),
    command: fc.oneof(fc.constantFrom('true', 'echo hi'), junkText(20)),
    args: fc.array(junkText(8), { maxLength: 3 }),
    env: fc.dictionary(fc.oneof(fc.stringMatching(/^[A-Z_]{1,6}$/), junkText(6)), junkText(8), { maxKeys: 3 }),
    working_dir: fc.oneof(fc.constantFrom('/tmp', '~/x', 'relative', ''), junkText(10)),
  },
  { requiredKeys: ['type', 'command'] },
);
const claudePayload = fc.record(
  {
    type: fc.constant('claude_code'),
    prompt: fc.oneof(fc.constant('fix it'), junkText(30)),
    max_turns: fc.oneof(fc.integer(), fc.double()),
    permission_mode: fc.constantFrom('plan', 'yolo', 'default'),
    max_budget_usd: fc.oneof(fc.double(), fc.constant(2.5)),
    allowed_tools: fc.array(junkText(6), { maxLength: 2 }),
    continues: fc.oneof(fc.uuid(), junkText(10)),
  },
  { requiredKeys: ['type', 'prompt'] },
);

// Bodies near the schema: right keys with values of any kind, wrong keys, the odd nonsense.
const validBody = fc.record(
  {
    executor: fc.constantFrom('idle', 'local'),
    payload: shellPayload.map((p) => ({ ...p, command: 'true', working_dir: '/tmp', env: {} })),
    labels: fc.constant(['gpu']),
    retries: fc.nat(3),
  },
  { requiredKeys: ['payload'] },
);
const createBody: fc.Arbitrary<unknown> = fc.oneof(
  // A valid body with one field set to anything: the near misses.
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        validBody,
        fc.constantFrom(
          'executor',
          'payload',
          'workdir',
          'labels',
          'name',
          'timeout_ms',
          'retries',
          'backoff_ms',
          'callback_url',
          'id',
          'extra',
          'callbackUrl',
        ),
        fc.option(fc.oneof(fc.anything({ maxDepth: 2 }), junkText(20), fc.integer(), fc.double()), { freq: 3 }),
      )
      .map(([body, key, value]) => (value === null ? body : { ...body, [key]: value })),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        executor: fc.oneof(fc.constantFrom('idle', 'local', 'nope', 'callbacks', ''), junkText(10)),
        payload: fc.oneof(
          { arbitrary: fc.oneof(shellPayload, claudePayload), weight: 5 },
          { arbitrary: fc.anything({ maxDepth: 2 }), weight: 1 },
        ),
        workdir: fc.oneof(fc.constantFrom('/tmp', 'rel'), junkText(10)),
        labels: fc.oneof(fc.array(fc.constantFrom('gpu', 'quick', '')), fc.anything({ maxDepth: 1 })),
        name: fc.oneof(junkText(30), fc.string({ minLength: 195, maxLength: 210 })),
        timeout_ms: fc.oneof(fc.integer(), fc.double(), fc.constantFrom('30s', null)),
        retries: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant('2')),
        backoff_ms: fc.oneof(fc.integer(), fc.double()),
        callback_url: fc.oneof(
          fc.webUrl(),
          fc.constantFrom('ftp://x/', 'http://', 'javascript:1', 'http://127.0.0.1:2/hook'),
          junkText(12),
        ),
        id: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom(KNOWN_ID, KNOWN_ID.toUpperCase()), junkText(12)),
        extra: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      null,
      [],
      {},
      0,
      '',
      'x',
      true,
      { payload: null },
      { __proto__: { executor: 'idle' } },
      { constructor: { prototype: {} } },
    ),
  },
);

// Raw text sent as the body: broken JSON, huge numbers, deep nesting, other encodings.
const rawBody: fc.Arbitrary<string> = fc.oneof(
  junkText(60),
  fc.json({ maxDepth: 3 }),
  fc.constantFrom(
    '{',
    '{"payload":',
    '[',
    'null',
    '1e999',
    '"\\ud800"',
    '{"a":1,"a":2}',
    '{"__proto__":{"x":1}}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    '\uFEFF{}',
    '{}garbage',
  ),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  '',
);
const idPath = fc.oneof(
  fc.constantFrom(
    KNOWN_ID,
    KNOWN_ID.slice(0, 8),
    'f0f0',
    'zzzzzz',
    '..',
    '%00',
    '%ZZ',
    'a'.repeat(300),
    '%E2%80%A8',
    '%0A',
  ),
  fc.stringMatching(/^[0-9a-f-]{1,40}$/),
  junkText(20).map(encodeURIComponent),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1001',
    '1e3',
    'NaN',
    'queued',
    'QUEUED',
    'shell_command',
    'x'.repeat(600),
    '%',
    '%ZZ',
    '[]',
  ),
  junkText(12).map(encodeURIComponent),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'status',
        'executor',
        'type',
        'label',
        'q',
        'limit',
        'cursor',
        'limit[]',
        'status[a]',
        'x',
        '',
        '__proto__',
      ),
      queryValue,
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

describe('API body fuzz: never a 5xx, every 4xx a JSON one-line message', () => {
  let h: Harness;
  let dashboard: RunningDashboard;
  let authorization = '';
  const tally = { refused: 0, accepted: 0 };

  async function send(method: string, path: string, body?: string, type?: string): Promise<Answer> {
    const headers: Record<string, string> = { authorization };
    if (type !== undefined && type !== '') headers['content-type'] = type;
    const response = await fetch(dashboard.url + path, { method, headers, body });
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  beforeAll(async () => {
    // No worker: accepted tasks stay queued (on `idle` or `local`) and go with the prefix at the end.
    h = createHarness({ extraExecutors: '  - name: idle\n    type: local\n    labels: [gpu]\n' });
    const client = await h.client();
    await client.enqueue({
      id: KNOWN_ID,
      executor: 'idle',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
    });
    dashboard = await startDashboard({ config: h.config(), port: 0, home: h.home });
    // Writes on loopback want the local secret, as the CLI and the client send it.
    authorization = `Bearer ${await readLocalSecret(h.home)}`;
  });
  afterAll(async () => {
    await dashboard?.close();
    await h?.cleanup();
  });

  it('POST /api/tasks with bodies shaped like a task request', async () => {
    const before = { ...tally };
    await fc.assert(
      fc.asyncProperty(createBody, async (body) => {
        const text = JSON.stringify(body) as string | undefined;
        checkAnswer(await send('POST', '/api/tasks', text, 'application/json'), `POST /api/tasks ${text}`, tally);
      }),
      fuzzParameters(300, 1500),
    );
    expect(tally.refused - before.refused).toBeGreaterThan(300);
    expect(tally.accepted - before.accepted).toBeGreaterThan(10);
  });

  it('POST /api/tasks, kill and retry with raw bodies and any content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/api/tasks',
          `/api/tasks/${KNOWN_ID}/kill`,
          '/api/tasks/f0f0f0/retry',
          '/api/tasks/zzzzzz/kill',
        ),
        rawBody,
        contentType,
        async (path, body, type) => {
          checkAnswer(
            await send('POST', path, body, type),
            `POST ${path} (${type}) ${JSON.stringify(body.slice(0, 200))}`,
            tally,
          );
        },
      ),
      fuzzParameters(301, 800),
    );
  });

  it('kill and retry with arbitrary ids and kill bodies', async () => {
    const killBody = fc.oneof(
      fc.record({ grace_ms: fc.oneof(fc.integer(), fc.double(), fc.constant('10s')) }, { requiredKeys: [] }),
      fc.anything({ maxDepth: 1 }),
    );
    await fc.assert(
      fc.asyncProperty(idPath, fc.constantFrom('kill', 'retry'), killBody, async (id, action, body) => {
        const text = JSON.stringify(body) as string | undefined;
        checkAnswer(
          await send('POST', `/api/tasks/${id}/${action}`, text, text === undefined ? undefined : 'application/json'),
          `POST ${id}/${action} ${text}`,
          tally,
        );
      }),
      fuzzParameters(302, 800),
    );
  });

  it('GET /api/tasks with odd query strings, and task reads with odd ids', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryString,
        idPath,
        fc.constantFrom(
          '',
          '/logs?tail=5',
          '/logs?tail=-1',
          '/logs?view=x&tail=1',
          '/wait?timeout_ms=0',
          '/wait?timeout_ms=abc',
          '/wait?timeoutMs=0',
        ),
        async (query, id, tail) => {
          checkAnswer(await send('GET', `/api/tasks?${query}`), `GET /api/tasks?${query}`, tally);
          checkAnswer(await send('GET', `/api/tasks/${id}${tail}`), `GET /api/tasks/${id}${tail}`, tally);
        },
      ),
      fuzzParameters(303, 600),
    );
  });
});
