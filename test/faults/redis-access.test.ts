import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, stackPaths, type StartedRedis } from '../../src/index.js';
import { BIN, createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { testPort } from '../helpers/ports.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { createCertificates, type TlsFiles } from '../helpers/tls-certs.js';

// A copy of the harness's config with keys added to its `redis:` section; returns its path.
function writeConfigWith(h: Harness, name: string, redisYaml: string): string {
  const file = path.join(h.dir, `${name}.yaml`);
  const text = readFileSync(h.configPath, 'utf8').replace(
    /redis:\n {2}prefix: (\S+)\n/,
    `redis:\n  prefix: $1\n${redisYaml}`,
  );
  writeFileSync(file, text);
  return file;
}

// One line on stderr, nothing on stdout, and the exit code of an unreachable Redis.
function expectOneLineFailure(
  r: { exitCode: number; stdout: string; stderr: string },
  pattern: RegExp,
  exitCode = 4,
): void {
  expect(r).toMatchObject({ exitCode, stdout: '' });
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

// Runs `openclaw-agent dashboard` as a real process and resolves with its URL once it listens.
async function startCliDashboard(h: Harness, children: ChildProcess[], token: string): Promise<string> {
  const tokenFile = path.join(h.dir, 'dashboard-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const child = spawn('node', [BIN, 'dashboard', '--port', '0', '--token-file', tokenFile], {
    env: h.env,
    cwd: h.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return eventually(
    async () =>
      /dashboard on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1] ??
      (child.exitCode === null ? undefined : Promise.reject(new Error(stderr))),
    'the dashboard to listen',
  );
}

async function apiTasks(url: string, token: string): Promise<{ task_id: string; status: string }[]> {
  const response = await fetch(`${url}/api/tasks`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { tasks: { task_id: string; status: string }[] }).tasks;
}

describe('Redis over TLS (rediss://) with a private CA and client certificates', () => {
  let dir: string;
  let certs: TlsFiles;
  let strangers: TlsFiles;
  let server: RedisServer;
  let tlsPort: number;
  let h: Harness;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'oca-tls-'));
    certs = createCertificates(dir, 'deploy');
    strangers = createCertificates(dir, 'stranger');
    // The plain port stays open for the harness's own bookkeeping; the deployment uses the TLS one.
    // Chosen with the plain one, again on each try.
    server = await startRedisServer({
      args: async () => [
        '--tls-port',
        String((tlsPort = await testPort())),
        '--tls-cert-file',
        certs.serverCert,
        '--tls-key-file',
        certs.serverKey,
        '--tls-ca-cert-file',
        certs.caCert,
        '--tls-auth-clients',
        'yes',
      ],
    });
    process.env.REDIS_URL = server.url;
    h = createHarness();
    h.env.REDIS_URL = `rediss://127.0.0.1:${tlsPort}`;
    h.env.OPENCLAW_AGENT_CONFIG = writeConfigWith(
      h,
      'tls',
      `  tls:\n    ca_file: ${certs.caCert}\n    cert_file: ${certs.clientCert}\n    key_file: ${certs.clientKey}\n`,
    );
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => stopProcess(child)));
    await h.cleanup();
    await server.destroy();
    delete process.env.REDIS_URL;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a task end to end over TLS: the CLI enqueues and follows it, a worker runs it, the dashboard lists it', async () => {
    await h.startWorker();
    const r = await h.cli(['run', '--follow', '--', 'echo', 'over tls']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: 'over tls\n',
      stderr: expect.stringMatching(/^openclaw-agent: task [0-9a-f-]{36}\n$/),
    });

    const token = 'tls-dashboard-token-0123456789';
    const url = await startCliDashboard(h, children, token);
    expect((await apiTasks(url, token)).map((t) => t.status)).toEqual(['completed']);

    // Every connection but this check's own (the worker's, the dashboard's) came in on the TLS port.
    const admin = new Redis(server.url);
    try {
      const others = ((await admin.client('LIST')) as string)
        .split('\n')
        .filter((line) => line && !line.includes(' cmd=client|list '));
      expect(others.length).toBeGreaterThanOrEqual(4);
      for (const line of others) expect(line).toContain(` laddr=127.0.0.1:${tlsPort} `);
    } finally {
      admin.disconnect();
    }
  });

  it('a ~ path in redis.tls is the home directory', async () => {
    const home = path.dirname(certs.caCert);
    const tilde = (file: string) => `~/${path.basename(file)}`;
    const config = writeConfigWith(
      h,
      'tilde',
      `  tls:\n    ca_file: ${tilde(certs.caCert)}\n    cert_file: ${tilde(certs.clientCert)}\n    key_file: ${tilde(certs.clientKey)}\n`,
    );
    const r = await h.cli(['list', '--jsonl'], { env: { OPENCLAW_AGENT_CONFIG: config, HOME: home } });
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    expect(r.stdout).toContain('"status":"completed"');
  });

  it('each TLS misconfiguration fails in one line that names the cause and the fix', async () => {
    const variant = (name: string, tls: string) => ({ OPENCLAW_AGENT_CONFIG: writeConfigWith(h, name, tls) });
    const wrongCa = variant(
      'wrong-ca',
      `  tls:\n    ca_file: ${strangers.caCert}\n    cert_file: ${certs.clientCert}\n    key_file: ${certs.clientKey}\n`,
    );
    expectOneLineFailure(
      await h.cli(['list'], { env: wrongCa }),
      /^openclaw-agent: cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+: its TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\) — set redis\.tls\.ca_file to the CA that signed the server's certificate\n$/,
    );

    const noClientCert = variant('no-client-cert', `  tls:\n    ca_file: ${certs.caCert}\n`);
    expectOneLineFailure(
      await h.cli(['list'], { env: noClientCert }),
      /the server wants a client certificate \(\w+\) — set redis\.tls\.cert_file and redis\.tls\.key_file\n$/,
    );

    const otherName = variant(
      'other-name',
      `  tls:\n    ca_file: ${certs.caCert}\n    cert_file: ${certs.clientCert}\n    key_file: ${certs.clientKey}\n    servername: redis.example.com\n`,
    );
    expectOneLineFailure(
      await h.cli(['list'], { env: otherName }),
      /its TLS certificate is for another host name \(ERR_TLS_CERT_ALTNAME_INVALID\) — connect by a name the certificate lists, or set redis\.tls\.servername to one\n$/,
    );

    // TLS spoken to a plain port, and plain Redis spoken to the TLS port.
    expectOneLineFailure(
      await h.cli(['list'], { env: { REDIS_URL: `rediss://127.0.0.1:${server.port}` } }),
      /cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+ \(no TLS handshake: .*\) — use redis:\/\/ if that port is plain Redis, or the server's tls-port\n$/,
    );
    expectOneLineFailure(
      await h.cli(['list'], { env: { REDIS_URL: `redis://127.0.0.1:${tlsPort}` } }),
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(the server closed the connection: ECONNRESET\) — use rediss:\/\/ if that port speaks TLS\n$/,
    );

    // A worker fails the same way instead of retrying forever against a certificate it cannot accept.
    const worker = await h.cli(['worker', '--executor', 'local'], { env: wrongCa });
    expectOneLineFailure(worker, /its TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  });

  it('a redis.tls file that does not exist, or a certificate without its key, is one config error naming the key and the line', async () => {
    const file = writeConfigWith(h, 'missing', `  tls:\n    ca_file: ~/no-such-ca.pem\n`);
    const r = await h.cli(['list'], { env: { OPENCLAW_AGENT_CONFIG: file } });
    expectOneLineFailure(
      r,
      /^openclaw-agent: config error in .*missing\.yaml line \d+: `redis\.tls\.ca_file`: no such file — give the path of a PEM file, got `~\/no-such-ca\.pem`\n$/,
      2,
    );

    const unpaired = writeConfigWith(h, 'unpaired', `  tls:\n    cert_file: ${certs.clientCert}\n`);
    expectOneLineFailure(
      await h.cli(['list'], { env: { OPENCLAW_AGENT_CONFIG: unpaired } }),
      /^openclaw-agent: config error in .*unpaired\.yaml line \d+: `redis\.tls\.cert_file`: set `cert_file` and `key_file` together/,
      2,
    );
  });
});

/**
 * The narrowest ACL rule a deployment's user needs: its keys and channels under the prefix, no
 * dangerous commands (FLUSHALL, KEYS, CONFIG, …) except INFO (ioredis's ready check, BullMQ's
 * version check) and CLIENT SETNAME/LIST (BullMQ names its connections and counts workers).
 */
function aclRule(prefix: string): string[] {
  return [
    'on',
    'resetkeys',
    'resetchannels',
    `~${prefix}:*`,
    `&${prefix}:*`,
    '+@all',
    '-@dangerous',
    '+info',
    '+client|setname',
    '+client|list',
  ];
}

describe('Redis ACL users through REDIS_URL', () => {
  let server: RedisServer;
  let admin: Redis;
  let h: Harness;
  const children: ChildProcess[] = [];
  const password = 'acl-pass-7f3e9c1d';

  beforeAll(async () => {
    server = await startRedisServer();
    process.env.REDIS_URL = server.url;
    admin = new Redis(server.url);
    h = createHarness();
    await admin.call('ACL', 'SETUSER', 'oca', ...aclRule(h.prefix), `>${password}`);
    h.env.REDIS_URL = `redis://oca:${password}@127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => stopProcess(child)));
    await h.cleanup();
    admin.disconnect();
    await server.destroy();
    delete process.env.REDIS_URL;
  });

  it('a user limited to the deployment prefix runs, follows, kills, waits for and lists tasks, and serves the dashboard', async () => {
    await admin.call('ACL', 'LOG', 'RESET');
    await h.startWorker();
    const done = await h.cli(['run', '--follow', '--', 'echo', 'as an acl user']);
    expect(done).toMatchObject({
      exitCode: 0,
      stdout: 'as an acl user\n',
      stderr: expect.stringMatching(/^openclaw-agent: task [0-9a-f-]{36}\n$/),
    });

    const long = (await h.cli(['run', '--', 'sleep', '60'])).stdout.trim();
    await eventually(
      async () => ((await h.cli(['status', long, '--json'])).stdout.includes('"status": "running"') ? true : undefined),
      'the long task to run',
    );
    expect((await h.cli(['kill', long])).exitCode).toBe(0);
    const waited = await h.cli(['wait', long, '--timeout', '30s']);
    expect(waited.stderr).toBe('');
    expect((await h.cli(['list', '--jsonl'])).stdout.split('\n').filter(Boolean)).toHaveLength(2);

    const token = 'acl-dashboard-token-0123456789';
    const url = await startCliDashboard(h, children, token);
    expect((await apiTasks(url, token)).map((t) => t.status).sort()).toEqual(['completed', 'killed']);
    const queues = await fetch(`${url}/queues/api/queues?activeQueue=local&page=1&jobsPerPage=10`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(queues.status).toBe(200);

    // Nothing was denied: no key, channel or command outside the rule.
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
    // And the user really is fenced in.
    const user = new Redis(h.env.REDIS_URL!);
    try {
      await expect(user.get('someone-else:key')).rejects.toThrow(/NOPERM/);
      await expect(user.flushall()).rejects.toThrow(/NOPERM/);
    } finally {
      user.disconnect();
    }
  });

  it('a wrong password or an unknown user is one line, exit 4, and never shows the password', async () => {
    for (const url of [
      `redis://oca:wrong-${password}@127.0.0.1:${server.port}`,
      `redis://nobody:${password}@127.0.0.1:${server.port}`,
    ]) {
      const r = await h.cli(['list'], { env: { REDIS_URL: url } });
      const user = url.includes('nobody') ? 'nobody' : 'oca';
      expectOneLineFailure(
        r,
        new RegExp(
          `^openclaw-agent: Redis refused the credentials of user "${user}" at redis://${user}:\\*\\*\\*@127\\.0\\.0\\.1:\\d+ \\(WRONGPASS\\) — check the user name and password in REDIS_URL or redis\\.url\\n$`,
        ),
      );
      expect(r.stderr).not.toContain(password);
      const worker = await h.cli(['worker', '--executor', 'local'], { env: { REDIS_URL: url } });
      expectOneLineFailure(worker, /Redis refused the credentials/);
      expect(worker.stderr).not.toContain(password);
    }
  });
});

// A raw RESP exchange, so that no client library's own handling of AUTH gets in the way.
function rawCommands(port: number, commands: string[][]): Promise<string> {
  const encode = (args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.split('\r\n').length > commands.length) socket.end();
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(commands.map(encode).join(''));
  });
}

describe("the private stack's Redis requires its generated password", () => {
  let home: string;
  let redis: StartedRedis;

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'oca-embedded-'));
    redis = await startPrivateRedis(home);
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a client without the password (NOAUTH) or with a wrong one, and accepts the password file', async () => {
    const password = readFileSync(stackPaths(home).password, 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(await rawCommands(redis.port, [['PING'], ['GET', 'x']])).toMatch(/^-NOAUTH.*\r\n-NOAUTH.*\r\n$/);
    expect(await rawCommands(redis.port, [['AUTH', 'not-the-password'], ['PING']])).toMatch(
      /^-WRONGPASS.*\r\n-NOAUTH.*\r\n$/,
    );
    expect(await rawCommands(redis.port, [['AUTH', password], ['PING']])).toBe('+OK\r\n+PONG\r\n');
  });

  it('the CLI without the password says so in one line', async () => {
    const h = createHarness();
    try {
      const r = await h.cli(['list'], { env: { REDIS_URL: `redis://127.0.0.1:${redis.port}` } });
      expectOneLineFailure(
        r,
        /^openclaw-agent: Redis at redis:\/\/127\.0\.0\.1:\d+ requires a password \(NOAUTH\) — give it in the URL: redis:\/\/:PASSWORD@host:port, or redis:\/\/USER:PASSWORD@host:port for an ACL user\n$/,
      );
    } finally {
      await h.cleanup();
    }
  });
});

describe('the private Redis on a port taken between its choice and the bind', () => {
  let home: string;
  let holder: Server;
  let held: number;
  const heldSockets: Socket[] = [];

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'oca-embedded-'));
    // It takes connections and says nothing, as a server of another protocol would.
    holder = createServer((socket) => heldSockets.push(socket));
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    held = (holder.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of heldSockets) socket.destroy();
    await new Promise((resolve) => holder.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  // A port chooser that gives these ports first, then free ones.
  const portsThen = (first: number[]) => {
    const left = [...first];
    return async () => left.shift() ?? (await testPort());
  };

  it('tries another port, and says where to look when every try finds its port taken', async () => {
    const redis = await startPrivateRedis(home, portsThen([held]));
    try {
      expect(redis.port).not.toBe(held);
      expect(await rawCommands(redis.port, [['PING']])).toMatch(/^-NOAUTH/);
      expect(readFileSync(path.join(stackPaths(home).root, 'redis.log'), 'utf8')).toMatch(
        new RegExp(`Failed listening on port ${held} \\(tcp\\)`, 'i'),
      );
    } finally {
      await redis.stop();
    }

    // A Redis without a password on the port answers any AUTH: it is not taken for ours.
    const foreign = await startRedisServer();
    try {
      const beside = await startPrivateRedis(home, portsThen([foreign.port]));
      try {
        expect(beside.port).not.toBe(foreign.port);
        expect(await rawCommands(beside.port, [['PING']])).toMatch(/^-NOAUTH/);
      } finally {
        await beside.stop();
      }
    } finally {
      await foreign.destroy();
    }

    let tries = 0;
    const refused = await startPrivateRedis(home, async () => (tries++, held)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(tries).toBe(3);
    expect(refused).toMatchObject({
      code: 'REDIS_UNREACHABLE',
      message: `the private redis-server did not start; see ${path.join(stackPaths(home).root, 'redis.log')}`,
    });
  });
});
