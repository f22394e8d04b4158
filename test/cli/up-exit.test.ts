// How `up` exits. One that cannot run its stack — no Redis to use, or not one worker started — says
// why in one line, exits with the error's code and leaves no state file; it never says "ready" for
// nothing. One that runs exits 0 when stopped (Ctrl-C, `down`), and 1 when its Redis dies unasked.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/index.js';
import { createHarness, eventually, type CliResult, type Harness, type RunningCli } from '../helpers/harness.js';

const SECRET = 'upS3cretPW';
const UNREACHABLE = `redis://:${SECRET}@127.0.0.1:1`;

describe('`up` when its stack cannot run', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  const stateFile = () => path.join(h.home, 'embedded', 'stack.json');

  function expectOneLine(r: CliResult, exitCode: number): string {
    expect(r.exitCode, r.stderr).toBe(exitCode);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toContain('ready:');
    expect(r.stderr).not.toContain(SECRET);
    expect(existsSync(stateFile())).toBe(false);
    return lines[0]!;
  }

  it('an unreachable Redis → exit 4, one line, no state file', async () => {
    const line = expectOneLine(await h.cli(['up', '--redis-url', UNREACHABLE, '--no-dashboard']), 4);
    expect(line).toMatch(
      /^openclaw-agent: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 \(ECONNREFUSED\) — start redis-server/,
    );
  });

  it('with --log-format json the failure is one record at level error', async () => {
    const r = await h.cli(['up', '--redis-url', UNREACHABLE, '--no-dashboard', '--log-format', 'json']);
    const record = JSON.parse(expectOneLine(r, 4)) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 'error',
      component: 'up',
      code: 'REDIS_UNREACHABLE',
      msg: expect.stringMatching(/^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 \(ECONNREFUSED\)/),
    });
  });

  it('a bad --redis-url → exit 2, one line', async () => {
    const line = expectOneLine(
      await h.cli(['up', '--redis-url', `redis://:${SECRET}%ZZ@127.0.0.1:6379`, '--no-dashboard']),
      2,
    );
    expect(line).toMatch(/^openclaw-agent: invalid Redis URL redis:\/\/:\*\*\*@127\.0\.0\.1:6379: its password/);
  });

  it('no executor can start → one line naming it, a non-zero exit, no state file', async () => {
    // Only a container executor whose engine is not there: the stack would serve nothing.
    const config = path.join(h.dir, 'no-engine.yaml');
    writeFileSync(
      config,
      readFileSync(h.configPath, 'utf8').replace(
        /executors:\n(?: {2}.*\n| {4}.*\n)*/,
        `executors:\n  - name: nowhere\n    type: container\n    image: alpine\n    socket: ${path.join(h.dir, 'no-engine.sock')}\n`,
      ),
    );
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const r = await h.cli(['up', '--redis-url', redisUrl, '--no-dashboard', '--config', config]);
    const line = expectOneLine(r, 1);
    expect(line).toMatch(/^openclaw-agent: no worker started — executor nowhere: .*no container engine answers/);
  });
});

describe('`up` once its stack runs', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  const stateFile = () => path.join(h.home, 'embedded', 'stack.json');

  // A foreground `up` (private Redis, a worker for `local`) once it has said "ready", and its Redis's pid.
  async function startUp(options: { ownGroup?: boolean } = {}): Promise<{ up: RunningCli; redisPid: number }> {
    const up = h.spawnCli(['up', '--no-dashboard'], {}, options);
    await eventually(
      async () => ((up.stdout() + up.stderr()).includes('ready:') ? true : undefined),
      '`up` to be ready',
      60_000,
    );
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as { redis_pid: number };
    expect(isProcessAlive(state.redis_pid)).toBe(true);
    return { up, redisPid: state.redis_pid };
  }

  async function expectStopped(up: RunningCli, redisPid: number, exitCode: number): Promise<string> {
    await up.result;
    const said = up.stdout() + up.stderr();
    expect({ code: up.child.exitCode, signal: up.child.signalCode }, said).toEqual({ code: exitCode, signal: null });
    expect(isProcessAlive(redisPid)).toBe(false);
    expect(existsSync(stateFile())).toBe(false);
    return said;
  }

  it('Ctrl-C (SIGINT) stops Redis and the workers and exits 0, not calling that Redis exit unexpected', async () => {
    const { up, redisPid } = await startUp();
    up.child.kill('SIGINT');
    const said = await expectStopped(up, redisPid, 0);
    expect(said).toContain('SIGINT: stopping workers (running tasks keep running) and Redis');
    expect(said).not.toContain('unexpectedly');
  });

  // As a terminal's Ctrl-C does: SIGINT to the whole foreground process group, redis-server and
  // the workers included, not to `up` alone.
  it('Ctrl-C at a terminal (SIGINT to its process group) exits 0 too, Redis stopped, nothing left', async () => {
    const { up, redisPid } = await startUp({ ownGroup: true });
    process.kill(-up.child.pid!, 'SIGINT');
    const said = await expectStopped(up, redisPid, 0);
    expect(said).not.toContain('unexpectedly');
    expect(() => process.kill(-up.child.pid!, 0)).toThrow();
  });

  it('`down` stops it: `up` exits 0 without a word of Redis exiting unexpectedly', async () => {
    const { up, redisPid } = await startUp();
    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'Stopped the private Redis and workers.\n' });
    const said = await expectStopped(up, redisPid, 0);
    expect(said).toContain('SIGTERM: stopping workers');
    expect(said).not.toContain('unexpectedly');
  });

  it('a Redis that dies unasked stops the stack: exit 1, saying so', async () => {
    const { up, redisPid } = await startUp();
    process.kill(redisPid, 'SIGKILL');
    const said = await expectStopped(up, redisPid, 1);
    expect(said).toContain('redis-server exited unexpectedly; stopping');
    expect(said).not.toContain('stopping workers (running tasks keep running)');
  });
});
