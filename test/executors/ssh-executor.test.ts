import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseConfigText,
  SshExecutor,
  StopSwitch,
  TaskKeys,
  type Config,
  type ExecutorConfig,
  type ShellCommandPayload,
} from '../../src/index.js';
import { deleteKeys } from '../helpers/harness.js';
import { countProcessGroup, processesOfSpoolDir } from '../helpers/processes.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import {
  describeExecutorConformance,
  executionRunner,
  readLocalFile,
  waitFor,
  type Runner,
} from './executor-conformance.js';

/** An ssh executor config for the test server, with `overrides` (YAML values) replacing its keys. */
function sshConfig(server: SshdServer, dir: string, overrides: Record<string, string> = {}): ExecutorConfig {
  const yaml = sshExecutorYaml(server, 'crib', {
    spool_dir: path.join(dir, 'remote-spool'),
    env: '{ OCA_EXECUTOR_VAR: from executor }',
    ...overrides,
  });
  return parseConfigText(`executors:\n${yaml}`, 'test').executors[0]!;
}

describeExecutorConformance('ssh', async () => {
  const server = await startSshd();
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-ssh-'));
  const executorConfig = sshConfig(server, dir);
  const executor = new SshExecutor(executorConfig);
  return {
    executor,
    executorConfig,
    workdir: dir,
    home: homedir(),
    async killFromOutside(handle) {
      process.kill(-Number(handle.pid), 'SIGKILL');
    },
    async processesLeft(handle) {
      return countProcessGroup(Number(handle.pid));
    },
    async runLeft(_taskId, handle) {
      return processesOfSpoolDir(handle.dir) > 0;
    },
    readFile: readLocalFile,
    async cleanup() {
      executor.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('ssh executor', () => {
  let server: SshdServer;
  let dir: string;
  let redis: Redis;
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
  const executors: SshExecutor[] = [];

  const runnerFor = (
    config: ExecutorConfig,
    log?: (line: string) => void,
    options?: ConstructorParameters<typeof SshExecutor>[2],
  ): { runner: Runner; executor: SshExecutor } => {
    const executor = new SshExecutor(config, log, options);
    executors.push(executor);
    return { runner: executionRunner(redis, keys, executor, config, defaults), executor };
  };
  const sh = (command: string, extra: Partial<ShellCommandPayload> = {}): ShellCommandPayload => ({
    type: 'shell_command',
    command,
    args: [],
    env: {},
    workingDir: dir,
    ...extra,
  });
  // sshd logs one "Accepted publickey" per authenticated connection.
  const acceptedLogins = () =>
    server
      .log()
      .split('\n')
      .filter((line) => line.includes('Accepted publickey')).length;

  beforeAll(async () => {
    server = await startSshd();
    dir = mkdtempSync(path.join(tmpdir(), 'oca-ssh-'));
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });

  afterAll(async () => {
    for (const executor of executors) executor.close();
    await server?.stop();
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes 1,000 random argv words byte-exact through the remote login shell', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    const alphabet = [...'\'"`$()\\;&|<>*?[]{}~#!% \t\n\r-=+,.:@^', '\u2028', 'é', '✓', '𝄞', 'a', 'Z', '0'];
    const word = (): string => {
      const length = 1 + (randomBytes(1)[0]! % 40);
      return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');
    };
    const words = Array.from({ length: 1000 }, word);
    words[0] = '-n';
    words[1] = 'x'.repeat(5000);
    for (let i = 0; i < words.length; i += 250) {
      const batch = words.slice(i, i + 250);
      const r = await runner.run({ ...sh('printf'), args: ['%s\\0', ...batch] });
      expect(r.result.exitCode).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(batch);
    }
  });

  it('refuses an argv word with a NUL byte with a clear error, starting nothing', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    const marker = path.join(dir, `nul-${randomUUID()}`);
    await expect(runner.run({ ...sh('touch'), args: [marker, 'a\0b'] })).rejects.toThrow(/NUL byte/);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('runs 20 tasks at once over one connection', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    const before = acceptedLogins();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runner.run(sh(`for n in 1 2 3; do echo task${i}-$n; sleep 0.1; done; exit ${i % 3}`)),
      ),
    );
    runs.forEach((r, i) => {
      expect(r.result).toMatchObject({ exitCode: i % 3 });
      expect(r.stdout).toBe(`task${i}-1\ntask${i}-2\ntask${i}-3\n`);
    });
    expect(acceptedLogins() - before).toBe(1);
  });

  it('finishes a task across a dropped connection with no gap, no duplicate and the right exit code', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    const taskId = randomUUID();
    // Held after line 5 until the connection is dropped: on a loaded machine the task could
    // otherwise end, and be collected, before the drop.
    const gate = path.join(dir, `gate-${taskId}`);
    const running = runner.execute(
      sh(
        `i=1; while [ $i -le 40 ]; do echo line$i; [ $i -eq 5 ] && while [ ! -e '${gate}' ]; do sleep 0.05; done; i=$((i+1)); sleep 0.05; done; exit 5`,
      ),
      { taskId },
    );
    await waitFor(async () => (await runner.collect(taskId)).stdout.includes('line5\n'));
    const logins = acceptedLogins();
    expect(await server.dropConnections()).toBeGreaterThan(0);
    writeFileSync(gate, '');
    const result = await running;
    expect(result).toEqual({ outcome: 'failed', exitCode: 5, signal: null, endedAt: expect.any(Number) });
    const { stdout } = await runner.collect(taskId);
    expect(stdout).toBe(Array.from({ length: 40 }, (_, i) => `line${i + 1}\n`).join(''));
    // It went on over a new connection.
    expect(acceptedLogins()).toBeGreaterThan(logins);
  });

  it('says once in the log that a stop waits for an unreachable host, and stops the task when it is back', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const config = sshConfig(server, dir, { port: String(proxy.port), host_key: server.hostKeyFingerprint });
      // Reconnect attempts 50, 100, 200… ms apart instead of 500 ms, 1 s, 2 s…
      const { runner } = runnerFor(config, undefined, { retryFirstMs: 50 });
      const taskId = randomUUID();
      const stop = new StopSwitch();
      const running = runner.execute(sh('echo up; exec sleep 300', { env: { OCA_SECRET: 'hunter2' } }), {
        taskId,
        stop,
      });
      await waitFor(async () => (await runner.collect(taskId)).stdout === 'up\n');
      const pid = Number(await redis.hget(keys.record(taskId), 'h:pid'));
      expect(countProcessGroup(pid)).toBeGreaterThan(0);

      // The host goes away, the worker notices (it tries to reconnect), then the kill comes.
      proxy.cut();
      await waitFor(async () => proxy.refused() > 0);
      stop.trip({ kind: 'killed', graceMs: 300, reason: 'killed on request' });
      const waits = (system: string) => system.split('\n').filter((line) => line.includes('waits for ssh host'));
      await waitFor(async () => waits((await runner.collect(taskId)).system).length > 0);
      // Three more attempts to reach the host, each refused: still one line.
      const refused = proxy.refused();
      await waitFor(async () => proxy.refused() >= refused + 3);
      const { system } = await runner.collect(taskId);
      expect(waits(system)).toHaveLength(1);
      expect(waits(system)[0]).toMatch(
        /^the stop \(killed on request\) waits for ssh host 127\.0\.0\.1, which cannot be reached: .+; the task runs on until the host is back, then gets SIGTERM$/,
      );
      expect(system).not.toContain('hunter2');
      expect(countProcessGroup(pid)).toBeGreaterThan(0);

      proxy.restore();
      const result = await running;
      expect(result).toMatchObject({ outcome: 'failed', stopped: true });
      const after = (await runner.collect(taskId)).system;
      expect(waits(after)).toHaveLength(1);
      expect(after).toContain('ssh host 127.0.0.1 is back: sent SIGTERM for the stop (killed on request)\n');
      expect(countProcessGroup(pid)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('runs a Claude task through a key with a passphrase from the environment', async () => {
    process.env.OCA_TEST_SSH_PASSPHRASE = server.passphrase;
    try {
      const config = sshConfig(server, dir, {
        key_path: server.encryptedKeyPath,
        key_passphrase_env: 'OCA_TEST_SSH_PASSPHRASE',
      });
      const { runner } = runnerFor(config);
      const r = await runner.run({ type: 'claude_code', prompt: 'hello over ssh', workspace: dir, maxTurns: 3 });
      expect(r.result).toMatchObject({ outcome: 'completed', exitCode: 0 });
      expect(r.stdout).toContain('"result":"done: hello over ssh"');
    } finally {
      delete process.env.OCA_TEST_SSH_PASSPHRASE;
    }
  });

  it('says when claude is not on the remote', async () => {
    const { runner } = runnerFor(sshConfig(server, dir, { claude_path: '/nonexistent/claude' }));
    const r = await runner.run({ type: 'claude_code', prompt: 'x', workspace: dir, maxTurns: 1 });
    expect(r.result).toMatchObject({ outcome: 'failed', exitCode: null });
    expect(r.result.error).toMatch(/\/nonexistent\/claude not found on executor "crib"/);
  });

  it('refuses a host whose key does not match the pinned fingerprint, before authenticating', async () => {
    const wrong = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const { runner } = runnerFor(sshConfig(server, dir, { host_key: wrong }));
    const before = server.log();
    await expect(runner.run(sh('true'))).rejects.toThrow(
      new RegExp(`host key mismatch .* it offered ssh-ed25519 ${escape(server.hostKeyFingerprint)}`),
    );
    const during = server.log().slice(before.length);
    expect(during).not.toMatch(/publickey|Accepted|Failed/);
  });

  it('refuses an unknown host key with its fingerprint and how to trust it; accept-new records it', async () => {
    const knownHosts = path.join(dir, `known_hosts-${randomUUID()}`);
    writeFileSync(knownHosts, '');
    const strict = runnerFor(sshConfig(server, dir, { known_hosts: knownHosts }));
    await expect(strict.runner.run(sh('true'))).rejects.toThrow(
      /unknown host key for \[127\.0\.0\.1\]:\d+: it offered ssh-ed25519 SHA256:.*ssh-keyscan/,
    );

    const logs: string[] = [];
    const accepting = runnerFor(
      sshConfig(server, dir, { known_hosts: knownHosts, host_key_check: 'accept-new' }),
      (l) => logs.push(l),
    );
    expect((await accepting.runner.run(sh('echo trusted'))).stdout).toBe('trusted\n');
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${server.hostKeyLine}\n`);
    expect(logs.join('\n')).toContain(`recorded the new host key of [127.0.0.1]:${server.port}`);

    // From now on the strict check finds it.
    const again = runnerFor(sshConfig(server, dir, { known_hosts: knownHosts }));
    expect((await again.runner.run(sh('echo known'))).stdout).toBe('known\n');
  });

  // A full disk on the remote: a 64 KiB tmpfs as the remote spool, and a prompt that does not fit.
  it.skipIf(process.getuid?.() !== 0)('says when the remote disk is full, starting nothing', async () => {
    const full = path.join(dir, `full-${randomUUID()}`);
    execFileSync('mkdir', ['-p', full]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    try {
      const { runner } = runnerFor(sshConfig(server, dir, { spool_dir: full }));
      const r = await runner.run({ type: 'claude_code', prompt: 'x'.repeat(200_000), workspace: dir, maxTurns: 1 });
      expect(r.result).toMatchObject({ outcome: 'failed', exitCode: null });
      expect(r.result.error).toMatch(
        /could not start the task on executor "crib" \(127\.0\.0\.1\): cannot save the prompt: .*No space left on device/,
      );
    } finally {
      execFileSync('umount', [full]);
    }
  });

  it('connects through a jump host (ProxyJump), logging in to both', async () => {
    const before = acceptedLogins();
    const { runner } = runnerFor(sshConfig(server, dir, { jump_host: `${server.user}@127.0.0.1:${server.port}` }));
    const r = await runner.run(sh('echo via the bastion'));
    expect(r.result.exitCode).toBe(0);
    expect(r.stdout).toBe('via the bastion\n');
    expect(acceptedLogins() - before).toBe(2);

    const nowhere = runnerFor(sshConfig(server, dir, { jump_host: '127.0.0.1:1' }));
    await expect(nowhere.runner.run(sh('true'))).rejects.toThrow(
      /cannot reach ssh host 127\.0\.0\.1:1 of executor "crib"/,
    );
  });

  it('keeps a character whole at the 1 MiB read limit of a task that has ended', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    const r = await runner.run(sh(`awk 'BEGIN { printf "a"; for (i = 0; i < 600000; i++) printf "\\303\\251" }'`));
    expect(r.result.exitCode).toBe(0);
    expect(r.stdout).not.toContain('\uFFFD');
    expect(r.stdout).toBe(`a${'é'.repeat(600_000)}`);
  });

  it('works through a login that prints a banner first (a ForceCommand wrapper)', async () => {
    const noisy = await startSshd({
      config: ['ForceCommand echo welcome to the build box; eval "$SSH_ORIGINAL_COMMAND"'],
    });
    try {
      const config = { ...sshConfig(noisy, dir), known_hosts: noisy.knownHostsFile };
      const { runner, executor } = runnerFor(config);
      const r = await runner.run(sh('echo hi; echo there >&2; exit 2'));
      expect(r.result).toEqual({ outcome: 'failed', exitCode: 2, signal: null, endedAt: expect.any(Number) });
      expect(r.stdout).toBe('hi\n');
      expect(r.stderr).toBe('there\n');
      executor.close();
    } finally {
      await noisy.stop();
    }
  });

  it('refuses a command too long for the remote command line, and the connection stays usable', async () => {
    const { runner } = runnerFor(sshConfig(server, dir));
    await expect(runner.run(sh(`echo ${'x'.repeat(100_000)}`))).rejects.toThrow(/too long to send over SSH/);
    expect((await runner.run(sh('echo still here'))).stdout).toBe('still here\n');
  });

  it('survives a server that resets the connection before its banner', async () => {
    const { createServer } = await import('node:net');
    const rude = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    try {
      const port = (rude.address() as { port: number }).port;
      const { runner } = runnerFor({ ...sshConfig(server, dir), port });
      await expect(runner.run(sh('true'))).rejects.toThrow(/ssh host 127\.0\.0\.1:\d+ of executor "crib"/);
      // An error ssh2 emits a second time must not reach the process as an uncaught one.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      rude.close();
    }
  });

  it('reports a refused key and an unreachable host in one line each', async () => {
    const other = path.join(dir, `stranger-${randomUUID()}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const refused = runnerFor(sshConfig(server, dir, { key_path: other }));
    await expect(refused.runner.run(sh('true'))).rejects.toThrow(
      new RegExp(
        `ssh ${server.user}@127\\.0\\.0\\.1:${server.port} refused authentication \\(tried publickey \\(${escape(other)}\\)\\)`,
      ),
    );

    const closed = runnerFor({ ...sshConfig(server, dir), port: 1 });
    await expect(closed.runner.run(sh('true'))).rejects.toThrow(
      /cannot reach ssh host 127\.0\.0\.1:1 of executor "crib" \(ECONNREFUSED/,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
