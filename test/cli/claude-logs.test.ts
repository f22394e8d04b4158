import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';

// `logs` of a Claude Code task, with the fake `claude` (test/fixtures/fake-claude.mjs) as the
// local executor's claude_path: a transcript by default, the stored stream-json with --raw.
describe('logs of a Claude Code task', () => {
  let h: Harness;

  beforeAll(async () => {
    h = createHarness();
    await h.startWorker();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function start(args: string[]): Promise<string> {
    const r = await h.cli(['start', '-w', h.dir, ...args]);
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  }

  it('renders the stream as a transcript: session, text, tool calls, results and the outcome with cost', async () => {
    const id = await start(['-p', 'Fix the build turns:2']);
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const r = await h.cli(['logs', id]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^● session [0-9a-f]{8} · model claude-\S+ · /);
    expect(lines).toContain('→ Bash: cargo build');
    expect(lines).toContain('→ Edit: src/lib.rs');
    expect(lines).toContain(`  ← Compiling app v0.1.0 (${h.dir}) (+1 line)`);
    expect(lines).toContain('Let me build the project first.');
    expect(lines.indexOf('→ Bash: cargo build')).toBeLessThan(lines.indexOf('→ Edit: src/lib.rs'));
    // Two tool turns and the answer: three API calls, as the CLI counts them.
    expect(lines.at(-2)).toMatch(/^✓ done in 3 turns · \$0\.0036 · \d/);
    expect(lines.at(-1)).toBe('done: Fix the build turns:2');
    expect(r.stdout).not.toContain('{"type"');
  });

  it('prints the stored stream-json lines with --raw', async () => {
    const id = await start(['-p', 'Fix the build turns:2 noise']);
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    const r = await h.cli(['logs', id, '--raw', '--lines', '1000']);
    expect(r.exitCode).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'system', subtype: 'init' });
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['rate_limit_event', 'stream_event', 'assistant', 'user']),
    );
    expect(events.at(-1)).toMatchObject({ type: 'result', subtype: 'success', num_turns: 3 });
  });

  it('follows a running task as a transcript and exits with its exit code', async () => {
    const ok = await start(['-p', 'turns:3 slow:300 noise']);
    const followed = await h.cli(['logs', ok, '--follow']);
    expect(followed.exitCode).toBe(0);
    const tools = followed.stdout.split('\n').filter((l) => l.startsWith('→ '));
    expect(tools).toEqual(['→ Bash: cargo build', '→ Edit: src/lib.rs', '→ Bash: cargo test']);
    expect(followed.stdout).toMatch(/\n✓ done in 4 turns · \$0\.0048 · /);
    // The CLI's own retries show as it makes them.
    expect(followed.stdout).toContain('\n⟳ API retry 1/10: 529 overloaded_error\n');
    expect(followed.stdout).not.toContain('{"type"');

    const failing = await start(['--max-turns', '2', '-p', 'turns:4 slow:100']);
    const failed = await h.cli(['logs', failing, '-f']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(
      /\n✗ error_max_turns after 3 turns · \$0\.0024 · .*\n {2}Reached maximum number of turns \(2\)\n$/,
    );
  });

  it('leaves the output of a shell task as it is, even when it looks like stream-json', async () => {
    const line = '{"type":"result","subtype":"success","num_turns":1}';
    const id = (await h.cli(['run', '-c', `echo '${line}'`])).stdout.trim();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    expect((await h.cli(['logs', id])).stdout).toBe(`${line}\n`);
  });
});
