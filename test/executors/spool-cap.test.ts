import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, SshExecutor, TaskKeys, type Config, type ShellCommandPayload } from '../../src/index.js';
import { parseSegmentName, spoolBound } from '../../src/executors/shell/output-spool.js';
import { createHarness, deleteKeys, stopProcess, type Harness } from '../helpers/harness.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';
import { executionRunner, waitFor } from './executor-conformance.js';

const MiB = 1024 * 1024;
const CAP = MiB;
// The spool holds at most the cap and the segment being written (an eighth of the cap here).
const SPOOL_BOUND = spoolBound(CAP);
// 20 MiB of 100-byte lines, numbered in their first ten characters.
const LINES = Math.floor((20 * MiB) / 100);
const FLOOD_BYTES = LINES * 100;
const FIRST = 'first\n';

function floodLine(n: number): string {
  return `${String(n).padStart(10, '0')}${'0'.repeat(89)}\n`;
}

// The task: a first line, then (once the gate exists) the flood, as fast as awk writes it.
function floodCommand(gate: string): string {
  return `printf '${FIRST.trimEnd()}\\n'; while [ ! -e '${gate}' ]; do sleep 0.05; done; seq -f '%010.0f' 1 ${LINES} | awk '{printf "%s%089d\\n", $1, 0}'`;
}

// The bytes of a stream's spool segments on disk now.
function spoolBytes(dir: string, stream: 'stdout' | 'stderr' = 'stdout'): number {
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!parseSegmentName(stream, name)) continue;
    try {
      total += statSync(path.join(dir, name)).size;
    } catch {
      // removed by the spooler meanwhile
    }
  }
  return total;
}

// Samples the spool until the task's exit file is there; returns the most it held.
async function sampleSpoolUntilExit(dir: string): Promise<number> {
  let peak = 0;
  const deadline = Date.now() + 60_000;
  while (!existsSync(path.join(dir, 'exit')) && Date.now() < deadline) {
    peak = Math.max(peak, spoolBytes(dir));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Math.max(peak, spoolBytes(dir));
}

// The stdout a reader got: the first line, then the newest of the flood, whole and in order.
function expectNewestInOrder(stdout: string): void {
  expect(stdout.startsWith(FIRST)).toBe(true);
  const kept = stdout.slice(FIRST.length);
  expect(kept.length).toBeGreaterThanOrEqual(CAP / 4);
  expect(kept.length).toBeLessThanOrEqual(SPOOL_BOUND);
  // Whole lines (the cut falls between characters, and these are all one byte)…
  const lines = kept
    .slice(kept.indexOf('\n') + 1)
    .split('\n')
    .filter(Boolean);
  // …numbered one after the other up to the very last.
  const numbers = lines.map((line) => Number(line.slice(0, 10)));
  expect(numbers.at(-1)).toBe(LINES);
  expect(numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)).toBe(true);
  expect(lines.every((line, i) => `${line}\n` === floodLine(numbers[i]!))).toBe(true);
}

const NOTE =
  /\d+(\.\d+)? [KMG]iB of earlier output was dropped here: the spool on \S+ keeps only a task's newest output \(logs\.max_spool_bytes\)/;

describe('capped spool, local spoolers: a task printing 20 MiB past a 1 MiB cap while no worker ships', () => {
  const h: Harness = createHarness({ extraConfig: `logs:\n  max_spool_bytes: ${CAP}\n  local_spoolers: true\n` });
  let worker: ChildProcess;

  beforeAll(async () => {
    worker = await h.startWorker();
  });
  afterAll(() => h.cleanup());

  it('keeps running to exit 0, the spool never past the cap and a segment, and `logs` shows the newest output after a note', async () => {
    const gate = path.join(h.dir, `gate-${randomUUID()}`);
    const started = await h.cli(['run', '--executor', 'local', '--', 'sh', '-c', floodCommand(gate)]);
    expect(started.exitCode).toBe(0);
    const id = started.stdout.trim();
    await waitFor(async () => (await h.logText(id)).stdout === FIRST);
    // The worker goes (its task runs on, detached); the flood comes while nobody ships it.
    await stopProcess(worker);
    // The local spool: $OPENCLAW_AGENT_HOME/tasks/<id>.
    const spool = path.join(h.home, 'tasks', id);
    expect(existsSync(spool)).toBe(true);
    writeFileSync(gate, '');
    const peak = await sampleSpoolUntilExit(spool);
    expect(peak).toBeGreaterThan(CAP / 2);
    expect(peak).toBeLessThanOrEqual(SPOOL_BOUND);
    console.info(`spool cap (local): peak ${peak} bytes on disk for a ${CAP}-byte cap, ${FLOOD_BYTES} bytes printed`);

    // A new worker re-attaches and ships from its checkpoint: what the spool dropped is a note.
    worker = await h.startWorker();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const logs = await h.cli(['logs', id, '-l', '1000000']);
    expect(logs.stderr).toMatch(new RegExp(`^\\[openclaw-agent\\] ${NOTE.source}\\n$`));
    expectNewestInOrder(logs.stdout);
    // Every byte is accounted for: the checkpoint is past all of them.
    const redis = h.redis();
    expect(Number(await redis.hget(new TaskKeys(h.prefix).record(id), 'c:stdout'))).toBe(FIRST.length + FLOOD_BYTES);
  });
});

// A 2 MiB tmpfs at `<harness dir>/tiny-spool` (mounted here: the tests run as root), for an
// executor `tiny` whose spool is there: its task fills the disk.
const TINY_EXECUTOR = (dir: string) =>
  `  - name: tiny\n    type: local\n    spool_dir: ${path.join(dir, 'tiny-spool')}\n`;
const FILL_THE_DISK = `echo before; head -c ${4 * MiB} /dev/zero | tr '\\0' x; echo; echo after-the-flood`;

// A harness with `tiny` on a fresh 2 MiB tmpfs for the describe block it is called in.
function tinySpoolHarness(extraConfig = ''): Harness {
  const h = createHarness({ extraConfig, extraExecutors: TINY_EXECUTOR });
  const tiny = path.join(h.dir, 'tiny-spool');
  let mounted = false;
  beforeAll(() => {
    mkdirSync(tiny);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny]);
    mounted = true;
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', ['-l', tiny]);
    await h.cleanup();
  });
  return h;
}

// Room again: the same worker runs the next task on `tiny`.
async function expectStillServing(h: Harness, worker: ChildProcess, full: string): Promise<void> {
  rmSync(path.join(h.dir, 'tiny-spool', full), { recursive: true, force: true });
  const next = (await h.cli(['run', '--executor', 'tiny', '--', 'sh', '-c', 'echo still-serving'])).stdout.trim();
  expect(await h.cli(['wait', next])).toMatchObject({ exitCode: 0 });
  expect((await h.logText(next)).stdout).toBe('still-serving\n');
  expect(worker.exitCode).toBeNull();
}

describe('capped spool, local spoolers: a full disk', () => {
  // Under a 1 GiB cap, through spoolers: the spooler's writes fail with ENOSPC.
  const h = tinySpoolHarness('logs:\n  max_spool_bytes: 1g\n  local_spoolers: true\n');

  it('on a full disk (a 2 MiB tmpfs) the task still exits 0, its log and record say in one line what was lost, and the worker serves the next task', async () => {
    const tinyWorker = await h.startWorker('tiny');
    const id = (await h.cli(['run', '--executor', 'tiny', '--', 'sh', '-c', FILL_THE_DISK])).stdout.trim();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const line = /^output spool on \S+ failed: no space left on device \(ENOSPC\) — stdout after this point was lost$/;
    const logs = await h.cli(['logs', id, '-l', '1000000']);
    expect(logs.stdout.startsWith('before\nxxxx')).toBe(true);
    const notes = logs.stderr.split('\n').filter(Boolean);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.replace('[openclaw-agent] ', '')).toMatch(line);
    const record = new TaskKeys(h.prefix).record(id);
    expect(await h.redis().hget(record, 'outcome')).toBe('completed');
    expect(await h.redis().hget(record, 'error')).toMatch(line);
    expect(tinyWorker.exitCode).toBeNull();
    await expectStillServing(h, tinyWorker, id);
  });
});

// The disk a stream's spool file takes now: its allocated blocks (a freed range is a hole).
function allocatedBytes(dir: string, stream: 'stdout' | 'stderr' = 'stdout'): number {
  try {
    return statSync(path.join(dir, stream)).blocks * 512;
  } catch {
    return 0;
  }
}

describe('capped spool, local without spoolers (the default): the worker following a task keeps the cap', () => {
  const h: Harness = createHarness({ extraConfig: `logs:\n  max_spool_bytes: ${CAP}\n` });
  let worker: ChildProcess;

  beforeAll(async () => {
    worker = await h.startWorker();
  });
  afterAll(() => h.cleanup());

  it('a flood while no worker follows is freed down to the cap by the worker that re-attaches: the newest output after a note', async () => {
    const gate = path.join(h.dir, `gate-${randomUUID()}`);
    const id = (await h.cli(['run', '--executor', 'local', '--', 'sh', '-c', floodCommand(gate)])).stdout.trim();
    await waitFor(async () => (await h.logText(id)).stdout === FIRST);
    await stopProcess(worker);
    const spool = path.join(h.home, 'tasks', id);
    writeFileSync(gate, '');
    await waitFor(async () => existsSync(path.join(spool, 'exit')));
    // Nobody kept the cap meanwhile: the whole flood is on disk.
    expect(allocatedBytes(spool)).toBeGreaterThanOrEqual(FLOOD_BYTES);

    worker = await h.startWorker();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const kept = allocatedBytes(spool);
    expect(kept).toBeLessThanOrEqual(CAP + 4096);
    expect(kept).toBeGreaterThan(CAP / 2);
    // The file keeps its size, so that offsets keep their meaning; the freed part is a hole.
    expect(statSync(path.join(spool, 'stdout')).size).toBe(FIRST.length + FLOOD_BYTES);
    const logs = await h.cli(['logs', id, '-l', '1000000']);
    expect(logs.stderr).toMatch(new RegExp(`^\\[openclaw-agent\\] ${NOTE.source}\\n$`));
    expectNewestInOrder(logs.stdout);
    const redis = h.redis();
    expect(Number(await redis.hget(new TaskKeys(h.prefix).record(id), 'c:stdout'))).toBe(FIRST.length + FLOOD_BYTES);
  });

  it('follows a flood live: the spool on disk stays near the cap, and the log is whole lines in order up to the last', async () => {
    const lines = 4 * LINES;
    const id = (
      await h.cli([
        'run',
        '--executor',
        'local',
        '--',
        'sh',
        '-c',
        `seq -f '%010.0f' 1 ${lines} | awk '{printf "%s%089d\\n", $1, 0}'`,
      ])
    ).stdout.trim();
    const spool = path.join(h.home, 'tasks', id);
    let peak = 0;
    // Output freed while the task still wrote: the file longer than what it holds by over the cap.
    let freedWhileRunning = false;
    while (!existsSync(path.join(spool, 'exit'))) {
      const allocated = allocatedBytes(spool);
      peak = Math.max(peak, allocated);
      const size = existsSync(path.join(spool, 'stdout')) ? statSync(path.join(spool, 'stdout')).size : 0;
      if (size - allocated > CAP && !existsSync(path.join(spool, 'exit'))) freedWhileRunning = true;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    console.info(
      `spool cap (local, worker-held): peak ${peak} bytes on disk for a ${CAP}-byte cap, ${lines * 100} bytes printed`,
    );
    expect(freedWhileRunning).toBe(true);
    // Within the cap and a segment once the end is recorded. While it ran, how far past the cap
    // it went depends on how often a loaded machine let the worker look (logged above).
    expect(allocatedBytes(spool)).toBeLessThanOrEqual(SPOOL_BOUND);
    const logs = await h.cli(['logs', id, '-l', '10000000']);
    const numbers = logs.stdout
      .split('\n')
      .filter((line) => line.length === 99)
      .map((line) => Number(line.slice(0, 10)));
    expect(numbers.at(-1)).toBe(lines);
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true);
    // Notes of the spool's cap, and of the log's own (80 MiB is past its 32 MiB).
    const logCap = /of earlier output was dropped here: a task's log keeps only its newest output \(logs\.max_bytes\)$/;
    for (const note of logs.stderr.split('\n').filter(Boolean)) expect(NOTE.test(note) || logCap.test(note)).toBe(true);
  });
});

describe('capped spool, local without spoolers (the default): a full disk', () => {
  // The default cap, far above the 2 MiB disk: nothing is freed, the task's own writes fail.
  const h = tinySpoolHarness();

  it('on a full disk the task runs to its own end, its log and record say in one line that the disk was full, and the worker serves the next task', async () => {
    const tinyWorker = await h.startWorker('tiny');
    const id = (await h.cli(['run', '--executor', 'tiny', '--', 'sh', '-c', FILL_THE_DISK])).stdout.trim();
    // Its own exit code: the last echo could not write either.
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 1 });
    const line =
      /^output spool on \S+ failed: no room for the task's exit code when it ended \(a full disk or a quota\) — output it wrote while there was none was lost$/;
    const logs = await h.cli(['logs', id, '-l', '1000000']);
    expect(logs.stdout.startsWith('before\nxxxx')).toBe(true);
    const notes = logs.stderr.split('\n').filter(Boolean);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.replace('[openclaw-agent] ', '')).toMatch(line);
    const record = await h.redis().hgetall(new TaskKeys(h.prefix).record(id));
    expect(record.outcome).toBe('failed');
    expect(record.exit_code).toBe('1');
    expect(record.error).toMatch(line);
    await expectStillServing(h, tinyWorker, id);
  });
});

describe('capped spool, local without spoolers (the default): a filesystem that cannot punch holes', () => {
  // `tiny` on ramfs, which has no fallocate at all: the cap cannot be kept there.
  const h = createHarness({ extraConfig: `logs:\n  max_spool_bytes: ${CAP}\n`, extraExecutors: TINY_EXECUTOR });
  const ramfs = path.join(h.dir, 'tiny-spool');
  let mounted = false;
  beforeAll(() => {
    mkdirSync(ramfs);
    execFileSync('mount', ['-t', 'ramfs', 'ramfs', ramfs]);
    mounted = true;
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', ['-l', ramfs]);
    await h.cleanup();
  });

  it('floods past the cap reach the log whole, with no note, and the worker says once that it cannot keep the cap', async () => {
    const worker = await h.startWorker('tiny');
    let workerLog = '';
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    const lines = Math.floor((3 * CAP) / 100);
    for (const round of [1, 2]) {
      const flood = `seq -f '%010.0f' 1 ${lines} | awk '{printf "%s%089d\\n", $1, 0}'`;
      const id = (await h.cli(['run', '--executor', 'tiny', '--', 'sh', '-c', flood])).stdout.trim();
      expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
      const logs = await h.cli(['logs', id, '-l', '1000000']);
      expect(logs.stderr, `round ${round}`).toBe('');
      const numbers = logs.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => Number(line.slice(0, 10)));
      expect(numbers).toHaveLength(lines);
      expect(numbers.every((n, i) => n === i + 1)).toBe(true);
      expect(statSync(path.join(ramfs, id, 'stdout')).size).toBe(lines * 100);
      // No scrap file of the proof, and no marker: nothing says output was freed.
      expect(
        readdirSync(path.join(ramfs, id)).filter((n) => n.startsWith('punch-probe') || n.includes('.kept.')),
      ).toEqual([]);
    }
    // Said for the first task; the second one did not try.
    const said = workerLog.split('\n').filter((line) => line.includes('spool cap not kept'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/spool cap not kept for \S+: fallocate: .*unsupported/);
    expect(worker.exitCode).toBeNull();
  });
});

describe('capped spool, ssh: the same flood on a remote while no worker follows it', () => {
  let server: SshdServer;
  let dir: string;
  let redis: Redis;
  const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
  const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
  const executors: SshExecutor[] = [];

  beforeAll(async () => {
    server = await startSshd();
    dir = mkdtempSync(path.join(tmpdir(), 'oca-spool-cap-'));
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    for (const executor of executors) executor.close();
    await server?.stop();
    await deleteKeys(redis, `${keys.prefix}:*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  // A runner of an SSH executor with the cap, on the test's sshd.
  const cappedRunner = () => {
    const config = parseConfigText(
      `executors:\n${sshExecutorYaml(server, 'crib', { spool_dir: path.join(dir, 'remote-spool') })}`,
      'test',
    ).executors[0]!;
    const executor = new SshExecutor(config, () => {}, { maxSpoolBytes: CAP });
    executors.push(executor);
    return executionRunner(redis, keys, executor, config, defaults);
  };

  it('keeps running to exit 0, the remote spool never past the cap and a segment, and the re-attached log has the newest output after a note', async () => {
    const runner = cappedRunner();
    const gate = path.join(dir, `gate-${randomUUID()}`);
    const payload: ShellCommandPayload = {
      type: 'shell_command',
      command: floodCommand(gate),
      args: [],
      env: {},
      workingDir: dir,
    };
    const taskId = randomUUID();
    const first = new AbortController();
    const running = runner.execute(payload, { taskId, signal: first.signal });
    await waitFor(async () => (await runner.collect(taskId)).stdout === FIRST);
    first.abort();
    await expect(running).rejects.toThrow();

    writeFileSync(gate, '');
    const peak = await sampleSpoolUntilExit(path.join(dir, 'remote-spool', taskId));
    expect(peak).toBeGreaterThan(CAP / 2);
    expect(peak).toBeLessThanOrEqual(SPOOL_BOUND);
    console.info(`spool cap (ssh): peak ${peak} bytes on disk for a ${CAP}-byte cap, ${FLOOD_BYTES} bytes printed`);

    const result = await runner.execute(payload, { taskId });
    expect(result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
    const { stdout, system } = await runner.collect(taskId);
    expect(system).toMatch(new RegExp(`^${NOTE.source}\\n$`));
    expectNewestInOrder(stdout);
    expect(Number(await redis.hget(keys.record(taskId), 'c:stdout'))).toBe(FIRST.length + FLOOD_BYTES);
  });

  it('ships a flood it follows live in order, with a note wherever the spool dropped output first', async () => {
    const runner = cappedRunner();
    const gate = path.join(dir, `gate-${randomUUID()}`);
    writeFileSync(gate, '');
    const r = await runner.run({
      type: 'shell_command',
      command: floodCommand(gate),
      args: [],
      env: {},
      workingDir: dir,
    });
    expect(r.result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
    // Between notes the output is a run of whole, consecutive lines; it ends with the last one.
    const lines = r.stdout
      .slice(FIRST.length)
      .split('\n')
      .filter((line) => line.length === 99);
    const numbers = lines.map((line) => Number(line.slice(0, 10)));
    expect(numbers.at(-1)).toBe(LINES);
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true);
    if (r.system !== '')
      expect(
        r.system
          .split('\n')
          .filter(Boolean)
          .every((note) => NOTE.test(note)),
      ).toBe(true);
  });

  it("keeps spooling where the task's language makes dd speak German", async () => {
    // dd's summary is translated (`Datensätze ein`); the spooler reads it in the C locale.
    const runner = cappedRunner();
    const gate = path.join(dir, `gate-${randomUUID()}`);
    writeFileSync(gate, '');
    const r = await runner.run({
      type: 'shell_command',
      command: floodCommand(gate),
      args: [],
      env: { LANG: 'C.UTF-8', LANGUAGE: 'de' },
      workingDir: dir,
    });
    expect(r.result).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
    expect(Number(r.stdout.trimEnd().split('\n').at(-1)!.slice(0, 10))).toBe(LINES);
  });
});
