import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fingerprintSha256, knownHostsLine } from '../../src/executors/ssh/known-hosts.js';
import { testPort } from './ports.js';
import { stopProcess } from './harness.js';
import { isLive, processesWithEnv, readProcessTable, type ProcessInfo, type ProcessRef } from './processes.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
// OpenSSH 9.8+ splits the per-connection server into sshd-session (and sshd-auth in 10.x).
const SSHD_COMMS = new Set(['sshd', 'sshd-session', 'sshd-auth']);

/** A private OpenSSH server on 127.0.0.1 that accepts the generated client keys for the current user. */
export interface SshdServer {
  host: string;
  port: number;
  user: string;
  /** Unencrypted ed25519 client key, listed in the server's authorized_keys. */
  keyPath: string;
  /** The same kind of key, encrypted with `passphrase`, also authorized. */
  encryptedKeyPath: string;
  passphrase: string;
  /** `SHA256:…` of the server's ed25519 host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** The known_hosts line for `[127.0.0.1]:port`. */
  hostKeyLine: string;
  /** A known_hosts file holding `hostKeyLine` only. */
  knownHostsFile: string;
  dir: string;
  /** Stops the server, kills its connections and every process its sessions started, deletes `dir`. */
  stop(): Promise<void>;
  /**
   * Stops the listener and starts a new one on the same port with the same keys. Like
   * `systemctl restart ssh`, open connections survive; call `dropConnections()` to sever them.
   */
  restart(): Promise<void>;
  /**
   * SIGKILLs the per-connection sshd processes, as a network failure or server crash would end
   * them. Commands they ran are in sessions of their own and keep running. Returns how many died.
   */
  dropConnections(): Promise<number>;
  /** Live processes started by this server's sessions (found by a marker in their environment). */
  remotePids(): number[];
  /** Pids of the listener and its connection processes. */
  sshdPids(): number[];
  /** Everything sshd wrote to stderr, across restarts. */
  log(): string;
}

export interface StartSshdOptions {
  /** Extra sshd_config lines, e.g. `['MaxSessions 2']`. @default [] */
  config?: readonly string[];
}

/** Starts a real sshd for one test file; `stop()` it in `afterAll`/`afterEach`. */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-sshd-'));
  const marker = `oca-sshd-${randomUUID()}`;
  const passphrase = 'correct horse battery staple';
  const file = (name: string): string => path.join(dir, name);
  let listener: ChildProcess | undefined;
  let stderr = '';
  // Connection processes of earlier listeners: a restart reparents them away from the new one.
  let orphans: ProcessRef[] = [];

  try {
    // sshd refuses to start as root without its privilege separation directory.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    await Promise.all([
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'oca-test-host', '-f', file('host_ed25519')]),
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'oca-test-client', '-f', file('client_ed25519')]),
      run('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        passphrase,
        '-C',
        'oca-test-encrypted',
        '-f',
        file('client_encrypted'),
      ]),
    ]);
    writeFileSync(
      file('authorized_keys'),
      readFileSync(file('client_ed25519.pub'), 'utf8') + readFileSync(file('client_encrypted.pub'), 'utf8'),
      {
        mode: 0o600,
      },
    );
    const [keyType, keyBase64] = readFileSync(file('host_ed25519.pub'), 'utf8').split(' ');
    const hostKeyBlob = Buffer.from(keyBase64!, 'base64');
    const port = await testPort();
    const hostKeyLine = knownHostsLine('127.0.0.1', port, keyType!, hostKeyBlob);
    writeFileSync(file('known_hosts'), `${hostKeyLine}\n`, { mode: 0o600 });
    await writeConfig(file('sshd_config'), [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${file('host_ed25519')}`,
      `PidFile ${file('sshd.pid')}`,
      `AuthorizedKeysFile ${file('authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      // The temp dir and key files are not laid out the way StrictModes wants for a home.
      'StrictModes no',
      'UsePAM no',
      'LogLevel VERBOSE',
      'PrintMotd no',
      'PrintLastLog no',
      'Subsystem sftp internal-sftp',
      // Suites open many connections at once; the defaults (10 unauthenticated, 10 sessions) are tight.
      'MaxStartups 100',
      'MaxSessions 100',
      // Marks every process a session starts, so stop() finds them even after their connection died.
      // The login shell may source a ~/.bashrc that runs `pyenv rehash` (as root's does on these
      // machines); one killed by stop() leaves its lock behind, and every later session would wait
      // 60 s for it: try the lock once.
      `SetEnv OCA_SSHD_MARKER=${marker} PYENV_REHASH_TIMEOUT=0`,
      ...(options.config ?? []),
    ]);

    const startListener = async (): Promise<void> => {
      const child = spawn(SSHD, ['-D', '-e', '-f', file('sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      listener = child;
      await waitForBanner(port, child, () => stderr);
    };
    const stopListener = async (): Promise<void> => {
      if (listener === undefined) return;
      const child = listener;
      listener = undefined;
      await stopProcess(child);
    };
    const connections = (): ProcessRef[] => {
      const table = readProcessTable();
      const current = listener?.pid === undefined ? [] : sshdDescendants(table, listener.pid);
      orphans = orphans.filter((ref) => isAlive(table, ref));
      return [...current, ...orphans];
    };

    await startListener();
    return {
      host: '127.0.0.1',
      port,
      user: userInfo().username,
      keyPath: file('client_ed25519'),
      encryptedKeyPath: file('client_encrypted'),
      passphrase,
      hostKeyFingerprint: fingerprintSha256(hostKeyBlob),
      hostKeyLine,
      knownHostsFile: file('known_hosts'),
      dir,
      async stop() {
        const sessions = connections();
        await stopListener();
        await killAndWait(sessions);
        await killAndWait(processesWithEnv(`OCA_SSHD_MARKER=${marker}`));
        orphans = [];
        rmSync(dir, { recursive: true, force: true });
      },
      async restart() {
        orphans = connections();
        await stopListener();
        await startListener();
      },
      async dropConnections() {
        const sessions = connections();
        await killAndWait(sessions);
        return sessions.length;
      },
      remotePids: () => processesWithEnv(`OCA_SSHD_MARKER=${marker}`).map((ref) => ref.pid),
      sshdPids: () => [...(listener?.pid === undefined ? [] : [listener.pid]), ...connections().map((ref) => ref.pid)],
      log: () => stderr,
    };
  } catch (error) {
    if (listener !== undefined) await stopProcess(listener);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// `sshd -t` checks the config first, so a bad line fails with sshd's own message. PerSourcePenalties
// (OpenSSH 9.8+) would lock 127.0.0.1 out after the connections tests drop on purpose.
async function writeConfig(configFile: string, lines: string[]): Promise<void> {
  const withPenaltiesOff = [...lines, 'PerSourcePenalties no'];
  writeFileSync(configFile, `${withPenaltiesOff.join('\n')}\n`);
  try {
    await run(SSHD, ['-t', '-f', configFile]);
    return;
  } catch (error) {
    if (!/PerSourcePenalties/i.test(String((error as { stderr?: string }).stderr))) throw error;
  }
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  await run(SSHD, ['-t', '-f', configFile]);
}

// Ready means the port accepts TCP and sshd has sent its `SSH-2.0-…` identification.
async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`sshd exited before it was ready:\n${log()}`);
    if (await readBanner(port)) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on port ${port}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function readBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let seen = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes('SSH-2.0')) done(true);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

// Connection processes hang below the listener; the walk stops at the first non-sshd process,
// which is a user's command and not ours to kill here.
function sshdDescendants(table: Map<number, ProcessInfo>, root: number): ProcessRef[] {
  const found: ProcessRef[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const info of table.values()) {
      if (info.ppid !== parent || !SSHD_COMMS.has(info.comm) || !isLive(info)) continue;
      found.push({ pid: info.pid, startTime: info.startTime });
      queue.push(info.pid);
    }
  }
  return found;
}

function isAlive(table: Map<number, ProcessInfo>, ref: ProcessRef): boolean {
  const info = table.get(ref.pid);
  return info !== undefined && info.startTime === ref.startTime && isLive(info);
}

async function killAndWait(refs: ProcessRef[]): Promise<void> {
  const table = readProcessTable();
  for (const ref of refs) {
    if (!isAlive(table, ref)) continue;
    try {
      process.kill(ref.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  for (;;) {
    const now = readProcessTable();
    const left = refs.filter((ref) => isAlive(now, ref));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes ${left.map((ref) => ref.pid).join(', ')} did not die`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * An `executors:` list item (YAML) for an SSH executor on this server: its key, its known_hosts,
 * then `fields` (YAML values, e.g. `{ spool_dir: '/tmp/x' }`) added or replacing.
 */
export function sshExecutorYaml(server: SshdServer, name: string, fields: Record<string, string> = {}): string {
  const keys: Record<string, string> = {
    name,
    type: 'ssh',
    host: server.host,
    port: String(server.port),
    user: server.user,
    key_path: server.keyPath,
    known_hosts: server.knownHostsFile,
    ...fields,
  };
  const [first, ...rest] = Object.entries(keys).map(([key, value]) => `${key}: ${value}`);
  return [`  - ${first}`, ...rest.map((line) => `    ${line}`)].join('\n') + '\n';
}
