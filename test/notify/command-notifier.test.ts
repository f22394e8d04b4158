import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive, runCommandNotifier, type CommandNotifier } from '../../src/index.js';
import { eventually } from '../helpers/harness.js';
import { taskEndEvent } from '../helpers/task-end-event.js';

const dir = mkdtempSync(path.join(tmpdir(), 'oca-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENT = taskEndEvent({ name: 'it\'s "quoted"; $(touch pwned)', summary: 'cargo test' });

const notifier = (argv: string[], timeoutMs = 10_000): CommandNotifier => ({
  type: 'command',
  on: ['failed'],
  argv,
  timeoutMs,
});

describe('runCommandNotifier', () => {
  it('fills the template fields into argv words, as one word each and without a shell, and sets OCA_* variables', async () => {
    const out = path.join(dir, 'fields');
    const script = `printf '%s\\n' "$@" > ${out}; env | grep '^OCA_' | sort >> ${out}`;
    const outcome = await runCommandNotifier(
      notifier([
        'sh',
        '-c',
        script,
        'sh',
        '{name}',
        '{status} after {duration}',
        '{id}',
        '{short_id}',
        '{exit_code}',
        '[{signal}]',
        '{executor}',
        '{task_type}',
        '[{cost}]',
      ]),
      EVENT,
    );
    expect(outcome).toEqual({ kind: 'delivered', exitCode: 0 });
    expect(readFileSync(out, 'utf8').split('\n')).toEqual([
      'it\'s "quoted"; $(touch pwned)',
      'failed after 4m12s',
      EVENT.id,
      '7f3c1a2b',
      '101',
      '[]',
      'crib',
      'shell_command',
      '[]',
      'OCA_COST=',
      'OCA_DURATION=4m12s',
      'OCA_EXECUTOR=crib',
      'OCA_EXIT_CODE=101',
      `OCA_ID=${EVENT.id}`,
      'OCA_NAME=it\'s "quoted"; $(touch pwned)',
      'OCA_SHORT_ID=7f3c1a2b',
      'OCA_SIGNAL=',
      'OCA_STATUS=failed',
      'OCA_TASK_TYPE=shell_command',
      '',
    ]);
    expect(existsSync('pwned')).toBe(false);
  });

  it("does not hand the worker's own secrets or the hooks tokens to the command", async () => {
    const out = path.join(dir, 'env');
    process.env.OPENCLAW_AGENT_TASK_SIGNING_KEY = 'do-not-leak-this-signing-key';
    process.env.GATEWAY_TOKEN = 'do-not-leak-this-hooks-token';
    try {
      await runCommandNotifier(notifier(['sh', '-c', `env > ${out}`]), EVENT, { secretEnv: ['GATEWAY_TOKEN'] });
    } finally {
      delete process.env.OPENCLAW_AGENT_TASK_SIGNING_KEY;
      delete process.env.GATEWAY_TOKEN;
    }
    const env = readFileSync(out, 'utf8');
    expect(env).toContain('OCA_STATUS=failed');
    expect(env).not.toContain('do-not-leak-this');
    expect(env).not.toMatch(/^REDIS_URL=/m);
  });

  it('reports a failing command with its exit code and last stderr line', async () => {
    expect(
      await runCommandNotifier(notifier(['sh', '-c', 'echo first >&2; echo "no route to ntfy.sh" >&2; exit 7']), EVENT),
    ).toEqual({
      kind: 'failed',
      exitCode: 7,
      error: 'exited with code 7: no route to ntfy.sh',
    });
  });

  it('reports a program that does not exist', async () => {
    expect(await runCommandNotifier(notifier(['no-such-notify-program-here']), EVENT)).toEqual({
      kind: 'failed',
      error: "no-such-notify-program-here: no such program (check argv[0] and the worker's PATH)",
    });
  });

  it('stops what a finished command left running in its group', async () => {
    const pidFile = path.join(dir, 'leftover.pid');
    const outcome = await runCommandNotifier(notifier(['sh', '-c', `sleep 300 & echo $! > ${pidFile}; exit 0`]), EVENT);
    expect(outcome).toEqual({ kind: 'delivered', exitCode: 0 });
    const child = Number(readFileSync(pidFile, 'utf8'));
    await eventually(async () => (isProcessAlive(child) ? undefined : true), 'the leftover child to be stopped');
  });

  it('stops a running command when the worker shuts down, leaving it to the next worker', async () => {
    const stop = new AbortController();
    const running = runCommandNotifier(notifier(['sleep', '300']), EVENT, { signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    expect(await running).toEqual({ kind: 'stopped' });
  });

  it('drops a NUL from the values instead of failing to start', async () => {
    const out = path.join(dir, 'nul');
    const outcome = await runCommandNotifier(
      notifier(['sh', '-c', `printf '%s' "$1" > ${out}`, 'sh', '{name}']),
      taskEndEvent({ name: 'a\u0000b' }),
    );
    expect(outcome).toEqual({ kind: 'delivered', exitCode: 0 });
    expect(readFileSync(out, 'utf8')).toBe('ab');
  });

  it('stops a command that hangs past its timeout, with what it started', async () => {
    const pidFile = path.join(dir, 'child.pid');
    const outcome = await runCommandNotifier(
      notifier(['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], 500),
      EVENT,
    );
    expect(outcome).toEqual({
      kind: 'failed',
      error: "timed out after 500ms and was stopped — raise the notifier's timeout if it needs longer",
    });
    const child = Number(readFileSync(pidFile, 'utf8'));
    await eventually(async () => (isProcessAlive(child) ? undefined : true), "the command's child to be stopped");
  });
});
