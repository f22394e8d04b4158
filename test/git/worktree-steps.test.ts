import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText, type ExecutorConfig } from '../../src/config/config.js';
import type { Executor } from '../../src/executors/executor.js';
import { runLocalScript } from '../../src/executors/local/host-script.js';
import { createTaskWorktree, worktreeBranch, type TaskGit } from '../../src/git/task-worktree.js';
import { leaveWorktree, leaveWorktreeBetweenRuns } from '../../src/git/worktree-steps.js';
import { resolveHostId } from '../../src/executors/local/host-id.js';
import { SshExecutor } from '../../src/executors/ssh/ssh-executor.js';
import { TaskKeys, TaskRequestSchema } from '../../src/index.js';
import { git as runGit, makeRepo } from '../helpers/git-repo.js';
import { deleteKeys } from '../helpers/harness.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';

// The worker's end step for a worktree task on this host: a prompt never reaches a command line.
// Prompts travel on stdin (every user of a host reads every command line, `ps`); the commit
// message taken from the prompt's first line goes only to a commit, and then on the script's stdin.

const root = mkdtempSync(path.join(tmpdir(), 'oca-steps-'));
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
afterAll(async () => {
  await deleteKeys(redis, `${keys.prefix}:*`);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

// A `git` first on PATH that, each time the scripts run git, reads every process's command line
// (/proc/*/cmdline: the script's /bin/sh is alive while its git runs) and notes any that holds
// the marker, then runs the real git. Its own grep reads the marker from a file.
const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
const MARK = `oca-mark-${randomUUID().slice(0, 8)}`;
const bin = path.join(root, 'bin');
const hits = path.join(root, 'hits');
const pattern = path.join(root, 'pattern');
beforeAll(() => {
  mkdirSync(bin);
  writeFileSync(pattern, `${MARK}\n`);
  writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/sh
grep -a -s -F -f '${pattern}' /proc/[0-9]*/cmdline | tr '\\000' ' ' >> '${hits}'
exec '${realGit}' "$@"
`,
  );
  chmodSync(path.join(bin, 'git'), 0o755);
});

const ID = 'c0ffee00-0000-4000-8000-000000000002';
const executorConfig = { name: 'local', type: 'local' } as ExecutorConfig;
let repo: string;
let made: TaskGit;
/** Every argv the executor's runScript was given. */
let argvs: string[][];
const executor = {
  runScript: (script: string, args: readonly string[], stdin?: string) => {
    argvs.push([script, ...args]);
    return runLocalScript(script, args, stdin);
  },
} as unknown as Executor;
const notes: string[] = [];

beforeEach(async () => {
  const dir = mkdtempSync(path.join(root, 'case-'));
  repo = makeRepo(path.join(dir, 'repo'));
  made = await createTaskWorktree(
    { runScript: runLocalScript },
    { workdir: repo, path: path.join(dir, 'worktrees', ID), branch: worktreeBranch(ID) },
    'here',
  );
  writeFileSync(path.join(made.worktree, 'NEW'), 'new file\n');
  argvs = [];
  notes.length = 0;
  writeFileSync(hits, '');
});
afterEach(() => expect(notes).toEqual([]));

const request = (worktree: { commit?: boolean }) =>
  TaskRequestSchema.parse({
    executor: 'local',
    createdAt: Date.now(),
    payload: { type: 'claude_code', prompt: `Refactor the ${MARK} parser\nand keep this line private too` },
    worktree,
  });
/** The end step, with the marking `git` first on PATH while it runs. */
async function leave(worktree: { commit?: boolean }): Promise<void> {
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved ?? ''}`;
  try {
    await leaveWorktree({ executor, executorConfig, redis, keys }, ID, request(worktree), made, {
      retentionMs: 60_000,
      note: async (line) => void notes.push(line),
    });
  } finally {
    process.env.PATH = saved;
  }
}

describe('leaveWorktree on this host', () => {
  it('without --commit, puts nothing of the prompt in any command line, and counts the changes', async () => {
    await leave({});
    expect(argvs.length).toBeGreaterThan(0);
    expect(readFileSync(hits, 'utf8')).toBe('');
    for (const argv of argvs) expect(argv.join(' ')).not.toContain(MARK);
    expect(JSON.parse((await redis.hget(keys.record(ID), 'git'))!)).toMatchObject({ files_changed: 1 });
    expect(runGit(made.worktree, 'status', '--porcelain')).toBe('?? NEW\n');
  });

  it("with --commit, commits with the prompt's first line, given on stdin: in no command line either", async () => {
    await leave({ commit: true });
    expect(runGit(made.worktree, 'log', '-1', '--format=%B').trim()).toBe(`Refactor the ${MARK} parser`);
    expect(runGit(made.worktree, 'status', '--porcelain')).toBe('');
    expect(readFileSync(hits, 'utf8')).toBe('');
    for (const argv of argvs) expect(argv.join(' ')).not.toContain(MARK);
  });
});

describe('leaveWorktreeBetweenRuns (a task killed while it waits for its next run)', () => {
  const between = async (recordedHost: string) => {
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved ?? ''}`;
    try {
      await leaveWorktreeBetweenRuns({ executorConfig, redis, keys }, ID, request({ commit: true }), made, {
        recordedHost,
        retentionMs: 60_000,
        note: async (line) => void notes.push(line),
      });
    } finally {
      process.env.PATH = saved;
    }
  };

  it('on this host: commits with --commit (message on stdin), records the changes, marks the worktree ended', async () => {
    await between(resolveHostId());
    expect(existsSync(`${made.worktree}.ended`)).toBe(true);
    expect(runGit(made.worktree, 'log', '-1', '--format=%s').trim()).toBe(`Refactor the ${MARK} parser`);
    expect(JSON.parse((await redis.hget(keys.record(ID), 'git'))!)).toMatchObject({ files_changed: 1 });
    expect(readFileSync(hits, 'utf8')).toBe('');
  });

  it('says so in the log, and touches nothing, when the worktree is on another host', async () => {
    await redis.del(keys.record(ID));
    await between('another-host');
    expect(notes.splice(0)).toEqual([
      `the task's worktree ${made.worktree} is on host another-host, out of reach from here: its changes are not counted and it is not marked ended (remove it there with git worktree remove)`,
    ]);
    expect(existsSync(`${made.worktree}.ended`)).toBe(false);
    expect(runGit(made.worktree, 'status', '--porcelain')).toBe('?? NEW\n');
    expect(await redis.exists(keys.record(ID))).toBe(0);
  });
});

describe('the end step over SSH (a real sshd on this host)', () => {
  let server: SshdServer;
  let sshConfig: ExecutorConfig;
  let ssh: SshExecutor;
  beforeAll(async () => {
    server = await startSshd();
    const yaml = sshExecutorYaml(server, 'crib', { spool_dir: path.join(root, 'remote', 'tasks') });
    sshConfig = parseConfigText(`executors:\n${yaml}`, 'test').executors[0]!;
    ssh = new SshExecutor(sshConfig);
  });
  afterAll(async () => {
    ssh?.close();
    await server?.stop();
  });

  // A post-commit hook (the commit's --no-verify skips the others) that reads every command line on
  // the host while the remote shell of the end step is alive, with the base64 an SSH command
  // reaches the remote as (ssh-connection.ts) decoded, and notes any that holds the marker.
  const cmdlines = path.join(root, 'cmdlines');
  beforeEach(() => {
    const hook = path.join(repo, '.git', 'hooks', 'post-commit');
    writeFileSync(
      hook,
      `#!/bin/sh
for f in /proc/[0-9]*/cmdline; do tr '\\000' '\\n' < "$f" 2>/dev/null; echo; done > '${cmdlines}'
sed -n 's#.*echo \\([A-Za-z0-9+/=]*\\) | base64 -d.*#\\1#p' '${cmdlines}' | while read -r b; do printf '%s' "$b" | base64 -d 2>/dev/null; echo; done >> '${cmdlines}'
grep -a -c OCA_COMMIT_FAILED '${cmdlines}' > '${cmdlines}.seen'
grep -a -F -f '${pattern}' '${cmdlines}' >> '${hits}'
exit 0
`,
    );
    chmodSync(hook, 0o755);
  });
  /** The hook ran, and read the end step's script in the remote shell's command line: it would have seen an argument. */
  const hookSawTheRemoteShell = () => Number(readFileSync(`${cmdlines}.seen`, 'utf8').trim()) > 0;

  it("with --commit, through the worker's executor: the message reaches the commit on stdin, in no command line on the remote", async () => {
    const through = {
      type: 'ssh',
      runScript: (script: string, args: readonly string[], stdin?: string) => {
        argvs.push([script, ...args]);
        return ssh.runScript(script, args, stdin);
      },
    } as unknown as Executor;
    await leaveWorktree(
      { executor: through, executorConfig: sshConfig, redis, keys },
      ID,
      request({ commit: true }),
      made,
      {
        retentionMs: 60_000,
        note: async (line) => void notes.push(line),
      },
    );
    expect(runGit(made.worktree, 'log', '-1', '--format=%B').trim()).toBe(`Refactor the ${MARK} parser`);
    expect(runGit(made.worktree, 'status', '--porcelain')).toBe('');
    expect(existsSync(`${made.worktree}.ended`)).toBe(true);
    expect(JSON.parse((await redis.hget(keys.record(ID), 'git'))!)).toMatchObject({ files_changed: 1 });
    expect(hookSawTheRemoteShell()).toBe(true);
    expect(readFileSync(hits, 'utf8')).toBe('');
    for (const argv of argvs) expect(argv.join(' ')).not.toContain(MARK);
  });

  it('with --commit, between runs (a connection of its own): the message reaches the commit on stdin, in no command line', async () => {
    await leaveWorktreeBetweenRuns({ executorConfig: sshConfig, redis, keys }, ID, request({ commit: true }), made, {
      retentionMs: 60_000,
      note: async (line) => void notes.push(line),
    });
    expect(runGit(made.worktree, 'log', '-1', '--format=%B').trim()).toBe(`Refactor the ${MARK} parser`);
    expect(existsSync(`${made.worktree}.ended`)).toBe(true);
    expect(hookSawTheRemoteShell()).toBe(true);
    expect(readFileSync(hits, 'utf8')).toBe('');
  });
});
