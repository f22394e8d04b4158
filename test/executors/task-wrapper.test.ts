import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOcaError } from '../../src/errors.js';
import { checkShellEnvironment, parsePidFile, WAITING_WRAPPER, wrapperSpec, type WrapperSpecInput } from '../../src/executors/task-wrapper.js';

const root = mkdtempSync(path.join(tmpdir(), 'oca-wrapper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let made = 0;

// A waiting wrapper as the launcher starts one (its stdin a socket, like libuv's), given `input`.
async function runWaiting(input: string, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Promise<number | null> {
  const child = spawn('/bin/sh', ['-c', WAITING_WRAPPER, 'openclaw-task'], { cwd: '/', env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(input);
  const code = await exited;
  expect(stderr).toBe('');
  return code;
}

function spoolDir(): string {
  const dir = path.join(root, `task-${++made}`);
  mkdirSync(dir);
  return dir;
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

function spec(dir: string, argv: string[], extra: Partial<WrapperSpecInput> = {}): string {
  return wrapperSpec({ dir, workdir: root, argv, env: {}, unsetEnv: [], ...extra });
}

describe('the waiting wrapper', () => {
  it('runs the one-line spec it reads: pid file first, output in the spool files, the exit code last', async () => {
    const dir = spoolDir();
    await runWaiting(`${spec(dir, ['sh', '-c', 'echo out; echo err >&2; pwd; exit 3'])}\n`);
    expect(read(dir, 'stdout')).toBe(`out\n${root}\n`);
    expect(read(dir, 'stderr')).toBe('err\n');
    expect(read(dir, 'exit')).toBe('3\n');
    expect(parsePidFile(read(dir, 'pid'))?.pid).toBeGreaterThan(0);
  });

  it('sets and unsets the task\'s variables, with newlines, quotes and $ in values kept byte for byte', async () => {
    const dir = spoolDir();
    const tricky = "line one\nit's \"$(id)\" `id` $HOME \\ \n\ttab";
    await runWaiting(`${spec(dir, ['sh', '-c', 'printf "%s|%s|%s" "$TRICKY" "${GONE-unset}" "$KEPT"'], { env: { TRICKY: tricky, KEPT: 'k' }, unsetEnv: ['GONE'] })}\n`, {
      PATH: process.env.PATH,
      GONE: 'inherited',
      KEPT: 'inherited',
    });
    expect(read(dir, 'stdout')).toBe(`${tricky}|unset|k`);
  });

  it('passes argv words with newlines exact to an exec\'d command', async () => {
    const dir = spoolDir();
    const words = ['a\nb', "'", '\n', '$(id)', ''];
    await runWaiting(`${spec(dir, ['printf', '[%s]', ...words])}\n`);
    expect(read(dir, 'stdout')).toBe(words.map((w) => `[${w}]`).join(''));
    expect(read(dir, 'exit')).toBe('0\n');
  });

  it('runs nothing from a spec cut short (no newline), nor when its input ends empty', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'cut-short-ran');
    const whole = spec(dir, ['touch', marker]);
    // Cut at a word boundary, where the words so far would be a valid command of their own.
    const cut = whole.slice(0, whole.lastIndexOf(' '));
    expect(await runWaiting(cut)).toBe(0);
    expect(await runWaiting('')).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'pid'))).toBe(false);
  });

  it('ends a task whose variable the shell refuses with exit code 125 and the shell\'s message, running nothing', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'refused-variable-ran');
    // dash takes OPTIND as a number only; `export` failing would otherwise end the wrapper itself.
    await runWaiting(`${spec(dir, ['touch', marker], { env: { OPTIND: 'not a number' } })}\n`);
    expect(read(dir, 'exit')).toBe('125\n');
    expect(read(dir, 'stderr')).toMatch(/OPTIND|not a number/);
    expect(existsSync(marker)).toBe(false);
  });

  it('ends a task whose workdir cannot be entered with cd\'s message and exit code, running nothing', async () => {
    const dir = spoolDir();
    const marker = path.join(root, 'no-workdir-ran');
    await runWaiting(`${spec(dir, ['touch', marker], { workdir: path.join(root, 'missing') })}\n`);
    expect(read(dir, 'stderr')).toMatch(/can't cd to .*missing/);
    expect(read(dir, 'exit')).not.toBe('0\n');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('wrapper specs', () => {
  it('are one line whatever the values hold', () => {
    const line = spec('/spool/x', ['sh', '-c', 'echo a\necho b'], { env: { V: '1\n2' } });
    expect(line).not.toContain('\n');
  });

  it('refuse names the shell cannot set, and the wrapper\'s own, with INVALID_INPUT', () => {
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
      expect(isOcaError(thrown) && thrown.code).toBe('INVALID_INPUT');
      expect((thrown as Error).message).toMatch(message);
    }
    expect(() => checkShellEnvironment({ PATH: '/bin', _x1: '' }, ['CLAUDECODE'])).not.toThrow();
  });
});
