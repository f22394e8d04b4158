import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfigText } from '../../src/index.js';
import { formatIssuePath } from '../../src/text/zod-issues.js';
import { expectOneLine, fuzzParameters, junkText, nearDuration } from './fuzz-support.js';

const FILE = '/etc/openclaw/fuzz.yaml';

type Path = (string | number)[];

// `stringify(undefined)` gives undefined, not text: an empty file then.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the types say string; it is not always
const toYaml = (value: unknown): string => (stringify(value) as string | undefined) ?? '';

// Parses, and when it throws, checks that the failure is a one-line ConfigError naming the file.
function parseOrRefuse(text: string): { ok: true } | { ok: false; message: string } {
  try {
    parseConfigText(text, FILE);
    return { ok: true };
  } catch (error) {
    expect(error, `not a ConfigError: ${String(error)}`).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expectOneLine(message, 'config error');
    expect(message.startsWith(`config error in ${FILE}`), message).toBe(true);
    return { ok: false, message };
  }
}

// The field a schema error names: "Expected `x` …", "`x` is required", "`x`: …".
function namedField(message: string): string | undefined {
  return /^config error in [^:]+?(?: line \d+)?: (?:Expected )?`([^`]+)`/.exec(message)?.[1];
}

const executorName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/).filter((n) => n !== 'callbacks');
const duration = fc.constantFrom('30s', '2h', '1h30m', '500ms', 45, 0.5);

const localExecutor = fc.record(
  {
    type: fc.constant('local'),
    claude_path: fc.constantFrom('claude', '/usr/bin/claude'),
    concurrency: fc.integer({ min: 1, max: 1000 }),
    labels: fc.array(fc.constantFrom('quick', 'rust', 'gpu'), { maxLength: 3 }),
    env: fc.dictionary(
      fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/),
      fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()),
      { maxKeys: 3 },
    ),
    timeout: duration,
    permission_mode: fc.constantFrom('default', 'acceptEdits', 'plan'),
  },
  { requiredKeys: ['type'] },
);
const sshExecutor = fc.record(
  {
    type: fc.constant('ssh'),
    host: fc.constantFrom('192.168.0.152', 'build.example.com'),
    port: fc.integer({ min: 1, max: 65535 }),
    user: fc.constantFrom('jimmy', 'ci'),
    key_path: fc.constant('~/.ssh/id_ed25519'),
    jump_host: fc.constantFrom('bastion', 'me@bastion.example.com:2222'),
    host_key_check: fc.constantFrom('yes', 'accept-new', 'off'),
    connect_timeout: duration,
    keepalive_interval: duration,
  },
  { requiredKeys: ['type', 'host'] },
);
const containerExecutor = fc.record(
  {
    type: fc.constant('container'),
    image: fc.constantFrom('claude-code:latest', 'node:20'),
    runtime: fc.constantFrom('docker', 'podman'),
    volumes: fc.array(fc.constantFrom('/src:/work', 'cache:/cache', '/tmp:/tmp:ro'), { maxLength: 2 }),
    memory: fc.constantFrom('512m', '2g', '1.5G', 64 * 1024 * 1024),
    cpus: fc.constantFrom(1, 1.5, 8),
    pids_limit: fc.integer({ min: 1, max: 4096 }),
    pull: fc.constantFrom('never', 'missing'),
    socket: fc.constantFrom('/var/run/docker.sock', 'unix:///run/podman/podman.sock', 'tcp://127.0.0.1:2375'),
    container_retention: duration,
  },
  { requiredKeys: ['type', 'image'] },
);

const notifierName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/).filter((n) => n !== 'none');
const onStatuses = fc.uniqueArray(fc.constantFrom('completed', 'failed', 'killed', 'timed_out', 'lost', 'cancelled'), {
  minLength: 1,
  maxLength: 6,
});
const openclawNotifier = fc.record(
  {
    type: fc.constant('openclaw'),
    url: fc.constantFrom('http://127.0.0.1:18789', 'https://gateway.example.com/'),
    hooks_path: fc.constantFrom('/hooks', '/openclaw/hooks/'),
    token_env: fc.constantFrom('OPENCLAW_HOOKS_TOKEN', 'MY_TOKEN'),
    mode: fc.constantFrom('now', 'next-heartbeat'),
    agent_id: fc.constantFrom('main', 'ops'),
    on: onStatuses,
    timeout: fc.constantFrom('30s', '500ms', 45, 0.5),
    retry_schedule: fc.array(duration, { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: ['type', 'url'] },
);
const commandNotifier = fc.record(
  {
    type: fc.constant('command'),
    argv: fc
      .array(fc.constantFrom('{name}', '{status} after {duration}', '--urgency=low', '{id}{short_id}'), {
        maxLength: 3,
      })
      .map((args) => ['notify-send', ...args]),
    on: onStatuses,
    timeout: fc.constantFrom('30s', '500ms', 45, 0.5),
  },
  { requiredKeys: ['type', 'argv'] },
);

// A config the schema accepts: executors with unique names and every section filled in at random.
const validConfig = fc
  .tuple(
    fc.uniqueArray(executorName, { minLength: 1, maxLength: 4 }),
    fc.array(fc.oneof(localExecutor, sshExecutor, containerExecutor), { minLength: 4, maxLength: 4 }),
    fc.record(
      {
        defaults: fc.record(
          {
            max_turns: fc.integer({ min: 1, max: 500 }),
            claude_path: fc.constant('claude'),
            webhook_url: fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:9000/x'),
            webhook_secret: fc.constant('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
            webhook_retry_schedule: fc.array(duration, { minLength: 1, maxLength: 4 }),
            webhook_timeout: duration,
            timeout: duration,
          },
          { requiredKeys: [] },
        ),
        redis: fc.record(
          { url: fc.constant('redis://127.0.0.1:6379'), prefix: fc.constantFrom('openclaw', 'ci-1', 'a.b_c') },
          { requiredKeys: [] },
        ),
        task_signing_key: fc.constant('0123456789abcdef0123'),
        retention: duration,
        worker: fc.record({ lock_duration: duration, stalled_interval: duration }, { requiredKeys: [] }),
        logs: fc.record({ max_entries: fc.integer({ min: 100, max: 100_000 }) }, { requiredKeys: [] }),
        notifiers: fc.dictionary(notifierName, fc.oneof(openclawNotifier, commandNotifier), { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([names, executors, rest]) => ({ executors: names.map((name, i) => ({ name, ...executors[i]! })), ...rest }));

// Every node's path (the root included), to pick one to mutate.
function nodePaths(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...nodePaths(item, [...at, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) out.push(...nodePaths(item, [...at, key]));
  }
  return out;
}

function replaceAt(root: unknown, at: Path, value: unknown): unknown {
  if (at.length === 0) return value;
  const copy: unknown = structuredClone(root);
  let parent = copy as Record<string | number, unknown>;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[at.at(-1)!] = value;
  return copy;
}

// Values a config file should never hold where they land: wrong types, near-miss durations and
// sizes, names with odd characters, strings with line breaks, nested junk.
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.anything({ maxDepth: 2, withNullPrototype: false }), weight: 3 },
  { arbitrary: nearDuration, weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '5m',
      '6m',
      '5.99m',
      '1t',
      '1tb',
      '2gib',
      '-1g',
      '0',
      'big',
      1,
      -1,
      0,
      Number.POSITIVE_INFINITY,
    ),
    weight: 1,
  },
  { arbitrary: junkText(80), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      'callbacks',
      '_x',
      'a b',
      '',
      'ssh',
      'container',
      'local',
      'https://',
      'ftp://x',
      'whsec_',
    ),
    weight: 1,
  },
  { arbitrary: fc.oneof(fc.double(), fc.integer(), fc.bigInt().map(String)), weight: 1 },
);

describe('config YAML fuzz: every refusal is one ConfigError line naming the file', () => {
  it('accepts every generated valid config (the generator itself is right)', () => {
    fc.assert(
      fc.property(validConfig, (config) => {
        const result = parseOrRefuse(toYaml(config));
        expect(result).toEqual({ ok: true });
      }),
      fuzzParameters(101, 300),
    );
  });

  it('refuses a valid config with one value replaced by junk in one line that names the field at or beside it', () => {
    let refused = 0;
    fc.assert(
      fc.property(validConfig, fc.nat(), badValue, (config, pick, value) => {
        const paths = nodePaths(config);
        const at = paths[pick % paths.length]!;
        const result = parseOrRefuse(toYaml(replaceAt(config, at, value)));
        if (result.ok) return;
        refused++;
        // A YAML-level failure has no field; a schema failure names one under the mutated node's parent.
        const field = namedField(result.message);
        if (field === undefined) {
          expect(result.message).toMatch(/ line \d+: /);
          return;
        }
        const parent = formatIssuePath(at.slice(0, -1));
        if (at.length === 0) expect(field).not.toBe('');
        else
          expect(
            field === parent || field.startsWith(parent === '' ? '' : `${parent}.`) || field.startsWith(`${parent}[`),
            `${field} vs ${formatIssuePath(at)}`,
          ).toBe(true);
      }),
      fuzzParameters(102, 3000),
    );
    // Most mutations must be refusals, or the property checked little.
    expect(refused).toBeGreaterThan(1500);
  });

  it('refuses a config whose executors repeat a name, naming the repeat', () => {
    fc.assert(
      fc.property(validConfig, fc.nat(), (config, pick) => {
        const first = config.executors[pick % config.executors.length]!;
        const twice = { ...config, executors: [...config.executors, { ...first, labels: ['again'] }] };
        const result = parseOrRefuse(toYaml(twice));
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.message).toContain(`executors[${config.executors.length}].name`);
        expect(result.message).toContain(`"${first.name}" is defined twice`);
      }),
      fuzzParameters(103, 300),
    );
  });

  it('takes unknown keys anywhere without failing', () => {
    fc.assert(
      fc.property(
        validConfig,
        fc.nat(),
        fc.stringMatching(/^x_[a-z]{1,8}$/),
        fc.anything({ maxDepth: 1 }),
        (config, pick, key, value) => {
          const objects = nodePaths(config).filter((p) => {
            let node: unknown = config;
            for (const k of p) node = (node as Record<string | number, unknown>)[k];
            // env and notifiers are maps: a new key there is a new entry, not an unknown key.
            return (
              node !== null &&
              typeof node === 'object' &&
              !Array.isArray(node) &&
              p.at(-1) !== 'env' &&
              p.at(-1) !== 'notifiers'
            );
          });
          const at = objects[pick % objects.length]!;
          let node: unknown = structuredClone(config);
          const root = node;
          for (const k of at) node = (node as Record<string | number, unknown>)[k];
          (node as Record<string, unknown>)[key] = value;
          expect(parseOrRefuse(toYaml(root))).toEqual({ ok: true });
        },
      ),
      fuzzParameters(104, 300),
    );
  });

  it('refuses arbitrary text (YAML-ish token soup, unicode, binary) with one line or accepts it', () => {
    const token = fc.constantFrom(
      'executors:',
      'defaults:',
      'redis:',
      'worker:',
      'logs:',
      'retention:',
      'task_signing_key:',
      '\n',
      '\n  ',
      '\n    ',
      '- ',
      '  - ',
      'name: ',
      'type: ',
      'local',
      'ssh',
      'container',
      'timeout: ',
      'memory: ',
      '30s',
      '2g',
      '{',
      '}',
      '[',
      ']',
      ',',
      ': ',
      ':',
      '&a ',
      '*a',
      '*b',
      '<<: *a',
      '!!binary ',
      '!!str ',
      '!!int ',
      '!!float ',
      '!!timestamp ',
      '!!set ',
      '!!omap ',
      '!custom ',
      '? ',
      '%YAML 1.2\n',
      '%TAG ! tag:x,2000:\n',
      '---\n',
      '...\n',
      '"',
      "'",
      '|\n',
      '>-\n',
      '#',
      '\t',
      '\\',
      '~',
      'null',
      'true',
      '0x1F',
      '.inf',
      '-.nan',
      '1e999',
      '2001-12-14t21:59:43.10-05:00',
      '__proto__: ',
      'constructor: ',
      'toString: ',
      '💥',
      '\u2028',
      '\r',
    );
    const text = fc.oneof(
      {
        arbitrary: fc.array(fc.oneof(token, junkText(6)), { maxLength: 40 }).map((parts) => parts.join('')),
        weight: 4,
      },
      { arbitrary: junkText(200), weight: 1 },
      { arbitrary: fc.stringMatching(/^[\s\S]{0,200}$/), weight: 1 },
    );
    fc.assert(
      fc.property(text, (yamlText) => {
        parseOrRefuse(yamlText);
      }),
      fuzzParameters(105, 4000),
    );
  });

  it('refuses anchors and aliases used as a resource attack, or anything they expand to, in one line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 }), (depth, width) => {
        const lines = ['a0: &a0 [x]'];
        for (let i = 1; i <= depth; i++)
          lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
        lines.push(`executors: *a${depth}`);
        const result = parseOrRefuse(lines.join('\n'));
        expect(result.ok).toBe(false);
      }),
      fuzzParameters(106, 150),
    );
  });
});
