import { describe, expect, it } from 'vitest';
import { continuationOf, continueTask, InvalidInputError, parseRecordHash, type TaskStatus } from '../../src/index.js';

// What `start --continue` (the CLI and the MCP tool `start`) takes from an earlier task, and
// when it refuses: a task still running or waiting for its next run holds its session and worktree.

const ID = '3f2a9c81-0000-4000-8000-000000000001';
const git = {
  repo: '/src/app',
  base: 'HEAD',
  base_sha: 'a'.repeat(40),
  branch: 'oca/3f2a9c81',
  worktree: '/home/u/.local/share/openclaw-agent/worktrees/' + ID,
  prefix: '',
};

function view(status: TaskStatus, fields: Record<string, string> = {}) {
  const record = parseRecordHash({
    id: ID,
    executor: 'crib',
    executor_type: 'local',
    task_type: 'claude_code',
    created_at: '1',
    summary: 'fix it',
    workdir: '/src/app',
    'cc:session_id': 's-1',
    git: JSON.stringify(git),
    ...fields,
  });
  if (!record) throw new Error('the test record does not parse');
  return { record, status };
}

describe('continuationOf', () => {
  it('takes the executor, workspace, session and worktree of a task that ended', () => {
    for (const status of ['completed', 'failed', 'killed', 'timed_out', 'lost'] as const)
      expect(continuationOf(view(status))).toEqual({
        taskId: ID,
        executor: 'crib',
        workspace: '/src/app',
        sessionId: 's-1',
        git: expect.objectContaining({ worktree: git.worktree, branch: git.branch }),
      });
  });

  it('refuses, in one line saying to wait for it, a task that has not ended, even with a session', () => {
    // Running, or queued between runs (waiting for a usage limit or a retry): it has a session
    // and a worktree it goes on using.
    for (const status of ['running', 'queued', 'scheduled', 'blocked'] as const) {
      const attempt = () => continuationOf(view(status));
      expect(attempt).toThrow(InvalidInputError);
      expect(attempt).toThrow(
        `task ${ID} has not ended (${status}): wait for it (openclaw-agent wait ${ID}), then continue it`,
      );
    }
  });

  it('refuses a task that ended before claude started, and a shell command', () => {
    expect(() => continuationOf(view('cancelled', { 'cc:session_id': '' }))).toThrow(
      `task ${ID} has no Claude session (cancelled): claude never started in it`,
    );
    expect(() => continuationOf(view('completed', { task_type: 'shell_command' }))).toThrow(
      `task ${ID} is a shell command; only Claude tasks can be continued`,
    );
  });
});

describe('continueTask', () => {
  const prompt = { type: 'claude_code' as const, prompt: 'and the docs' };

  it('goes on in the earlier worktree, committing there when asked; `worktree: false` runs without one', () => {
    const continued = continueTask(view('completed'), prompt, {});
    expect(continued).toMatchObject({
      executor: 'crib',
      payload: { workspace: '/src/app', resumeSessionId: 's-1', continues: ID },
      worktree: { existing: expect.objectContaining({ worktree: git.worktree }) },
    });
    expect(continued.worktree?.commit).toBeUndefined();
    // A worktree option from the CLI or the API, or MCP's `commit`, keeps its commit.
    expect(continueTask(view('completed'), prompt, { worktree: { commit: true } }).worktree).toMatchObject({
      existing: expect.objectContaining({ branch: git.branch }),
      commit: true,
    });
    expect(continueTask(view('completed'), prompt, { commit: true }).worktree?.commit).toBe(true);
    expect(continueTask(view('completed'), prompt, { worktree: false }).worktree).toBeUndefined();
    expect(continueTask(view('completed', { git: '' }), prompt, { worktree: true }).worktree).toBeUndefined();
  });

  it('refuses a new base for the worktree it goes on in', () => {
    for (const given of [{ base: 'main' }, { worktree: { base: 'main', commit: true } }])
      expect(() => continueTask(view('completed'), prompt, given)).toThrow(
        `task ${ID} ran in a git worktree, and its continuation goes on in that one: a new base does not apply to it — leave the base out`,
      );
  });
});
