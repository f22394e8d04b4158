import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ProcessLauncher } from '../../src/executors/local/process-launcher.js';
import { isProcessAlive } from '../../src/executors/process-identity.js';
import { wrapperSpec, type WrapperSpec } from '../../src/executors/shell/task-wrapper.js';
import { waitFor } from './executor-conformance.js';
import { processesWithEnv, readProcessTable, type ProcessInfo } from '../helpers/processes.js';

const root = mkdtempSync(path.join(tmpdir(), 'oca-launcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Every launcher of a test gets a marker in its wrappers' environment, to find them in /proc.
let launcher: ProcessLauncher | undefined;
let mark = '';
afterEach(async () => {
  launcher?.close();
  launcher = undefined;
  await waitFor(async () => processesWithEnv(mark).length === 0, 5000);
});

async function openLauncher(): Promise<ProcessLauncher> {
  mark = `OCA_LAUNCHER_TEST=${randomUUID()}`;
  const [name, value] = mark.split('=') as [string, string];
  launcher = new ProcessLauncher({ PATH: process.env.PATH, [name]: value });
  await launcher.open();
  return launcher;
}

// Wrappers waiting for a task: marked session leaders whose forked shell is still in '/' (a
// task's shell is in its workdir, or is its command; the wrapper itself stays in '/').
function waitingWrappers(): ProcessInfo[] {
  const marked = processesWithEnv(mark);
  const forked = marked.filter((p) => p.session !== p.pid && cwdOf(p.pid) === '/');
  return marked.filter((p) => p.session === p.pid && forked.some((f) => f.ppid === p.pid));
}

// The launcher reports a wrapper ready once spawned; its shell forks the waiting subshell a moment
// later (later still on a loaded machine), so a test waits for that before counting.
async function oneWaitingWrapper(): Promise<ProcessInfo> {
  await waitFor(async () => waitingWrappers().length > 0, 5000);
  const waiting = waitingWrappers();
  expect(waiting).toHaveLength(1);
  return waiting[0]!;
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function task(command: string): { dir: string; spec: WrapperSpec } {
  const dir = path.join(root, randomUUID());
  mkdirSync(dir);
  return { dir, spec: wrapperSpec({ dir, workdir: root, argv: ['sh', '-c', command], env: {}, unsetEnv: [] }) };
}

const exitCode = (dir: string) =>
  existsSync(path.join(dir, 'exit')) ? readFileSync(path.join(dir, 'exit'), 'utf8') : undefined;

describe('process launcher', () => {
  it('keeps a wrapper waiting in its own session, hands it the next task at once, and starts another', async () => {
    const l = await openLauncher();
    const waiting = await oneWaitingWrapper();
    expect(waiting.session).toBe(waiting.pid);

    const { dir, spec } = task('echo hello');
    const launch = l.startWrapper(spec);
    expect(launch.pid).toBe(waiting.pid);
    expect(await launch.started).toBe(waiting.pid);
    await waitFor(async () => exitCode(dir) === '0\n');
    expect(readFileSync(path.join(dir, 'stdout'), 'utf8')).toBe('hello\n');
    // Its successor waits for the next task.
    await waitFor(async () => waitingWrappers().some((p) => p.pid !== waiting.pid));
  });

  it('starts a wrapper for each task of a burst beyond the one waiting', async () => {
    const l = await openLauncher();
    await oneWaitingWrapper();
    const tasks = Array.from({ length: 6 }, (_, i) => task(`echo ${i}`));
    const launches = tasks.map((t) => l.startWrapper(t.spec));
    expect(launches.filter((launch) => launch.pid !== undefined)).toHaveLength(1);
    const pids = await Promise.all(launches.map((launch) => launch.started));
    expect(new Set(pids).size).toBe(6);
    for (const [i, t] of tasks.entries()) {
      await waitFor(async () => exitCode(t.dir) === '0\n');
      expect(readFileSync(path.join(t.dir, 'stdout'), 'utf8')).toBe(`${i}\n`);
    }
  });

  it('runs the task in a new wrapper when the waiting one was killed from outside', async () => {
    const l = await openLauncher();
    const waiting = await oneWaitingWrapper();
    process.kill(waiting.pid, 'SIGKILL');
    // Dead or a zombie: one still dying from the SIGKILL shows as running, and is taken as live.
    await waitFor(async () => !isProcessAlive(waiting.pid));
    const { dir, spec } = task('echo still');
    const pid = await l.startWrapper(spec).started;
    expect(pid).not.toBe(waiting.pid);
    await waitFor(async () => exitCode(dir) === '0\n');
    expect(readFileSync(path.join(dir, 'stdout'), 'utf8')).toBe('still\n');
  });

  it('ends its waiting wrapper when closed, and leaves started tasks running', async () => {
    const l = await openLauncher();
    const { dir, spec } = task('echo up; sleep 30');
    const pid = await l.startWrapper(spec).started;
    await waitFor(async () => waitingWrappers().length === 1);
    l.close();
    await waitFor(async () => waitingWrappers().length === 0);
    expect(readProcessTable().get(pid)?.state).not.toBe('Z');
    process.kill(-pid, 'SIGKILL');
    await waitFor(async () => exitCode(dir) !== undefined || processesWithEnv(mark).length === 0);
  });

  it('leaves no launcher or waiting wrapper behind when the worker exits while handing a wrapper over', async () => {
    mark = `OCA_LAUNCHER_TEST=${randomUUID()}`;
    const { dir, spec } = task('true');
    // The successor of the wrapper that took the task is handed over 10 ms later, to a worker
    // that is gone by then: Node's channel never reports its end while that handle awaits the
    // worker's acknowledgement.
    const source = `
      import { ProcessLauncher } from ${JSON.stringify(path.resolve('dist/src/executors/local/process-launcher.js'))};
      const [name, value] = ${JSON.stringify(mark)}.split('=');
      const launcher = new ProcessLauncher({ PATH: process.env.PATH, [name]: value });
      await launcher.open();
      const pid = await launcher.startWrapper(${JSON.stringify(spec)}).started;
      // The launcher is this process's child.
      const { readdirSync, readFileSync } = await import('node:fs');
      const launcherPid = readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).find((n) => {
        try { return readFileSync('/proc/' + n + '/stat', 'utf8').split(') ')[1].split(' ')[1] === String(process.pid); } catch { return false; }
      });
      process.stdout.write(JSON.stringify({ pid, launcherPid: Number(launcherPid) }));
      setTimeout(() => process.exit(0), 5);
    `;
    const worker = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    let out = '';
    worker.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await exited;
    const { pid, launcherPid } = JSON.parse(out) as { pid: number; launcherPid: number };
    expect(pid).toBeGreaterThan(0);
    expect(launcherPid).toBeGreaterThan(0);
    await waitFor(async () => exitCode(dir) === '0\n');
    await waitFor(async () => processesWithEnv(mark).length === 0, 5000);
    await waitFor(async () => !isProcessAlive(launcherPid), 5000);
  });

  it('leaves no launcher or waiting wrapper behind when the worker is SIGKILLed', async () => {
    mark = `OCA_LAUNCHER_TEST=${randomUUID()}`;
    const source = `
      import { ProcessLauncher } from ${JSON.stringify(path.resolve('dist/src/executors/local/process-launcher.js'))};
      const [name, value] = ${JSON.stringify(mark)}.split('=');
      new ProcessLauncher({ PATH: process.env.PATH, [name]: value }).open();
      setInterval(() => {}, 1000);
    `;
    const worker = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: 'ignore' });
    await waitFor(async () => waitingWrappers().length === 1);
    const launcherPid = waitingWrappers()[0]!.ppid;
    expect(readProcessTable().get(launcherPid)?.ppid).toBe(worker.pid);
    worker.kill('SIGKILL');
    await waitFor(async () => processesWithEnv(mark).length === 0, 5000);
    await waitFor(async () => !isProcessAlive(launcherPid), 5000);
  });
});
