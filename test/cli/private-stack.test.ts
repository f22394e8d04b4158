import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseRedisTarget, findRedisServer, isProcessAlive, parseConfigText } from '../../src/index.js';
import { createHarness, eventually, type Harness, type RunningCli } from '../helpers/harness.js';

// A harness whose commands name no Redis, so that they may start the private stack or background
// workers; `down` stops whatever they started, once the describe block is done.
function stackHarness(prepare: (h: Harness) => void = () => {}): Harness {
  const h = createHarness({ explicitRedis: false });
  beforeAll(() => prepare(h));
  afterAll(async () => {
    await h.cli(['down']);
    await h.cleanup();
  });
  return h;
}

describe('the private stack: a Redis and workers started for the user', () => {
  const h = stackHarness((fresh) => {
    // Ask for the private stack, as a user with nothing at 127.0.0.1:6379 gets it.
    const text = readFileSync(fresh.configPath, 'utf8').replace(
      /redis:\n {2}prefix: (\S+)/,
      'redis:\n  url: private\n  prefix: $1',
    );
    writeFileSync(fresh.configPath, text);
  });

  it('bad input starts no private Redis and no worker: it is refused first', async () => {
    await expectRefusedStartingNothing(h, [
      [['run', '--callback', 'ftp://example.com/x', '-c', 'true'], 2],
      [['run', '-e', 'nope', '-c', 'true'], 3],
      [['run', '--label', 'gpu', '-c', 'true'], 3],
      [['list', '--executor', 'nope'], 3],
      [['kill', '--executor', 'nope'], 3],
      [['schedule', 'add', 'x', '--cron', 'soon', '--', 'run', '-c', 'true'], 2],
    ]);
    expect(redisServersFor(h.home)).toBe(0);
    expect(existsSync(path.join(h.home, 'embedded', 'stack.json'))).toBe(false);
  });

  it('starts from a clean data dir on the first command, runs the task, and down leaves no process behind', async () => {
    const first = await h.cli(['run', '--follow', '--', 'echo', 'hello from the private stack']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe('hello from the private stack\n');
    expect(first.stderr).toMatch(
      /^openclaw-agent: started a private Redis and workers in the background \(data in .*embedded; stop them with `openclaw-agent down`\)\n/,
    );

    const state = JSON.parse(readFileSync(path.join(h.home, 'embedded', 'stack.json'), 'utf8')) as {
      pid: number;
      redis_pid: number;
      port: number;
    };
    expect(isProcessAlive(state.pid)).toBe(true);
    expect(isProcessAlive(state.redis_pid)).toBe(true);
    expect(statSync(path.join(h.home, 'embedded', 'redis.password')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(h.home, 'embedded', 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(h.home, 'embedded', 'redis.conf'), 'utf8')).toMatch(
      /appendonly yes[\s\S]*maxmemory-policy noeviction/,
    );

    // Bound to loopback and protected by the generated password.
    expect(await rawCommand(state.port, 'PING')).toMatch(/^-NOAUTH/);

    const second = await h.cli(['list', '--jsonl']);
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('"status":"completed"');

    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'Stopped the private Redis and workers.\n' });
    expect(isProcessAlive(state.pid)).toBe(false);
    expect(isProcessAlive(state.redis_pid)).toBe(false);
    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'No private stack is running.\n' });
  });

  it('`executors` shows the workers of the running private stack, and starts none to read them', async () => {
    const executors = async () => {
      const r = await h.cli(['executors', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as { name: string; workers: unknown[] | null; served: boolean | null }[];
    };
    await h.cli(['down']);
    // None runs: unknown, and none started for a read.
    expect(await executors()).toEqual([expect.objectContaining({ name: 'local', workers: null, served: null })]);
    expect((await h.cli(['executors'])).stdout).not.toContain('WORKERS');
    expect(redisServersFor(h.home)).toBe(0);
    expect(existsSync(path.join(h.home, 'embedded', 'stack.json'))).toBe(false);

    expect(await h.cli(['run', '--follow', '-c', 'true'])).toMatchObject({ exitCode: 0 });
    const [local] = await executors();
    expect(local).toMatchObject({ name: 'local', served: true });
    expect(local!.workers).toHaveLength(1);
    expect((await h.cli(['executors'])).stdout).toMatch(/^NAME .* WORKERS\n/);
    expect((await h.cli(['down'])).exitCode).toBe(0);
  });

  it('two first commands at once share one private stack', async () => {
    await h.cli(['down']);
    const [a, b] = await Promise.all([h.cli(['run', '-f', '-c', 'echo a']), h.cli(['run', '-f', '-c', 'echo b'])]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect([a.stdout, b.stdout]).toEqual(['a\n', 'b\n']);
    expect([a.stderr, b.stderr].filter((e) => e.includes('started a private Redis'))).toHaveLength(1);
    expect(redisServersFor(h.home)).toBe(1);
    expect((await h.cli(['down'])).exitCode).toBe(0);
    expect(redisServersFor(h.home)).toBe(0);
  });

  it('says how to get redis-server when there is none', async () => {
    await h.cli(['down']);
    const r = await h.cli(['list'], { env: { OPENCLAW_AGENT_REDIS_SERVER: '/nonexistent/redis-server' } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no redis-server binary was found .*apt-get install redis-server.* or set REDIS_URL/);
  });
});

describe('the private stack with a Redis already at the default address', () => {
  const h = stackHarness();

  it('starts workers in the background when none consumes the queue, and down stops them', async () => {
    const first = await h.cli(['run', '--follow', '--', 'echo', 'picked up']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe('picked up\n');
    expect(first.stderr).toMatch(
      /^openclaw-agent: started workers in the background for the Redis at redis:\/\/127\.0\.0\.1:6379/,
    );
    const state = JSON.parse(readFileSync(path.join(h.home, 'embedded', 'stack.json'), 'utf8')) as {
      pid: number;
      redis_pid: number;
    };
    expect(state.redis_pid).toBe(0);
    expect(isProcessAlive(state.pid)).toBe(true);
    const again = await h.cli(['run', '--follow', '-c', 'echo again']);
    expect(again).toMatchObject({ exitCode: 0, stdout: 'again\n' });
    expect(again.stderr).not.toMatch(/started/);
    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'Stopped the background workers.\n' });
    expect(isProcessAlive(state.pid)).toBe(false);
  });
});

describe('bad input with a Redis at the default address and no worker', () => {
  const h = stackHarness();

  it('is refused before any worker starts, also when only Redis can tell', async () => {
    await expectRefusedStartingNothing(h, [
      [['run', '--callback', 'ftp://example.com/x', '-c', 'true'], 2],
      [['run', '--timeout', '', '-c', 'true'], 2],
      [['list', '--executor', 'nope'], 3],
      [['pause', '--executor', 'nope'], 3],
      // Only Redis can tell that no task has this id.
      [['run', '--after', 'abcdef12', '-c', 'true'], 2],
      [['schedule', 'add', 'x', '--cron', '0 3 * * *', '--', 'run', '--after', 'abcdef12', '-c', 'true'], 2],
    ]);
    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'No private stack is running.\n' });
  });
});

describe('a stop signal while `up` starts its executors', () => {
  // An SSH host that accepts the connection and never says a word: the executor's start waits
  // for the handshake (connect_timeout 60s), and `up` is caught half-way.
  let silent: Server;
  let connected: Promise<void>;
  beforeAll(async () => {
    connected = new Promise((resolve) => {
      silent = createServer(() => resolve());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => silent?.close());
  const h = stackHarness((fresh) => {
    const key = path.join(fresh.dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const text = readFileSync(fresh.configPath, 'utf8')
      .replace(/redis:\n {2}prefix: (\S+)/, 'redis:\n  url: private\n  prefix: $1')
      .replace(
        'executors:\n',
        `executors:\n  - name: mute\n    type: ssh\n    host: 127.0.0.1\n    port: ${(silent.address() as AddressInfo).port}\n    user: nobody\n    key_path: ${key}\n    connect_timeout: 60s\n`,
      );
    writeFileSync(fresh.configPath, text);
  });

  // What `up` sent SIGINT half-way leaves: exit 1 having said so, no Redis, no state file.
  const expectCutShort = async (up: RunningCli) => {
    await up.result;
    const said = up.stdout() + up.stderr();
    expect({ code: up.child.exitCode, signal: up.child.signalCode }).toEqual({ code: 1, signal: null });
    expect(said).toContain('SIGINT: start-up cut short; stopping what has started');
    expect(said).not.toContain('ready:');
    expect(redisServersFor(h.home)).toBe(0);
    expect(existsSync(path.join(h.home, 'embedded', 'stack.json'))).toBe(false);
  };

  it('stops what has started (Redis, the state file) and exits 1, not killed half-way', async () => {
    const up = h.spawnCli(['up', '--no-dashboard']);
    await connected;
    expect(redisServersFor(h.home)).toBe(1);
    up.child.kill('SIGINT');
    await expectCutShort(up);
  });

  it('a signal while its Redis starts waits for that Redis and stops it too', async () => {
    // A redis-server held at its start until the test opens the gate (it then becomes the real one).
    const [starting, gate] = [path.join(h.dir, 'redis-starting'), path.join(h.dir, 'redis-gate')];
    const held = path.join(h.dir, 'held-redis-server');
    writeFileSync(
      held,
      `#!/bin/sh\n: > '${starting}'\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\nexec '${findRedisServer()}' "$@"\n`,
      { mode: 0o755 },
    );
    const up = h.spawnCli(['up', '--no-dashboard'], { OPENCLAW_AGENT_REDIS_SERVER: held });
    await eventually(async () => (existsSync(starting) ? true : undefined), 'redis-server to be starting');
    up.child.kill('SIGINT');
    await eventually(
      async () => ((up.stdout() + up.stderr()).includes('start-up cut short') ? true : undefined),
      'the signal to be taken',
    );
    writeFileSync(gate, '');
    await expectCutShort(up);
  });
});

describe('background workers started for a command given --config', () => {
  const h = stackHarness();

  it('serve the executors of that file, not of the default config', async () => {
    // Only the flag names the file (no OPENCLAW_AGENT_CONFIG): its executor exists nowhere else.
    const file = path.join(h.dir, 'crib.yaml');
    writeFileSync(file, readFileSync(h.configPath, 'utf8').replace(/name: local\b/, 'name: crib'));
    const env = { OPENCLAW_AGENT_CONFIG: '' };
    const first = await h.cli(['run', '--config', file, '-e', 'crib', '--follow', '--', 'echo', 'served'], { env });
    expect(first.stdout).toBe('served\n');
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toMatch(/^openclaw-agent: started workers in the background/);
    expect(first.stderr).not.toMatch(/no worker/);
    const executors = await h.cli(['executors', '--config', file, '--json'], { env });
    const [crib] = JSON.parse(executors.stdout) as { name: string; served: boolean }[];
    expect(crib).toMatchObject({ name: 'crib', served: true });
  });
});

describe('chooseRedisTarget', () => {
  let closed: Server;
  let closedPort = 0;
  beforeAll(async () => {
    // A port that nothing listens on: bind one, note it, close it.
    closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });

  const config = (yaml = 'executors: []') => ({ ...parseConfigText(yaml, 'test'), sourcePath: undefined });

  it('uses the private stack when nothing listens at the default address', async () => {
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      expect(await chooseRedisTarget(config(), `redis://127.0.0.1:${closedPort}`)).toEqual({ kind: 'private' });
      expect(await chooseRedisTarget(config(), 'redis://127.0.0.1:6379')).toEqual({
        kind: 'url',
        url: 'redis://127.0.0.1:6379',
        defaulted: true,
      });
      expect(
        await chooseRedisTarget(
          config('redis: {url: "redis://redis.example.internal:6380"}'),
          `redis://127.0.0.1:${closedPort}`,
        ),
      ).toEqual({
        kind: 'url',
        url: 'redis://redis.example.internal:6380',
        defaulted: false,
      });
      process.env.REDIS_URL = 'redis://127.0.0.1:7000';
      expect(await chooseRedisTarget(config('redis: {url: embedded}'))).toEqual({
        kind: 'url',
        url: 'redis://127.0.0.1:7000',
        defaulted: false,
      });
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });
});

// One inline command over a plain socket, without a client library's handshake; returns the first reply line.
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(`${command}\r\n`));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

// Live redis-server processes working in this data directory's Redis dir (redis-server chdirs
// to its `dir` and rewrites its argv and environ for its title), read from /proc.
// Each command is refused in one line with its exit code, and says it started nothing.
async function expectRefusedStartingNothing(h: Harness, cases: [string[], number][]): Promise<void> {
  for (const [args, code] of cases) {
    const r = await h.cli(args);
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    expect(r.stderr, args.join(' ')).not.toMatch(/started/);
  }
}

function redisServersFor(home: string): number {
  const dir = path.join(home, 'embedded', 'redis');
  let count = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'redis-server') continue;
      if (readlinkSync(`/proc/${pid}/cwd`) === dir && isProcessAlive(Number(pid))) count++;
    } catch {
      // gone while we looked
    }
  }
  return count;
}
