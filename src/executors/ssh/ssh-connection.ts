// The SSH connection to an executor's host: host key checks, credentials, a jump host, commands.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { expandHome, type ExecutorConfig } from '../../config/config.js';
import { UserFacingError } from '../../errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  knownHostsLine,
  knownKeyTypes,
  readKeyType,
  readKnownHosts,
} from './known-hosts.js';
import { parseProbe, PROBE_SCRIPT, type RemoteInfo } from './remote-scripts.js';

interface SshTarget {
  host: string;
  port: number;
  username: string;
}

/** `[user@]host[:port]` of `jump_host`; the executor's user when none is given. */
export function parseJumpHost(spec: string, defaultUser: string): SshTarget {
  const match = /^(?:([^@\s]+)@)?([^:@\s]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!match) throw new SshError(`jump_host "${spec}" is not [user@]host[:port]`, false);
  return { username: match[1] ?? defaultUser, host: match[2]!, port: Number(match[3] ?? 22) };
}

/** A failure to reach or use the SSH host; `transient` ones (network) are worth retrying. */
export class SshError extends UserFacingError {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super('EXECUTOR_FAILED', message);
    this.name = 'SshError';
  }
}

export interface ExecResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** ssh2, required on the first connection. */
let ssh2: { Client: typeof Client } | undefined;

/**
 * Linux caps one argument at 128 KiB, and the whole command is one argument to the remote login
 * shell: past this, a command is refused here with a clear error instead of breaking the link.
 */
const MAX_COMMAND_BYTES = 120_000;
/** A remote command that runs longer than this is abandoned (its channel closed) as a failure. */
const COMMAND_TIMEOUT_MS = 120_000;

/**
 * OpenSSH allows 10 sessions per connection (MaxSessions); stay below it so that a burst of task
 * starts, polls and kills queues here instead of failing with "open failed".
 */
const MAX_CHANNELS = 8;

// ssh2's host key algorithms, the order it prefers when nothing about the host is known.
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

/**
 * One SSH connection to an executor's host, shared by all its tasks (each command is a channel
 * on it). Connects on first use and again after the link drops; the host key is verified before
 * any credential is sent. Commands are POSIX sh scripts that reach the remote login shell as
 * base64 (whatever that shell is, it only parses a fixed `sh -c '…'` frame around them). That
 * command line is readable by every user of the remote (`ps`): secrets go on stdin.
 */
export class SshConnection {
  private client: Client | undefined;
  private connecting: Promise<{ client: Client; info: RemoteInfo }> | undefined;
  private info: RemoteInfo | undefined;
  private channels = 0;
  private readonly queue: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly config: ExecutorConfig,
    private readonly log: (line: string) => void = () => {},
  ) {}

  private get where(): string {
    return `${this.user}@${this.config.host}:${this.config.port}`;
  }

  private get user(): string {
    return this.config.user ?? userInfo().username;
  }

  /** The remote's facts (its home directory), connecting first when needed. */
  async remote(): Promise<RemoteInfo> {
    return (await this.connect()).info;
  }

  /** Runs a sh script on the remote; `stdin` is written to it and closed. */
  async run(script: string, stdin?: string | Buffer): Promise<ExecResult> {
    const { client } = await this.connect();
    await this.acquire();
    try {
      return await this.exec(client, script, stdin);
    } finally {
      this.release();
    }
  }

  /** Ends the connection for good: later commands fail instead of reconnecting. */
  close(): void {
    this.closed = true;
    this.client?.end();
    this.client = undefined;
    this.info = undefined;
  }

  private exec(client: Client, script: string, stdin: string | Buffer | undefined): Promise<ExecResult> {
    const encoded = Buffer.from(script, 'utf8').toString('base64');
    const command = `sh -c 'eval "$(echo ${encoded} | base64 -d)"'`;
    if (command.length > MAX_COMMAND_BYTES) {
      return Promise.reject(
        new SshError(
          `the command for ${this.where} is too long to send over SSH (${Math.round(command.length / 1024)} KiB encoded, at most ${Math.round(MAX_COMMAND_BYTES / 1024)} KiB): put it in a script on the host, or pass large text as the prompt`,
          false,
        ),
      );
    }
    return new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
        if (error) {
          reject(this.lost(error));
          return;
        }
        const timer = setTimeout(() => {
          reject(
            new SshError(
              `ssh ${this.where}: a remote command took longer than ${COMMAND_TIMEOUT_MS / 1000}s; abandoned`,
              true,
            ),
          );
          channel.close();
        }, COMMAND_TIMEOUT_MS);
        channel.once('close', () => clearTimeout(timer));
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let code: number | null = null;
        channel.on('data', (chunk: Buffer) => out.push(chunk));
        channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        channel.on('exit', (exitCode: number | null) => {
          code = exitCode;
        });
        channel.on('close', () => {
          // A channel that closes without an exit status died with the connection.
          if (code === null && this.client !== client) {
            reject(new SshError(`the connection to ${this.where} dropped during a command`, true));
            return;
          }
          resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
        });
        channel.on('error', (e: Error) => reject(this.lost(e)));
        channel.end(stdin);
      });
    }).catch((error: unknown) => {
      // ssh2's exec throws "Not connected" for a client that dropped while this command waited
      // for a channel: retried like any dropped link, not a failure of the task.
      throw error instanceof SshError ? error : this.lost(error as Error);
    });
  }

  private lost(error: Error): SshError {
    return new SshError(`ssh ${this.where}: ${error.message}`, true);
  }

  private async acquire(): Promise<void> {
    if (this.channels < MAX_CHANNELS) {
      this.channels++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.channels--;
  }

  private connect(): Promise<{ client: Client; info: RemoteInfo }> {
    if (this.closed) return Promise.reject(new SshError(`ssh ${this.where}: the connection was closed`, false));
    if (this.client && this.info) return Promise.resolve({ client: this.client, info: this.info });
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<{ client: Client; info: RemoteInfo }> {
    const target = { host: this.config.host!, port: this.config.port, username: this.user };
    // Through a jump host (ProxyJump): its key is checked the same way, then a direct-tcpip
    // channel over it carries the connection to the executor's host.
    let jump: Client | undefined;
    let sock: Duplex | undefined;
    if (this.config.jump_host) {
      const via = parseJumpHost(this.config.jump_host, this.user);
      jump = await this.handshake(via, undefined, undefined, `jump host ${via.username}@${via.host}:${via.port}`);
      sock = await new Promise<Duplex>((resolve, reject) => {
        jump!.forwardOut('127.0.0.1', 0, target.host, target.port, (error: Error | undefined, stream: ClientChannel) =>
          error
            ? reject(
                new SshError(
                  `jump host ${via.host} could not reach ${target.host}:${target.port}: ${error.message}`,
                  true,
                ),
              )
            : resolve(stream),
        );
      }).catch((error: unknown) => {
        jump?.end();
        throw error;
      });
    }
    const client = await this.handshake(target, this.config.host_key, sock, `ssh ${this.where}`).catch(
      (error: unknown) => {
        jump?.end();
        throw error;
      },
    );
    client.on('close', () => {
      jump?.end();
      if (this.client === client) {
        this.client = undefined;
        this.info = undefined;
        this.log(`ssh ${this.where}: connection closed`);
      }
    });
    const probe = await this.exec(client, PROBE_SCRIPT, undefined).catch((error: unknown) => {
      client.end();
      throw error;
    });
    const info = parseProbe(probe.stdout.toString('utf8'));
    if (!info) {
      client.end();
      throw new SshError(
        `ssh ${this.where}: the remote did not run the probe (needs a POSIX sh and base64): ${probe.stderr.trim().split('\n')[0] || `exit code ${probe.code}`}`,
        false,
      );
    }
    if (this.closed) {
      client.end();
      throw new SshError(`ssh ${this.where}: the connection was closed`, false);
    }
    this.client = client;
    this.info = info;
    return { client, info };
  }

  // Connects and authenticates to one host, its key verified first (against `pin` when given).
  private async handshake(
    target: SshTarget,
    pin: string | undefined,
    sock: Duplex | undefined,
    label: string,
  ): Promise<Client> {
    const { host, port } = target;
    const knownHostsFile = expandHome(this.config.known_hosts ?? path.join(homedir(), '.ssh', 'known_hosts'));
    const entries = pin || this.config.host_key_check === 'off' ? [] : await readKnownHosts(knownHostsFile);
    const known = knownKeyTypes(entries, host, port);
    let refusal: string | undefined;
    const auth = this.credentials();
    // Loaded on first connect, and never bundled: every CLI command would otherwise pay for
    // reading ssh2 (350 KB with its crypto) and for its start-up.
    ssh2 ??= createRequire(import.meta.url)('ssh2') as { Client: typeof Client };
    const SshClient = ssh2.Client;
    const client = new SshClient();
    const options: ConnectConfig = {
      host,
      port,
      username: target.username,
      ...(sock ? { sock } : {}),
      ...auth.options,
      readyTimeout: this.config.connect_timeout,
      keepaliveInterval: this.config.keepalive_interval,
      keepaliveCountMax: 3,
      // Ask for a key type we can check first (OpenSSH does the same), so a host known by its
      // RSA key is not reported as changed because it also has an ed25519 key.
      algorithms: { serverHostKey: [...orderFirst(HOST_KEY_ALGORITHMS, algorithmsFor(known))] },
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        this.verifyHostKey(key, target, pin, entries, knownHostsFile).then(
          (reason) => {
            refusal = reason;
            verify(reason === undefined);
          },
          (error: unknown) => {
            refusal = `cannot check the host key of ${host}:${port}: ${String(error)}`;
            verify(false);
          },
        );
      },
    };
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      // Listening for good before connecting: ssh2 may report a reset twice (once to the
      // handshake, once more as "lost before handshake"), and an unheard 'error' ends the worker.
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        if (!settled) {
          settled = true;
          client.end();
          reject(this.describeConnectError(error, refusal, auth.tried, target));
          return;
        }
        this.log(`${label}: ${error.message}`);
      });
      client.once('ready', () => {
        settled = true;
        resolve();
      });
      try {
        client.connect(options);
      } catch (error) {
        // A key that cannot be parsed (say, encrypted without a passphrase) throws right here.
        settled = true;
        reject(this.describeConnectError(error as Error, refusal, auth.tried, target));
      }
    });
    return client;
  }

  // Undefined when the key is accepted, else why not (shown to the user as it is).
  private async verifyHostKey(
    key: Buffer,
    { host, port }: SshTarget,
    pin: string | undefined,
    entries: Awaited<ReturnType<typeof readKnownHosts>>,
    file: string,
  ): Promise<string | undefined> {
    const name = this.config.name;
    const fingerprint = fingerprintSha256(key);
    const keyType = readKeyType(key);
    const target = port === 22 ? host : `[${host}]:${port}`;
    if (pin) {
      if (fingerprint === pin) return undefined;
      return `host key mismatch for ${target}: it offered ${keyType} ${fingerprint}, but executor "${name}" pins host_key ${pin} — if the host was reinstalled, update host_key`;
    }
    if (this.config.host_key_check === 'off') {
      this.log(
        `warning: host key checking is off for executor "${name}"; accepted ${keyType} ${fingerprint} from ${target} unverified`,
      );
      return undefined;
    }
    const status = checkHostKey(entries, host, port, keyType, key);
    switch (status.status) {
      case 'match':
        return undefined;
      case 'revoked':
        return `the host key ${fingerprint} of ${target} is marked @revoked in ${file}; refusing to connect`;
      case 'changed':
        return (
          `the host key of ${target} changed: it offered ${keyType} ${fingerprint}, ${file} has ${status.knownFingerprints.join(', ')} — ` +
          `if you expect the change, run \`ssh-keygen -R '${target}' -f ${file}\` and connect again, or pin host_key: ${fingerprint}`
        );
      case 'unknown':
        if (this.config.host_key_check === 'accept-new') {
          await appendKnownHost(file, knownHostsLine(host, port, keyType, key));
          this.log(`recorded the new host key of ${target} (${keyType} ${fingerprint}) in ${file}`);
          return undefined;
        }
        return (
          `unknown host key for ${target}: it offered ${keyType} ${fingerprint} — check it, then add it with ` +
          `\`ssh-keyscan -p ${port} ${host} >> ${file}\`, pin host_key: ${fingerprint} in executor "${name}", or set host_key_check: accept-new`
        );
    }
  }

  private credentials(): { options: Partial<ConnectConfig>; tried: string } {
    const { key_path: keyPath, key_passphrase_env: passphraseVariable, name } = this.config;
    if (keyPath) {
      const file = expandHome(keyPath);
      let privateKey: Buffer;
      try {
        privateKey = readFileSync(file);
      } catch (error) {
        throw new SshError(
          `cannot read key_path ${file} of executor "${name}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          false,
        );
      }
      const passphrase = process.env[passphraseVariable];
      return { options: { privateKey, ...(passphrase ? { passphrase } : {}) }, tried: `publickey (${file})` };
    }
    const agent = process.env.SSH_AUTH_SOCK;
    if (!agent) {
      throw new SshError(
        `executor "${name}" has no key_path and SSH_AUTH_SOCK is not set — set key_path, or start ssh-agent and add a key`,
        false,
      );
    }
    return { options: { agent }, tried: `the keys of the ssh-agent at ${agent}` };
  }

  private describeConnectError(
    error: Error & { level?: string; code?: string },
    refusal: string | undefined,
    tried: string,
    target: SshTarget,
  ): SshError {
    const { host, port } = target;
    const name = this.config.name;
    if (refusal) return new SshError(refusal, false);
    const message = error.message;
    if (/passphrase/i.test(message) || /Cannot parse privateKey/i.test(message)) {
      return new SshError(
        `cannot use key_path of executor "${name}": ${message} — put the passphrase in $${this.config.key_passphrase_env}`,
        false,
      );
    }
    if (error.level === 'client-authentication') {
      return new SshError(
        `ssh ${target.username}@${host}:${port} refused authentication (tried ${tried}) — is the public key in the remote authorized_keys?`,
        false,
      );
    }
    if (error.level === 'client-timeout') {
      return new SshError(
        `timed out connecting to ssh host ${host}:${port} after ${Math.round(this.config.connect_timeout / 1000)}s`,
        true,
      );
    }
    if (error.level === 'client-dns')
      return new SshError(`cannot resolve ssh host "${host}" of executor "${name}"`, true);
    const code = error.code ? `${error.code}: ` : '';
    return new SshError(`cannot reach ssh host ${host}:${port} of executor "${name}" (${code}${message})`, true);
  }
}

// known_hosts names RSA keys `ssh-rsa`; the algorithms that verify them have other names.
function algorithmsFor(keyTypes: readonly string[]): string[] {
  return keyTypes.flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]));
}

function orderFirst<T extends string>(all: readonly T[], first: readonly string[]): T[] {
  const preferred = all.filter((a) => first.includes(a));
  return [...preferred, ...all.filter((a) => !preferred.includes(a))];
}
