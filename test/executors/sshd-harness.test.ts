import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../../src/executors/ssh/known-hosts.js';
import { shellJoin } from '../../src/executors/shell/quote.js';
import { eventually } from '../helpers/harness.js';
import { startSshd, type SshdServer } from '../helpers/sshd.js';

const run = promisify(execFile);

interface Connection {
  client: Client;
  negotiated: Record<string, unknown>;
  closed: Promise<void>;
}

let server: SshdServer;
const clients: Client[] = [];
const remotePids: number[] = [];

beforeAll(async () => {
  server = await startSshd();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.end();
  for (const pid of remotePids.splice(0)) killQuietly(pid);
  // A test that leaves a remote process behind fails here.
  await eventually(async () => (server.remotePids().length === 0 ? true : undefined), 'remote processes to exit', 5000);
});

afterAll(async () => {
  await server?.stop();
});

// Verifies the host by the SHA256 fingerprint the harness computed from its host key file.
function connect(
  target: SshdServer,
  auth: Partial<ConnectConfig> = {},
  fingerprint = target.hostKeyFingerprint,
): Promise<Connection> {
  const client = new Client();
  clients.push(client);
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let negotiated: Record<string, unknown> = {};
    client.once('handshake', (info) => {
      negotiated = info as unknown as Record<string, unknown>;
    });
    client.once('ready', () => resolve({ client, negotiated, closed }));
    client.once('error', reject);
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: readFileSync(target.keyPath),
      hostVerifier: (key: Buffer) => fingerprintSha256(key) === fingerprint,
      readyTimeout: 10_000,
      ...auth,
    });
  });
}

function exec(client: Client, command: string): Promise<{ stdout: Buffer; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
      if (error) return reject(error);
      const chunks: Buffer[] = [];
      let code: number | null = null;
      channel.on('data', (chunk: Buffer) => chunks.push(chunk));
      channel.stderr.resume();
      channel.on('exit', (exitCode: number | null) => {
        code = exitCode;
      });
      channel.on('close', () => resolve({ stdout: Buffer.concat(chunks), code }));
    });
  });
}

// Starts `sleep` in a session of its own and returns its pid (`setsid` does not fork for a
// background job, which is never a process group leader).
async function startDetachedSleep(client: Client): Promise<number> {
  const { stdout } = await exec(client, 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!');
  const pid = Number(stdout.toString().trim());
  remotePids.push(pid);
  // `$!` is known before the forked shell has become `sleep`.
  await eventually(
    async () => (processState(pid)?.comm === 'sleep' ? true : undefined),
    `pid ${pid} to become sleep`,
    5000,
  );
  return pid;
}

function processState(pid: number): { comm: string; state: string; sid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = {
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      state: fields[0]!,
      sid: Number(fields[3]),
    };
    return state.state === 'Z' ? undefined : state;
  } catch {
    return undefined;
  }
}

// Bounds a wait that would otherwise hang until the test timeout when the harness is broken.
async function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function systemSsh(target: SshdServer, knownHostsFile: string, command: string) {
  return run('ssh', [
    '-F',
    '/dev/null',
    '-p',
    String(target.port),
    '-i',
    target.keyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    `${target.user}@${target.host}`,
    command,
  ]);
}

describe('startSshd', () => {
  it('serves ssh2 clients that log in with the client key and verify the host fingerprint', async () => {
    const { client, negotiated } = await connect(server);
    const { stdout, code } = await exec(client, 'echo hi');
    expect(stdout.toString()).toBe('hi\n');
    expect(code).toBe(0);
    expect(negotiated.serverHostKey).toBe('ssh-ed25519');
  });

  it('accepts the encrypted client key with its passphrase and only then', async () => {
    const key = readFileSync(server.encryptedKeyPath);
    const { client } = await connect(server, { privateKey: key, passphrase: server.passphrase });
    expect((await exec(client, 'id -un')).stdout.toString()).toBe(`${server.user}\n`);
    await expect(connect(server, { privateKey: key })).rejects.toThrow(/passphrase/i);
    await expect(connect(server, { privateKey: key, passphrase: 'wrong' })).rejects.toThrow(/passphrase|decrypt/i);
  });

  it('is refused by a client that expects another host key', async () => {
    await expect(connect(server, {}, fingerprintSha256(Buffer.from('another key')))).rejects.toThrow(
      /verification failed/,
    );
  });

  it('serves the system ssh client with strict host key checking against knownHostsFile', async () => {
    const { stdout } = await systemSsh(server, server.knownHostsFile, 'echo ok');
    expect(stdout).toBe('ok\n');
    expect(readFileSync(server.knownHostsFile, 'utf8')).toBe(`${server.hostKeyLine}\n`);
    expect(server.hostKeyLine.startsWith(`[127.0.0.1]:${server.port} ssh-ed25519 `)).toBe(true);
    // The same client without the line is refused, so the line is what let it in.
    const empty = path.join(server.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    await expect(systemSsh(server, empty, 'true')).rejects.toMatchObject({
      code: 255,
      stderr: expect.stringMatching(/Host key verification failed/),
    });
  });

  it('hands shellJoin-quoted words to the login shell byte for byte', async () => {
    const words = [
      "it's",
      '$(id) `id` $HOME',
      'a\nb',
      '*',
      '-n',
      '',
      Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join(''),
    ];
    const { client } = await connect(server);
    const { stdout } = await exec(client, shellJoin(['printf', '%s\\0', ...words]));
    expect(stdout.toString('hex')).toBe(Buffer.concat(words.map((w) => Buffer.from(`${w}\0`, 'utf8'))).toString('hex'));
  });

  it('dropConnections severs the link while a setsid process keeps running', async () => {
    const { client, closed } = await connect(server);
    const pid = await startDetachedSleep(client);
    expect(processState(pid)).toMatchObject({ comm: 'sleep', sid: pid });
    expect(server.remotePids()).toEqual([pid]);

    expect(await server.dropConnections()).toBeGreaterThanOrEqual(1);
    await within(closed, 'the client to see the connection drop');
    expect(processState(pid)).toMatchObject({ comm: 'sleep' });
    expect(server.sshdPids()).toHaveLength(1);

    // The listener is untouched: a new connection works.
    const again = await connect(server);
    expect((await exec(again.client, 'echo back')).stdout.toString()).toBe('back\n');
  });

  it('restart keeps port and host key; connections opened before it survive until dropped', async () => {
    const before = await connect(server);
    const listenerBefore = server.sshdPids()[0];
    await server.restart();
    expect(server.sshdPids()[0]).not.toBe(listenerBefore);

    const after = await connect(server);
    expect((await exec(after.client, 'echo new')).stdout.toString()).toBe('new\n');
    expect((await exec(before.client, 'echo old')).stdout.toString()).toBe('old\n');

    expect(await server.dropConnections()).toBeGreaterThanOrEqual(2);
    await within(Promise.all([before.closed, after.closed]), 'both clients to see their connections drop');
    expect(server.log()).toMatch(
      /Server listening on 127\.0\.0\.1 port \d+\.[\s\S]*Server listening on 127\.0\.0\.1 port \d+\./,
    );
  });
});

describe('SshdServer.stop', () => {
  it('leaves no sshd, session process or temp dir of its own behind', async () => {
    const own = await startSshd();
    try {
      const { client, closed } = await connect(own);
      await startDetachedSleep(client);
      // A plain background job of the session as well, not only a setsid one.
      await exec(client, 'sleep 301 </dev/null >/dev/null 2>&1 &');
      await eventually(async () => (own.remotePids().length === 2 ? true : undefined), 'both sleeps to start', 5000);
      const sshd = own.sshdPids();
      const remote = own.remotePids();
      expect(sshd.length).toBeGreaterThanOrEqual(2);

      await own.stop();
      await within(closed, 'the client to see the server stop');
      for (const pid of [...sshd, ...remote])
        expect({ pid, state: processState(pid) }).toEqual({ pid, state: undefined });
      expect(existsSync(own.dir)).toBe(false);
      await own.stop();
    } finally {
      await own.stop();
    }
  });
});
