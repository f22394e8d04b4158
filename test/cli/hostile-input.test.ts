import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createHarness, type CliResult, type Harness } from '../helpers/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Any control character but the line breaks between our own lines.
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('hostile input: task text, config paths, argv bytes and sizes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = createHarness();
    await h.startWorker();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  function expectOneLine(r: CliResult, exitCode: number, pattern: RegExp): void {
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.exitCode).toBe(exitCode);
  }

  async function taskCount(): Promise<number> {
    const r = await h.cli(['list', '--json']);
    return (JSON.parse(r.stdout) as unknown[]).length;
  }

  // The CLI run by sh, so that its argv can hold bytes that are not UTF-8 (made by printf).
  async function cliThroughShell(script: string): Promise<CliResult> {
    const r = await execa('sh', ['-c', `exec node "$BIN" ${script}`], {
      env: { ...h.env, BIN },
      extendEnv: false,
      cwd: h.dir,
      reject: false,
      stripFinalNewline: false,
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  it('list, status and wait show escape codes and line breaks from a task escaped, each field on its line', async () => {
    const name = 'evil\u001b]0;pwned\u0007\u001b[2J\rX\nline2';
    const workdir = '/nonexistent\u001b[2J\ndir';
    const run = await h.cli(['run', '--name', name, '--workdir', workdir, '--', 'true']);
    const id = run.stdout.trim();
    expect(id).toMatch(UUID);

    const wait = await h.cli(['wait', id]);
    expect(wait.exitCode).toBe(1);
    expect(wait.stdout).not.toMatch(CONTROL);
    expect(wait.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(wait.stdout).toContain('evil\\u001b]0;pwned\\u0007\\u001b[2J\\rX ⏎ line2');

    const status = await h.cli(['status', id]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).not.toMatch(CONTROL);
    const lines = status.stdout.split('\n');
    expect(lines).toContain('   Name:     evil\\u001b]0;pwned\\u0007\\u001b[2J\\rX\\nline2');
    expect(lines).toContain('   Workdir:  /nonexistent\\u001b[2J\\ndir');
    expect(lines.find((line) => line.startsWith('   Error:'))).toMatch(/\/nonexistent\\u001b\[2J\\ndir/);
    expect(lines.some((line) => line.startsWith('line2') || line.startsWith('dir'))).toBe(false);

    const list = await h.cli(['list']);
    expect(list.stdout).not.toMatch(CONTROL);
    expect(list.stdout).toContain('evil\\u001b]0;pwned');

    // JSON output keeps the text as it was given.
    const json = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as { name: string };
    expect(json.name).toBe(name);
  });

  it('schedule add and schedule list show escape codes and line breaks from a command escaped', async () => {
    const add = await h.cli([
      'schedule',
      'add',
      'evil',
      '--cron',
      '0 3 * * *',
      '--',
      'run',
      '-c',
      'printf "\u001b]0;pwned\u0007\u001b[2J"\necho line2',
    ]);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).not.toMatch(CONTROL);
    expect(add.stdout).toContain('printf "\\u001b]0;pwned\\u0007\\u001b[2J" ⏎ echo line2');

    const list = await h.cli(['schedule', 'list']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).not.toMatch(CONTROL);
    expect(list.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(list.stdout).toContain('printf "\\u001b]0;pwned');
    expect((await h.cli(['schedule', 'rm', 'evil'])).exitCode).toBe(0);
  });

  it('a --verbose after -- is a word of the task, kept in its argv, and prints no stack trace', async () => {
    const before = await taskCount();
    // Refused after the inner command's flags are read, and before: both stay one line.
    expectOneLine(
      await h.cli([
        'schedule',
        'add',
        'loud',
        '--cron',
        '0 3 * * *',
        '--',
        'run',
        '-e',
        'nope',
        '--',
        'x',
        '--verbose',
      ]),
      3,
      /^openclaw-agent: unknown executor "nope"/,
    );
    expectOneLine(
      await cliThroughShell(`run -- printf %s "$(printf 'caf\\351')" --verbose`),
      2,
      /word 3 after -- .* is not valid UTF-8/,
    );
    expect(await taskCount()).toBe(before);

    const run = await h.cli(['run', '--json', '--', 'mytool', '--verbose']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { command: string }).command).toBe('mytool --verbose');

    // Before --, --verbose is ours.
    const loud = await h.cli(['run', '-e', 'nope', '--verbose', '--', 'x']);
    expect(loud.exitCode).toBe(3);
    expect(loud.stderr).toMatch(/\n\s+at /);
  });

  it('an empty --config is refused, before or after the command, whatever OPENCLAW_AGENT_CONFIG says', async () => {
    const before = await taskCount();
    const empty = /--config is empty: give the path of a config file/;
    expectOneLine(await h.cli(['--config', '', 'list']), 2, empty);
    expectOneLine(await h.cli(['-c', '', 'run', '--', 'true']), 2, empty);
    expectOneLine(await h.cli(['--config=', 'list']), 2, empty);
    expectOneLine(await h.cli(['list', '--config', '']), 2, empty);
    expectOneLine(await h.cli(['run', '--config', '', '--', 'true']), 2, empty);
    expectOneLine(await h.cli(['list', '--config', ''], { env: { OPENCLAW_AGENT_CONFIG: '' } }), 2, empty);
    expect(await taskCount()).toBe(before);
  });

  it('a config path that cannot be read is one line naming it, exit 2', async () => {
    const dir = path.join(h.dir, 'conf.d');
    mkdirSync(dir);
    expectOneLine(await h.cli(['--config', dir, 'list']), 2, new RegExp(`config file ${dir} is a directory`));
    expectOneLine(await h.cli(['list', `--config=${dir}`]), 2, /is a directory/);
    // Reading /proc/self/mem from its start fails with EIO.
    expectOneLine(
      await h.cli(['--config', '/proc/self/mem', 'list']),
      2,
      /cannot read config file \/proc\/self\/mem: input\/output error \(EIO\)/,
    );
    expectOneLine(await h.cli(['--config', '/dev/zero', 'list']), 2, /config file \/dev\/zero is larger than 1 MiB/);
  });

  it('a word that is not valid UTF-8 is refused, naming it; U+FFFD typed in UTF-8 is taken', async () => {
    const before = await taskCount();
    expectOneLine(
      await cliThroughShell(`run -- printf %s "$(printf 'caf\\351.txt')"`),
      2,
      /word 3 after -- \(`caf\\xe9\.txt`\) is not valid UTF-8 — .*printf/,
    );
    expectOneLine(
      await cliThroughShell(`run --name "$(printf 'n\\377')" -- true`),
      2,
      /the value of --name \(`n\\xff`\) is not valid UTF-8/,
    );
    expectOneLine(
      await cliThroughShell(`start --prompt "$(printf 'x\\351y')"`),
      2,
      /the value of --prompt \(`x\\xe9y`\) is not valid UTF-8/,
    );
    expect(await taskCount()).toBe(before);

    // The bytes EF BF BD are U+FFFD, valid UTF-8.
    const typed = await cliThroughShell(`run -- printf %s "$(printf 'caf\\357\\277\\275')"`);
    expect(typed.exitCode).toBe(0);
    const json = JSON.parse((await h.cli(['status', typed.stdout.trim(), '--json'])).stdout) as {
      command: string;
    };
    expect(json.command).toContain('caf\uFFFD');
  });

  // Before the fix oclif took minutes over these words (time quadratic in their number); the
  // bound here is generous, the point is that they are taken at all.
  it('40000 words after -- are taken in order, exactly as given', { timeout: 30_000 }, async () => {
    const words = Array.from({ length: 40_000 }, (_, i) => (i % 1000 === 7 ? '--name' : String(i)));
    const r = await h.cli(['run', '--name', 'many', '--', 'true', ...words]);
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    const client = await h.client();
    const task = await client.get(id);
    expect(task.record.name).toBe('many');
    const request = (await client.queue('local').getJob(id))?.data as { payload: { args: string[] } } | undefined;
    expect(request?.payload.args).toEqual(words);
  });

  it('a prompt or a command over its size limit is refused at once in one line, exit 2', async () => {
    const before = await taskCount();
    const big = path.join(h.dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(5 * 1024 * 1024));
    expectOneLine(
      await h.cli(['start', '--prompt-file', big]),
      2,
      /--prompt-file .*big\.txt is 5\.0 MiB, over the limit of 4 MiB for a prompt/,
    );
    expectOneLine(
      await h.cli(['start', '--prompt-file', '/dev/zero']),
      2,
      /--prompt-file \/dev\/zero is more than 4 MiB, over the limit of 4 MiB/,
    );
    expectOneLine(
      await h.cli(['start', '--prompt', '-'], { input: 'y'.repeat(4 * 1024 * 1024 + 1) }),
      2,
      /the prompt on stdin is more than 4 MiB/,
    );
    // Nine words of 120 000 bytes: each within Linux's limit for one word, together over 1 MiB.
    const words = Array.from({ length: 9 }, () => 'a'.repeat(120_000));
    expectOneLine(
      await h.cli(['run', '--', 'true', ...words]),
      2,
      /the command with its arguments and --env values is 1\.03 MiB, over the limit of 1 MiB/,
    );
    expect(await taskCount()).toBe(before);
  });
});
