import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, generateWebhookSecret, loadConfig, parseConfigText, SAMPLE_CONFIG } from '../../src/index.js';

// The file written by the original tool's `config --init`, verbatim.
const ORIGINAL_SAMPLE = `# OpenClaw Coding Agent Configuration
# See: https://github.com/openclaw/coding-agent

executors:
  - name: crib
    type: ssh
    host: 192.168.0.152
    user: jimmy
    claude_path: ~/.npm-global/bin/claude
    labels:
      - rust
      - heavy-compute

  - name: builder
    type: container
    image: claude-code:latest
    runtime: docker
    volumes:
      - /home/jimmy/repos:/work
    labels:
      - isolated
      - reproducible

  - name: local
    type: local
    claude_path: claude
    labels:
      - quick-tasks
      - lightweight

defaults:
  max_turns: 100
  claude_path: claude
  webhook_url: https://example.com/webhook
`;

describe('config', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("accepts the original tool's sample file as is", () => {
    const config = parseConfigText(ORIGINAL_SAMPLE, 'coding-agent.yaml');
    expect(config.executors.map((e) => [e.name, e.type])).toEqual([
      ['crib', 'ssh'],
      ['builder', 'container'],
      ['local', 'local'],
    ]);
    expect(config.executors[0]).toMatchObject({
      host: '192.168.0.152',
      port: 22,
      user: 'jimmy',
      labels: ['rust', 'heavy-compute'],
    });
    expect(config.executors[1]).toMatchObject({
      image: 'claude-code:latest',
      runtime: 'docker',
      volumes: ['/home/jimmy/repos:/work'],
    });
    expect(config.defaults).toMatchObject({
      max_turns: 100,
      claude_path: 'claude',
      webhook_url: 'https://example.com/webhook',
    });
  });

  it('parses its own sample', () => {
    expect(parseConfigText(SAMPLE_CONFIG, 'sample').executors[0]?.name).toBe('local');
  });

  it('turns numeric env values into strings and applies defaults for new keys', () => {
    const config = parseConfigText(
      'executors:\n  - name: a\n    type: local\n    env: {RUST_LOG: 1, X: true}\n',
      'f.yaml',
    );
    expect(config.executors[0]?.env).toEqual({ RUST_LOG: '1', X: 'true' });
    expect(config.executors[0]?.concurrency).toBe(8);
    expect(config.redis.prefix).toBe('openclaw');
    expect(config.retention).toBe(7 * 86_400_000);
  });

  it('names the file, the line and the field of a bad value', () => {
    const text = 'executors:\n  - name: a\n    type: local\n  - name: b\n    type: sssh\n';
    expect(() => parseConfigText(text, '/etc/x.yaml')).toThrow(
      'config error in /etc/x.yaml line 5: Expected `executors[1].type` to be one of "local", "ssh", "container", got `sssh`',
    );
  });

  it('refuses a worker presence TTL too short to outlive the beats that keep it', () => {
    const text = 'worker:\n  presence_ttl: 100ms\nexecutors: [{name: a, type: local}]\n';
    expect(() => parseConfigText(text, 'f.yaml')).toThrow(
      'config error in f.yaml line 2: `worker.presence_ttl`: expected at least 300ms (a worker beats every third of it), got `100ms`',
    );
    expect(parseConfigText(text.replace('100ms', '300ms'), 'f.yaml').worker.presence_ttl).toBe(300);
  });

  it('runs local tasks without spoolers unless logs.local_spoolers says so, and refuses a spool cap below 1m', () => {
    const base = 'executors: [{name: a, type: local}]\n';
    expect(parseConfigText(base, 'f.yaml').logs.local_spoolers).toBe(false);
    expect(parseConfigText(`${base}logs:\n  local_spoolers: true\n`, 'f.yaml').logs.local_spoolers).toBe(true);
    expect(parseConfigText(`${base}logs:\n  max_spool_bytes: 2g\n`, 'f.yaml').logs.max_spool_bytes).toBe(2 * 1024 ** 3);
    expect(() => parseConfigText(`${base}logs:\n  max_spool_bytes: 10k\n`, 'f.yaml')).toThrow(
      /`logs\.max_spool_bytes`/,
    );
    expect(() => parseConfigText(`${base}logs:\n  local_spoolers: maybe\n`, 'f.yaml')).toThrow(
      /`logs\.local_spoolers`/,
    );
  });

  it('names the line of a YAML syntax error', () => {
    const text = 'executors:\n  - name: a\n    type: local\n  labels: [unclosed\n';
    expect(() => parseConfigText(text, 'bad.yaml')).toThrow(/^config error in bad\.yaml line \d+: /);
    try {
      parseConfigText('executors:\n  - name: a\n   type: local\n', 'bad.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/line 3/);
    }
  });

  it('points a missing required key at its parent entry', () => {
    expect(() => parseConfigText('executors:\n  - type: local\n', 'f.yaml')).toThrow(
      'config error in f.yaml line 2: `executors[0].name` is required',
    );
  });

  it('refuses an ssh executor without a host and a duplicate name', () => {
    expect(() => parseConfigText('executors:\n  - name: a\n    type: ssh\n', 'f.yaml')).toThrow(
      /an ssh executor needs `host`/,
    );
    expect(() =>
      parseConfigText('executors:\n  - {name: a, type: local}\n  - {name: a, type: local}\n', 'f.yaml'),
    ).toThrow(/line 3: .*defined twice/);
  });

  it('parses the container keys, with defaults, and names a bad one in one line', () => {
    const text =
      'executors:\n  - {name: b, type: container, image: img, memory: 1.5g, cpus: 1.5, pids_limit: 100, network: none, socket: "unix:///run/podman/podman.sock", container_retention: 30m}\n';
    expect(parseConfigText(text, 'f.yaml').executors[0]).toMatchObject({
      memory: 1.5 * 1024 ** 3,
      cpus: 1.5,
      pids_limit: 100,
      network: 'none',
      socket: 'unix:///run/podman/podman.sock',
      pull: 'missing',
      container_retention: 1_800_000,
    });
    expect(parseConfigText('executors: [{name: b, type: container, image: img}]', 'f.yaml').executors[0]).toMatchObject(
      { pull: 'missing', container_retention: 3_600_000 },
    );
    const bad = (line: string) => () =>
      parseConfigText(`executors:\n  - name: b\n    type: container\n    image: img\n    ${line}\n`, 'f.yaml');
    expect(bad('memory: lots')).toThrow(
      'config error in f.yaml line 5: `executors[0].memory`: expected a size like 512m or 2g (at least 6m), got `lots`',
    );
    expect(bad('socket: docker.sock')).toThrow(
      /^config error in f\.yaml line 5: `executors\[0\]\.socket`: a socket path like \/run\/podman\/podman\.sock .*, got `docker\.sock`$/,
    );
    expect(bad('pull: always')).toThrow(
      'config error in f.yaml line 5: Expected `executors[0].pull` to be one of "never", "missing", got `always`',
    );
  });

  it('uses one executor named local when no config file exists, and refuses a missing explicit file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-cfg-'));
    dirs.push(dir);
    const saved = { xdg: process.env.XDG_CONFIG_HOME, env: process.env.OPENCLAW_AGENT_CONFIG };
    process.env.XDG_CONFIG_HOME = dir;
    delete process.env.OPENCLAW_AGENT_CONFIG;
    try {
      const config = loadConfig();
      expect(config.sourcePath).toBeUndefined();
      expect(config.executors.map((e) => e.name)).toEqual(['local']);
      expect(() => loadConfig(path.join(dir, 'missing.yaml'))).toThrow(/does not exist/);
      writeFileSync(path.join(dir, 'x.yaml'), 'executors: [{name: z, type: local}]\n');
      process.env.OPENCLAW_AGENT_CONFIG = path.join(dir, 'x.yaml');
      expect(loadConfig().executors[0]?.name).toBe('z');
    } finally {
      process.env.XDG_CONFIG_HOME = saved.xdg;
      if (saved.env === undefined) delete process.env.OPENCLAW_AGENT_CONFIG;
      else process.env.OPENCLAW_AGENT_CONFIG = saved.env;
      if (saved.xdg === undefined) delete process.env.XDG_CONFIG_HOME;
    }
  });

  it('refuses a webhook URL with a user or password in one line that does not show them', () => {
    const text = `executors: [{name: a, type: local}]\ndefaults:\n  webhook_url: https://ci:hunter2@hooks.example/x\n`;
    let message = '';
    try {
      parseConfigText(text, 'f.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^config error in f\.yaml line 3: `defaults\.webhook_url`: put no user or password in the URL/,
    );
    expect(message).not.toMatch(/hunter2|\n/);
  });

  it('refuses a webhook URL on a port fetch refuses, naming the port', () => {
    const text = `executors: [{name: a, type: local}]\ndefaults:\n  webhook_url: http://127.0.0.1:1/h\n`;
    expect(() => parseConfigText(text, 'f.yaml')).toThrow(
      'config error in f.yaml line 3: `defaults.webhook_url`: fetch refuses to connect to port 1 (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port, got `http://127.0.0.1:1/h`',
    );
  });

  it('refuses a webhook secret that is not whsec_ and base64 in one line that says how to make one, without showing it', () => {
    for (const secret of ['my-webhook-secret', '"whsec_not base64!"', '""']) {
      const text = `executors: [{name: a, type: local}]\ndefaults:\n  webhook_secret: ${secret}\n`;
      const refuse = () => parseConfigText(text, 'f.yaml');
      expect(refuse).toThrow(ConfigError);
      expect(refuse).toThrow(
        /^config error in f\.yaml line 3: `defaults\.webhook_secret`: expected `whsec_` followed by base64 .*openssl rand -base64 32/,
      );
      let message = '';
      try {
        refuse();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toContain('\n');
      expect(message).not.toContain('my-webhook-secret');
      expect(message).not.toContain('not base64');
    }
    const secret = generateWebhookSecret();
    const text = `executors: [{name: a, type: local}]\ndefaults:\n  webhook_secret: ${secret}\n`;
    expect(parseConfigText(text, 'f.yaml').defaults.webhook_secret).toBe(secret);
  });

  it('refuses a malformed OPENCLAW_AGENT_WEBHOOK_SECRET when the config is read, naming the variable and not its value', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-cfg-'));
    dirs.push(dir);
    const file = path.join(dir, 'x.yaml');
    writeFileSync(file, 'executors: [{name: z, type: local}]\n');
    const saved = process.env.OPENCLAW_AGENT_WEBHOOK_SECRET;
    try {
      process.env.OPENCLAW_AGENT_WEBHOOK_SECRET = 'my-webhook-secret';
      const refuse = () => loadConfig(file);
      expect(refuse).toThrow(ConfigError);
      expect(refuse).toThrow(
        /^Expected \$OPENCLAW_AGENT_WEBHOOK_SECRET to be `whsec_` followed by base64 .*openssl rand -base64 32/,
      );
      expect(refuse).not.toThrow(/my-webhook-secret|\n/);
      process.env.OPENCLAW_AGENT_WEBHOOK_SECRET = generateWebhookSecret();
      expect(loadConfig(file).executors[0]?.name).toBe('z');
    } finally {
      if (saved === undefined) delete process.env.OPENCLAW_AGENT_WEBHOOK_SECRET;
      else process.env.OPENCLAW_AGENT_WEBHOOK_SECRET = saved;
    }
  });
});
