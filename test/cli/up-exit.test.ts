// `up` that cannot run its stack — no Redis to use, or not one worker started — says why in one
// line, exits with the error's code and leaves no state file; it never says "ready" for nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type CliResult, type Harness } from '../helpers/harness.js';

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
