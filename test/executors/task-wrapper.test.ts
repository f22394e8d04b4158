import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserFacingError } from '../../src/errors.js';
import { terminateGroup } from '../../src/executors/local/local-executor.js';
import { isProcessAlive } from '../../src/executors/process-identity.js';
import { checkShellEnvironment } from '../../src/executors/shell/env-names.js';
import { spoolWords } from '../../src/executors/shell/output-spool.js';
import {
  parsePidFile,
  pidFileExitCode,
  INLINE_SPEC_BYTES,
  WAITING_WRAPPER,
  WRAPPER,
  wrapperArgs,
  wrapperSpec,
  type WrapperSpecInput,
} from '../../src/executors/shell/task-wrapper.js';
import { isLive, readProcessTable } from '../helpers/processes.js';
import { waitFor } from './executor-conformance.js';

const root = mkdtempSync(path.join(tmpdir(), 'oca-wrapper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let made = 0;

// A waiting wrapper as the launcher starts one (its stdin a socket, like libuv's), given `input`.
async function runWaiting(
  input: string,
  env: NodeJS.ProcessEnv = { PATH: process.env.PATH },
  expectedStderr?: RegExp,
): Promise<number | null> {
  const child = spawn('/bin/sh', ['-c', WAITING_WRAPPER, 'openclaw-task'], {
    cwd: '/',
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(input);
  const code = await exited;
  if (expectedStderr) expect(stderr).toMatch(expectedStderr);
  else expect(stderr).toBe('');
  return code;
}

// A waiting wrapper in its own session, as the launcher starts one, with the shell it forked.
async function startWaiting(): Promise<{
  wrapper: ChildProcessWithoutNullStreams & { pid: number };
  forked: number;
  exited: Promise<number | null>;
}> {
  const wrapper = spawn('/bin/sh', ['-c', WAITING_WRAPPER, 'openclaw-task'], {
    cwd: '/',
    env: { PATH: process.env.PATH },
    detached: true,
  }) as ChildProcessWithoutNullStreams & { pid: number };
  const exited = new Promise<number | null>((resolve) => wrapper.once('exit', resolve));
  let forked: number | undefined;
  await waitFor(async () => {
    forked = [...readProcessTable().values()].find((p) => p.ppid === wrapper.pid && isLive(p))?.pid;
    return forked !== undefined;
  }, 5000);
  return { wrapper, forked: forked!, exited };
}

// Writes `text` to a waiting wrapper and waits until its forked shell has read all of it.
async function writeRead(wrapper: ChildProcessWithoutNullStreams, forked: number, text: string): Promise<void> {
  const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${forked}/io`, 'utf8'))?.[1]);
  const before = bytesRead();
  wrapper.stdin.write(text);
  await waitFor(async () => bytesRead() >= before + Buffer.byteLength(text), 5000);
}

function spoolDir(): string {
  const dir = path.join(root, `task-${++made}`);
  mkdirSync(dir);
  return dir;
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

// Writes a long task's spec file, as the launcher does, and returns the handoff for its wrapper.
function spec(dir: string, argv: string[], extra: Partial<WrapperSpecInput> = {}): string {
  const built = wrapperSpec({ dir, workdir: root, argv, env: {}, unsetEnv: [], ...extra });
  if (built.file) writeFileSync(built.file.path, built.file.script, { mode: 0o600 });
  return built.handoff;
}

// A variable that makes a task's line long enough for the spec file.
const LONG = { PADDING: 'p'.repeat(INLINE_SPEC_BYTES) };

describe('the waiting wrapper', () => {
  it('runs the one-line spec it reads: pid file first, output in the spool files, the exit code last', async () => {
    const dir = spoolDir();
    await runWaiting(spec(dir, ['sh', '-c', 'echo out; echo err >&2; pwd; exit 3']));
    expect(read(dir, 'stdout')).toBe(`out\n${root}\n`);
    expect(read(dir, 'stderr')).toBe('err\n');
    expect(read(dir, 'exit')).toBe('3\n');
    expect(parsePidFile(read(dir, 'pid'))?.pid).toBeGreaterThan(0);
  });

  it('puts the exit code on the pid file when the exit file cannot be written, and the pid stays readable', async () => {
    const dir = spoolDir();
    // A directory where the exit file goes: its write fails as on a full disk.
    mkdirSync(path.join(dir, 'exit'));
    await runWaiting(spec(dir, ['sh', '-c', 'echo out; exit 7']));
    expect(read(dir, 'stdout')).toBe('out\n');
    const pidFile = read(dir, 'pid');
    expect(pidFileExitCode(pidFile)).toBe(7);
    expect(parsePidFile(pidFile)?.pid).toBeGreaterThan(0);
    expect(pidFile.split('\n')).toHaveLength(4);
  });

  it('reads no exit code from a pid file without that line, or with one cut short', () => {
    expect(pidFileExitCode('123\n123 (sh) S 1\n')).toBeUndefined();
    expect(pidFileExitCode('123\n123 (sh) S 1\nexit 4')).toBeUndefined();
    expect(pidFileExitCode('123\n\nexit 0\n')).toBe(0);
  });

  it("sets and unsets the task's variables, with newlines, quotes and $ in values kept byte for byte", async () => {
    const dir = spoolDir();
    const tricky = 'line one\nit\'s "$(id)" `id` $HOME \\ \n\ttab';
    await runWaiting(
      spec(dir, ['sh', '-c', 'printf "%s|%s|%s" "$TRICKY" "${GONE-unset}" "$KEPT"'], {
        env: { TRICKY: tricky, KEPT: 'k' },
        unsetEnv: ['GONE'],
      }),
      {
        PATH: process.env.PATH,
        GONE: 'inherited',
        KEPT: 'inherited',
      },
    );
    expect(read(dir, 'stdout')).toBe(`${tricky}|unset|k`);
  });

  it("passes argv words with newlines exact to an exec'd command", async () => {
    const dir = spoolDir();
    const words = ['a\nb', "'", '\n', '$(id)', ''];
    await runWaiting(spec(dir, ['printf', '[%s]', ...words]));
    expect(read(dir, 'stdout')).toBe(words.map((w) => `[${w}]`).join(''));
    expect(read(dir, 'exit')).toBe('0\n');
  });

  it('runs nothing from a spec cut short (no newline), nor when its input ends empty', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'cut-short-ran');
    const [first] = spec(dir, ['touch', marker]).split('\n');
    // Cut at a word boundary, where the words so far would be a valid command of their own.
    const cut = first!.slice(0, first!.lastIndexOf(' '));
    expect(await runWaiting(cut)).toBe(0);
    expect(await runWaiting('')).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'pid'))).toBe(false);
  });

  it('runs nothing from a spec file cut short at a word boundary, where the words so far are a command', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'cut-file-ran');
    const handoff = spec(dir, ['touch', marker, path.join(root, 'second-word')], { env: LONG });
    const script = read(dir, 'spec');
    // `… '--' 'touch' 'MARKER'` without its last word would touch the marker, were it not braced.
    writeFileSync(path.join(dir, 'spec'), script.slice(0, script.lastIndexOf(" '")));
    await runWaiting(handoff, { PATH: process.env.PATH }, /syntax error.*expecting "}"/i);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'pid'))).toBe(false);
  });

  it('runs a spec of 200 KB (a long command and long variables) from its file, byte for byte', async () => {
    const dir = spoolDir();
    const long = 'x'.repeat(100_000);
    const command = `printf '%s' "$LONG" | wc -c; echo ${'y'.repeat(100_000)} | wc -c`;
    const handoff = spec(dir, ['sh', '-c', command], { env: { LONG: long } });
    // Through the pipe only the short line that sources the file: a shell reads a pipe bytewise.
    expect(handoff.split('\n')[0]).toBe(`. '${dir}/spec'`);
    await runWaiting(handoff);
    expect(
      read(dir, 'stdout')
        .split('\n')
        .map((n) => n.trim()),
    ).toEqual(['100000', '100001', '']);
    expect(read(dir, 'exit')).toBe('0\n');
  });

  it("ends a task whose variable the shell refuses with exit code 125 and the shell's message, running nothing", async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'refused-variable-ran');
    // dash takes OPTIND as a number only; `export` failing would otherwise end the wrapper itself.
    await runWaiting(spec(dir, ['touch', marker], { env: { OPTIND: 'not a number' } }));
    expect(read(dir, 'exit')).toBe('125\n');
    expect(read(dir, 'stderr')).toMatch(/OPTIND|not a number/);
    expect(existsSync(marker)).toBe(false);
  });

  it('becomes the task in the shell it forked ahead, and outlives a group-wide SIGTERM to record 143', async () => {
    const dir = spoolDir();
    const { wrapper, forked, exited } = await startWaiting();
    // `sh -c STRING` is evaluated by the forked shell itself: its `exec` turns that shell into sleep.
    wrapper.stdin.end(spec(dir, ['sh', '-c', 'echo started; exec sleep 30']));
    await waitFor(async () => existsSync(path.join(dir, 'stdout')) && read(dir, 'stdout') !== '', 5000);
    expect(read(dir, 'stdout')).toBe('started\n');
    expect(parsePidFile(read(dir, 'pid'))?.pid).toBe(wrapper.pid);
    await waitFor(async () => readProcessTable().get(forked)?.comm === 'sleep', 5000);
    expect(readProcessTable().get(forked)?.ppid).toBe(wrapper.pid);
    process.kill(-wrapper.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(read(dir, 'exit')).toBe('143\n');
  });

  it("runs a command that names $$ or $PPID in the task's own shell: $$ is the forked shell, $PPID the wrapper", async () => {
    const dir = spoolDir();
    const { wrapper, forked, exited } = await startWaiting();
    // A child's $PPID is the shell that started it (`; :` keeps that shell from exec'ing it).
    wrapper.stdin.end(spec(dir, ['sh', '-c', "echo $$ $PPID; sh -c 'echo $PPID'; :"]));
    expect(await exited).toBe(0);
    expect(read(dir, 'stdout')).toBe(`${forked} ${wrapper.pid}\n${forked}\n`);
    expect(parsePidFile(read(dir, 'pid'))?.pid).toBe(wrapper.pid);
    expect(read(dir, 'exit')).toBe('0\n');
  });

  it("runs a command that names $$ in the shell it forked ahead, exec'd, and a group-wide SIGTERM ends it with 143", async () => {
    const dir = spoolDir();
    const { wrapper, forked, exited } = await startWaiting();
    wrapper.stdin.end(spec(dir, ['sh', '-c', 'echo $$; sleep 30; echo after']));
    await waitFor(async () => existsSync(path.join(dir, 'stdout')) && read(dir, 'stdout') !== '', 5000);
    expect(read(dir, 'stdout')).toBe(`${forked}\n`);
    await waitFor(
      async () => [...readProcessTable().values()].some((p) => p.ppid === forked && p.comm === 'sleep'),
      5000,
    );
    process.kill(-wrapper.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(read(dir, 'exit')).toBe('143\n');
    expect(read(dir, 'stdout')).toBe(`${forked}\n`);
  });

  it.each([
    ['kill $$', 143],
    ['kill -9 ${$}', 137],
  ])('records a command that ends its own shell with `%s` as killed by that signal (%i)', async (kill, code) => {
    const dir = spoolDir();
    // Through the capped spool's FIFOs, as a task with logs.max_spool_bytes. The wrapper's own
    // stderr (the launcher's /dev/null) gets dash's note of how its child ended.
    const handoff = spec(dir, ['sh', '-c', `echo before; ${kill}; echo after`], { spoolCap: 1 << 20 });
    expect(await runWaiting(handoff, { PATH: process.env.PATH }, /^(Terminated|Killed)?\n?$/)).toBe(0);
    expect(read(dir, 'exit')).toBe(`${code}\n`);
    await waitFor(async () => existsSync(path.join(dir, 'stdout.done')), 5000);
    expect(read(dir, 'stdout')).toBe('before\n');
  });

  it('runs nothing when the wrapper was killed before the spec came (its forked shell reads it)', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'orphan-ran');
    const { wrapper, forked, exited } = await startWaiting();
    wrapper.kill('SIGKILL');
    await exited;
    // The forked shell still reads the pipe: the spec reaches it, and it finds its wrapper gone.
    wrapper.stdin.end(spec(dir, ['touch', marker]));
    await waitFor(async () => !isProcessAlive(forked), 5000);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'pid'))).toBe(false);
  });

  it('runs nothing when the shell it forked was killed before the spec came, and records nothing', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'unforked-ran');
    const { wrapper, forked, exited } = await startWaiting();
    process.kill(forked, 'SIGKILL');
    await waitFor(async () => !isProcessAlive(forked), 5000);
    wrapper.stdin.end(spec(dir, ['touch', marker]));
    expect(await exited).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'pid'))).toBe(false);
    expect(existsSync(path.join(dir, 'exit'))).toBe(false);
  });

  it('never runs the rest of a line whose reader was killed halfway through it', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'fragment-ran');
    const { wrapper, forked, exited } = await startWaiting();
    // Cut where the rest, `'touch' 'MARKER'; }`, runs a command of its own.
    const line = spec(dir, ['touch', marker]);
    const cut = line.indexOf("'--' ") + 5;
    await writeRead(wrapper, forked, line.slice(0, cut));
    process.kill(forked, 'SIGKILL');
    await waitFor(async () => !isProcessAlive(forked), 5000);
    wrapper.stdin.end(line.slice(cut));
    expect(await exited).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'exit'))).toBe(false);
  });

  it('reads its line whole through a group-wide SIGTERM, and the stop sent again once the task began ends it', async () => {
    const dir = spoolDir();
    const { wrapper, forked, exited } = await startWaiting();
    const line = spec(dir, ['sh', '-c', 'echo started; exec sleep 30']);
    const cut = line.indexOf("'-c' ");
    await writeRead(wrapper, forked, line.slice(0, cut));
    // The first SIGTERM lands mid-read and is ignored there; a grace longer than the test's
    // timeout means only the second SIGTERM, not the SIGKILL, can end the task in time.
    const stopped = terminateGroup({ pid: wrapper.pid, dir }, 60_000);
    wrapper.stdin.end(line.slice(cut));
    expect(await stopped).toBe(true);
    expect(await exited).toBe(0);
    expect(read(dir, 'stdout')).toBe('started\n');
    expect(read(dir, 'exit')).toBe('143\n');
  }, 20_000);

  it("ends a task whose workdir cannot be entered with cd's message and exit code, running nothing", async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'no-workdir-ran');
    await runWaiting(spec(dir, ['touch', marker], { workdir: path.join(root, 'missing') }));
    expect(read(dir, 'stderr')).toMatch(/can't cd to .*missing/);
    expect(read(dir, 'exit')).not.toBe('0\n');
    expect(existsSync(marker)).toBe(false);
  });
});

// The wrapper with its task in its arguments, as the SSH start script runs it (capped spool and all).
async function runPlain(shell: string, dir: string, command: string): Promise<{ pid: number; code: number | null }> {
  const args = [dir, '-S', ...spoolWords(1 << 20), '-C', root, ...wrapperArgs(['sh', '-c', command])];
  const wrapper = spawn(shell, ['-c', WRAPPER, 'openclaw-task', ...args], {
    cwd: '/',
    env: { PATH: process.env.PATH },
    detached: true,
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve) => wrapper.once('exit', resolve));
  await waitFor(async () => existsSync(path.join(dir, 'stdout.done')), 5000);
  return { pid: wrapper.pid!, code };
}

describe.each(['/bin/sh', ...(existsSync('/bin/bash') ? ['/bin/bash'] : [])])('the wrapper run by %s', (shell) => {
  it('runs a command that names $$ or $PPID in a shell of its own, a child of the wrapper', async () => {
    const dir = spoolDir();
    const { pid, code } = await runPlain(shell, dir, "echo $$ $PPID; sh -c 'echo $PPID'; :");
    expect(code).toBe(0);
    expect(parsePidFile(read(dir, 'pid'))?.pid).toBe(pid);
    const [own, parent, childsParent] = read(dir, 'stdout').split(/\s+/).map(Number);
    expect(parent).toBe(pid);
    expect(own).not.toBe(pid);
    expect(childsParent).toBe(own);
    expect(read(dir, 'exit')).toBe('0\n');
  });

  it.each([
    ['kill $$', 143],
    ['kill -9 $$', 137],
  ])('records a command that ends its own shell with `%s` as killed by that signal (%i)', async (kill, code) => {
    const dir = spoolDir();
    expect((await runPlain(shell, dir, `echo before; ${kill}; echo after`)).code).toBe(0);
    expect(read(dir, 'exit')).toBe(`${code}\n`);
    expect(read(dir, 'stdout')).toBe('before\n');
  });
});

describe('wrapper specs', () => {
  const input = (extra: Partial<WrapperSpecInput> = {}): WrapperSpecInput => ({
    dir: '/spool/x\ny',
    workdir: root,
    argv: ['sh', '-c', 'echo a\necho b'],
    env: { V: '1\n2' },
    unsetEnv: [],
    ...extra,
  });

  it("are two lines, the task's braced and the end's, whatever the values hold", () => {
    const built = wrapperSpec(input());
    expect(built.file).toBeUndefined();
    const lines = built.handoff.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\{ 'oca_main' '\/spool\/x'"\$oca_nl"'y' '-C' .*; \}$/);
    expect(lines[1]).toBe(`'oca_end' '/spool/x'"$oca_nl"'y'`);
    expect(lines[2]).toBe('');
  });

  it('put a task line longer than INLINE_SPEC_BYTES in the spec file, and hand over a line that sources it', () => {
    const short = wrapperSpec(input());
    const built = wrapperSpec(input({ env: { V: '1\n2', ...LONG } }));
    expect(built.file?.path).toBe('/spool/x\ny/spec');
    expect(built.file?.script).toMatch(/^\{ 'oca_main' '\/spool\/x'"\$oca_nl"'y' '-C' .*'PADDING' 'p{512}'.*; \}\n$/);
    expect(built.handoff.split('\n')).toEqual([
      `. '/spool/x'"$oca_nl"'y/spec'`,
      `'oca_end' '/spool/x'"$oca_nl"'y'`,
      '',
    ]);
    expect(Buffer.byteLength(short.handoff.split('\n')[0]! + '\n')).toBeLessThanOrEqual(INLINE_SPEC_BYTES);
    expect(Buffer.byteLength(built.file!.script)).toBeGreaterThan(INLINE_SPEC_BYTES);
  });

  it("refuse names the shell cannot set, and the wrapper's own, with INVALID_INPUT", () => {
    for (const [env, unset, message] of [
      [{ 'A-B': '1' }, [], /"A-B" cannot be set by the task's shell/],
      [{ '1X': '1' }, [], /"1X" cannot be set/],
      [{}, ['oca_dir'], /"oca_dir" is reserved/],
      [{ 'bad\u001bname': '1' }, [], /"bad\\u001bname" cannot be set/],
    ] as const) {
      let thrown: unknown;
      try {
        checkShellEnvironment(env, unset);
      } catch (error) {
        thrown = error;
      }
      expect(isUserFacingError(thrown) && thrown.code).toBe('INVALID_INPUT');
      expect((thrown as Error).message).toMatch(message);
    }
    expect(() => checkShellEnvironment({ PATH: '/bin', _x1: '' }, ['CLAUDECODE'])).not.toThrow();
  });
});
