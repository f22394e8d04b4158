import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, SshExecutor, TaskKeys, type Config, type ExecutorConfig } from '../../src/index.js';
import { SshConnection } from '../../src/executors/ssh/ssh-connection.js';
import {
  parseRead,
  parseStart,
  parseStatus,
  readScript,
  startScript,
  statusScript,
  type PolledTask,
  type ReadRange,
} from '../../src/executors/ssh/remote-scripts.js';
import { shellQuote } from '../../src/executors/shell/quote.js';
import { deleteKeys } from '../helpers/harness.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { executionRunner, waitFor } from './executor-conformance.js';

function sshConfig(server: SshdServer, dir: string): ExecutorConfig {
  const yaml = sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote-spool') });
  return parseConfigText(`executors:\n${yaml}`, 'test').executors[0]!;
}

// Every process's command line on this host (sshd is local), its NULs as spaces.
function commandLines(): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      lines.push(readFileSync(`/proc/${entry}/cmdline`).toString('utf8').replaceAll('\0', ' '));
    } catch {
      // Gone meanwhile.
    }
  }
  return lines;
}

// A command line as text, and each base64 run in it decoded (the scripts travel as base64).
function readable(line: string): string[] {
  const runs = line.match(/[A-Za-z0-9+/]{24,}={0,2}/g) ?? [];
  return [line, ...runs.map((run) => Buffer.from(run, 'base64').toString('utf8'))];
}

describe('ssh start script', () => {
  let server: SshdServer;
  let dir: string;
  let redis: Redis;
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
  const closers: Array<{ close(): void }> = [];

  beforeAll(async () => {
    server = await startSshd();
    dir = mkdtempSync(path.join(tmpdir(), 'oca-ssh-start-'));
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });

  afterAll(async () => {
    for (const closer of closers) closer.close();
    await server?.stop();
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (config: ExecutorConfig): SshConnection => {
    const connection = new SshConnection(config);
    closers.push(connection);
    return connection;
  };

  it('keeps env values off every command line on the remote, and the task still gets them', async () => {
    // A setsid first on the remote's PATH holds the start until the test has looked at every
    // process; the login records each command sshd was given.
    const bin = path.join(dir, `bin-${randomUUID()}`);
    const go = path.join(dir, `go-${randomUUID()}`);
    const commands = path.join(dir, `commands-${randomUUID()}`);
    mkdirSync(bin);
    const realSetsid = execFileSync('sh', ['-c', 'command -v setsid']).toString().trim();
    writeFileSync(
      path.join(bin, 'setsid'),
      `#!/bin/sh\nwhile [ ! -e ${go} ]; do sleep 0.05; done\nexec ${realSetsid} "$@"\n`,
    );
    chmodSync(path.join(bin, 'setsid'), 0o755);
    const recording = await startSshd({
      config: [
        `ForceCommand PATH=${bin}:$PATH; export PATH; printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >>${commands}; eval "$SSH_ORIGINAL_COMMAND"`,
      ],
    });
    let running: Promise<unknown> | undefined;
    try {
      const config = { ...sshConfig(recording, dir), known_hosts: recording.knownHostsFile };
      const executor = new SshExecutor(config);
      closers.push(executor);
      const runner = executionRunner(redis, keys, executor, config, defaults);
      const secret = `s3cret-${randomUUID()}`;
      const taskId = randomUUID();
      running = runner.execute(
        {
          type: 'shell_command',
          command: 'printf %s "$OCA_SECRET"',
          args: [],
          env: { OCA_SECRET: secret },
          workingDir: dir,
        },
        { taskId },
      );
      await waitFor(async () => commandLines().some((line) => line.includes(`${bin}/setsid`)));
      const seen = commandLines().flatMap(readable);
      expect(seen.some((text) => text.includes('openclaw-task'))).toBe(true);
      expect(seen.filter((text) => text.includes(secret))).toEqual([]);
      writeFileSync(go, '');

      const result = await running;
      expect(result).toMatchObject({ outcome: 'completed', exitCode: 0 });
      expect((await runner.collect(taskId)).stdout).toBe(secret);
      const sent = readFileSync(commands, 'utf8').split('\n').flatMap(readable);
      expect(sent.some((text) => text.includes('openclaw-task'))).toBe(true);
      expect(sent.filter((text) => text.includes(secret))).toEqual([]);
    } finally {
      writeFileSync(go, '');
      running?.catch(() => {});
      await recording.stop();
    }
  });

  it('starts nothing from a prompt or environment cut short, and a full retry then starts', async () => {
    const connection = connect(sshConfig(server, dir));
    const taskDir = path.join(dir, 'remote-spool', randomUUID());
    const saved = path.join(dir, `saved-${randomUUID()}`);
    const prompt = `the whole prompt ${'é'.repeat(1000)} and its end`;
    const start = startScript({
      dir: taskDir,
      argv: ['sh', '-c', `cat >${shellQuote(saved)}`],
      env: { OCA_TOKEN: 'abc' },
      unsetEnv: [],
      prompt,
      spoolCap: 1 << 20,
    });
    const startWith = async (stdin: Buffer) =>
      parseStart((await connection.run(start.script, stdin)).stdout.toString('utf8'));

    // The link dropped mid-upload: the header promises more than arrives.
    expect(await startWith(start.stdin.subarray(0, start.stdin.length - 7))).toEqual({
      kind: 'error',
      message: `the prompt arrived cut short (${Buffer.byteLength(prompt) - 7} of ${Buffer.byteLength(prompt)} bytes); nothing was started`,
    });
    expect(existsSync(taskDir)).toBe(false);
    expect(await startWith(start.stdin.subarray(0, start.stdin.indexOf('\n') + 5))).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^the environment arrived cut short \(4 of \d+ bytes\)/),
    });
    expect(await startWith(Buffer.from('12'))).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/without its header/),
    });
    expect(existsSync(taskDir)).toBe(false);
    expect(existsSync(saved)).toBe(false);

    expect(await startWith(start.stdin)).toMatchObject({ kind: 'started', pid: expect.any(Number) });
    await waitFor(async () => existsSync(path.join(taskDir, 'exit')));
    expect(readFileSync(saved, 'utf8')).toBe(prompt);
  });

  it('runs in a relative workdir named like a cd option (-L, -)', async () => {
    const executor = new SshExecutor(sshConfig(server, dir));
    closers.push(executor);
    const runner = executionRunner(redis, keys, executor, sshConfig(server, dir), defaults);
    const home = (await executor.runScript('printf %s "$HOME"', [])).stdout;
    for (const name of ['-L', '-']) {
      const workdir = path.join(home, name);
      const made = !existsSync(workdir);
      if (made) mkdirSync(workdir);
      try {
        const r = await runner.run({ type: 'shell_command', command: 'pwd -P', args: [], env: {}, workingDir: name });
        expect(r.result).toMatchObject({ outcome: 'completed', exitCode: 0 });
        expect(r.stdout).toBe(`${workdir}\n`);
      } finally {
        if (made) rmSync(workdir, { recursive: true, force: true });
      }
    }
  });

  it('turns a command queued on a connection that dropped into a retryable error', async () => {
    const connection = connect(sshConfig(server, dir));
    await connection.run('true');
    // Eight channels busy, a ninth command waiting for one when the link drops.
    const busy = Array.from({ length: 8 }, () => connection.run('sleep 5').catch((error: unknown) => error));
    const queued = connection.run('echo late').catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await server.dropConnections()).toBeGreaterThan(0);
    await Promise.all(busy);
    expect(await queued).toMatchObject({
      name: 'SshError',
      transient: true,
      message: expect.stringMatching(/Not connected/),
    });
  });
});

describe('ssh read script', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'oca-ssh-read-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every range whole around one whose segment vanished and one that shrank, by a real sh', () => {
    const file = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    // Planned from a status taken before the spooler removed b's segment and rewrote c's shorter.
    const ranges: ReadRange[] = [
      { key: 'a', stream: 'stdout', files: [file('a0', 'xxhello '), file('a1', 'world')], offset: 2, length: 11 },
      { key: 'b', stream: 'stdout', files: [path.join(dir, 'gone')], offset: 0, length: 4 },
      { key: 'c', stream: 'stderr', files: [file('c0', 'sho')], offset: 0, length: 9 },
      // Output that imitates the framing: a header, a trailer of a read long past and END.
      {
        key: 'd',
        stream: 'stderr',
        files: [file('d0', `D a stdout 3\nE ${randomUUID()} 2\nEND\n`)],
        offset: 0,
        length: 58,
      },
    ];
    const nonce = randomUUID();
    const output = execFileSync('sh', ['-c', `echo a login banner; ${readScript(ranges, nonce)}`]);
    const read = parseRead(output, ranges, nonce);
    expect(read).toBeDefined();
    expect([...read!.keys()].sort()).toEqual(['a', 'd']);
    expect(read!.get('a')!.stdout!.toString()).toBe('hello world');
    expect(read!.get('d')!.stderr!.toString()).toBe(readFileSync(path.join(dir, 'd0'), 'utf8'));
    // A reply cut short (the link dropped) frames not at all: nothing from it is shipped.
    expect(parseRead(output.subarray(0, output.length - 4), ranges, nonce)).toBeUndefined();
  });
});

describe('ssh status script', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'oca-ssh-status-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A task directory whose exit file was written an hour ago.
  function endedAnHourAgo(name: string): PolledTask {
    const task = path.join(dir, name);
    mkdirSync(task);
    writeFileSync(path.join(task, 'exit'), '5\n');
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(path.join(task, 'exit'), hourAgo, hourAgo);
    return { key: name, dir: task, exitAge: true };
  }

  it("reports how long ago a task's exit file was written, by the remote's own clock, only where asked, by a real sh", () => {
    const tasks = [endedAnHourAgo('asked'), { ...endedAnHourAgo('unasked'), exitAge: false }];
    const statuses = parseStatus(execFileSync('sh', ['-c', statusScript(tasks)]).toString('utf8'), tasks)!;
    expect(statuses.get('asked')).toMatchObject({ exitCode: 5, exitAgeMs: expect.any(Number) });
    expect(Math.abs(statuses.get('asked')!.exitAgeMs! - 3_600_000)).toBeLessThan(60_000);
    expect(statuses.get('unasked')).toMatchObject({ exitCode: 5 });
    expect(statuses.get('unasked')!.exitAgeMs).toBeUndefined();
  });

  it.skipIf(!existsSync('/bin/busybox'))(
    "takes whole seconds from busybox's stat and date, which give no more (its date prints %N as is)",
    () => {
      const bin = path.join(dir, 'busybox-bin');
      mkdirSync(bin);
      for (const tool of ['stat', 'date']) symlinkSync('/bin/busybox', path.join(bin, tool));
      const tasks = [endedAnHourAgo('busybox')];
      const reply = execFileSync('/bin/busybox', ['sh', '-c', statusScript(tasks)], { env: { PATH: bin } });
      const age = parseStatus(reply.toString('utf8'), tasks)!.get('busybox')!.exitAgeMs!;
      expect(Math.abs(age - 3_600_000)).toBeLessThan(60_000);
      expect(age % 1000).toBe(0);
    },
  );

  it('takes both clocks whole where one has no fraction, and no age where either is unreadable', () => {
    const tasks = ['exact', 'whole', 'no-mtime', 'garbled'].map((key) => ({ key, dir: `/r/${key}` }));
    const reply = [
      ...['T exact', 'X 0', 'Y 1000.25 990.5'],
      ...['T whole', 'X 0', 'Y 1000.%N 990.75'],
      ...['T no-mtime', 'X 0', 'Y 1000.5 '],
      ...['T garbled', 'X 0', 'Y ? 990'],
      ...['W', 'END', ''],
    ].join('\n');
    const statuses = parseStatus(reply, tasks)!;
    expect(tasks.map(({ key }) => statuses.get(key)!.exitAgeMs)).toEqual([9750, 10_000, undefined, undefined]);
  });
});
