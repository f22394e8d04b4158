// The worker's steps for a worktree task: into its worktree before the run, changes recorded after.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { ExecutorConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import type { Executor } from '../executors/executor.js';
import { resolveHostId } from '../executors/local/host-id.js';
import type { TaskKeys } from '../tasks/keys.js';
import { payloadWorkdir, type TaskPayload, type TaskRequest } from '../tasks/request.js';
import { hostOf, hostRunner, worktreeRoot } from './host-runner.js';
import {
  createTaskWorktree,
  readWorktreeChanges,
  worktreeBranch,
  worktreeWorkdir,
  WorktreeError,
  type ScriptRunner,
  type TaskGit,
} from './task-worktree.js';

// The worker's two steps for a task with a worktree: before its run, the worktree (made once,
// and recorded before anything starts in it); after its run, what it changed (recorded, with the
// diff, before the task ends, so the webhook and every surface carry it).

export interface WorktreeDeps {
  executor: Executor;
  executorConfig: ExecutorConfig;
  redis: Redis | Cluster;
  keys: TaskKeys;
}

/**
 * The request to run: as given, or with its workdir moved into the task's worktree, which is
 * made (or found) first. Throws WorktreeError when it cannot be made: the task fails with it.
 */
export async function enterWorktree(
  deps: WorktreeDeps,
  taskId: string,
  request: TaskRequest,
  recorded: TaskGit | undefined,
): Promise<{ request: TaskRequest; git?: TaskGit }> {
  const wanted = request.worktree;
  if (wanted === undefined) return { request };
  if (deps.executor.runScript === undefined)
    throw new WorktreeError(
      `executor "${deps.executorConfig.name}" cannot make git worktrees (${deps.executorConfig.type})`,
    );
  let git = recorded;
  if (git === undefined) {
    const existing = wanted.existing;
    git = await createTaskWorktree(
      { runScript: deps.executor.runScript.bind(deps.executor) },
      {
        workdir: payloadWorkdir(request.payload) ?? '~',
        base: existing?.base_sha ?? wanted.base,
        path: existing?.worktree ?? `${worktreeRoot(deps.executorConfig)}/${taskId}`,
        branch: existing?.branch ?? worktreeBranch(taskId),
      },
      hostOf(deps.executorConfig),
    );
    // The base as the user named it, not the commit a continued task got it as.
    if (existing) git = { ...git, base: existing.base };
    await deps.redis.hset(deps.keys.record(taskId), 'git', JSON.stringify(git));
  }
  return { request: { ...request, payload: withWorkdir(request.payload, worktreeWorkdir(git)) }, git };
}

/**
 * Counts what the task changed against its base (committing what is left with `--commit`), and
 * records it with the diff; says in the log what went wrong rather than failing the task.
 */
export async function leaveWorktree(
  deps: WorktreeDeps,
  taskId: string,
  request: TaskRequest,
  git: TaskGit,
  options: { retentionMs: number; note(line: string): Promise<void> },
): Promise<void> {
  const runner = worktreeRunner(deps.executor);
  if (runner === undefined) return;
  await recordWorktreeEnd(runner, deps, taskId, request, git, options);
}

/** How long a task that ends between runs waits for its worktree's end step. */
export const WORKTREE_END_LIMIT_MS = 30_000;

/** What the end step between runs needs: from a worker, its executor too. */
export interface BetweenRunsDeps {
  executorConfig: ExecutorConfig;
  redis: Redis | Cluster;
  keys: TaskKeys;
  /** The config's `worker.host_id`: which host a local executor's worktrees are on. */
  configuredHostId?: string;
  /** The worker's executor, to run the step through. @default a runner of the step's own for the executor's host */
  executor?: Executor;
}

/**
 * The same end step for a worktree task that ends between runs (killed while it waited for a
 * retry's backoff or for the usage limit), so that the worktree is marked ended for `cleanup` and
 * the retention sweep, and its changes are recorded. A worker runs it through its `executor`;
 * from outside any worker it runs on the executor's host from here (this host for a local
 * executor, a connection of its own for SSH). A local task whose run was on another host is left
 * to say so: its worktree is out of reach from here. Waited for at most `limitMs` (the task is
 * neither queued nor ended meanwhile): past it the task ends without it, as the log says. Never
 * throws.
 */
export async function leaveWorktreeBetweenRuns(
  deps: BetweenRunsDeps,
  taskId: string,
  request: TaskRequest | undefined,
  git: TaskGit,
  options: {
    recordedHost?: string;
    retentionMs: number;
    note(line: string): Promise<void>;
    /** @default WORKTREE_END_LIMIT_MS */
    limitMs?: number;
  },
): Promise<void> {
  const limitMs = options.limitMs ?? WORKTREE_END_LIMIT_MS;
  const given = new AbortController();
  const left = endBetweenRuns(deps, taskId, request, git, options).then(
    () => true,
    () => true,
  );
  const inTime = await Promise.race([left, sleep(limitMs, false, { signal: given.signal }).catch(() => false)]);
  given.abort();
  if (!inTime)
    await options.note(`the worktree's end step took over ${limitMs / 1000}s; the task ends without waiting for it`);
}

// leaveWorktreeBetweenRuns, unbounded.
async function endBetweenRuns(
  deps: BetweenRunsDeps,
  taskId: string,
  request: TaskRequest | undefined,
  git: TaskGit,
  options: { recordedHost?: string; retentionMs: number; note(line: string): Promise<void> },
): Promise<void> {
  const { executorConfig } = deps;
  if (
    executorConfig.type === 'local' &&
    options.recordedHost &&
    options.recordedHost !== resolveHostId(deps.configuredHostId)
  ) {
    await options.note(
      `the task's worktree ${git.worktree} is on host ${options.recordedHost}, out of reach from here: its changes are not counted and it is not marked ended (remove it there with git worktree remove)`,
    );
    return;
  }
  if (deps.executor) {
    const runner = worktreeRunner(deps.executor);
    if (runner !== undefined) await recordWorktreeEnd(runner, deps, taskId, request, git, options);
    return;
  }
  const runner = hostRunner(executorConfig);
  if (runner === undefined) return;
  try {
    await recordWorktreeEnd(runner, deps, taskId, request, git, options);
  } finally {
    runner.close();
  }
}

// Counts and records the changes, commits first with `--commit`, and marks the worktree ended.
async function recordWorktreeEnd(
  runner: ScriptRunner,
  store: { redis: Redis | Cluster; keys: TaskKeys },
  taskId: string,
  request: TaskRequest | undefined,
  git: TaskGit,
  options: { retentionMs: number; note(line: string): Promise<void> },
): Promise<void> {
  try {
    const commit = request?.worktree?.commit === true;
    // The message is taken from the prompt or command: only for a commit, and never in argv where
    // the runner can give the script stdin.
    const changes = await readWorktreeChanges(runner, git, {
      commit,
      ...(commit && request ? { message: commitMessage(request) } : {}),
      ended: true,
    });
    if (changes === undefined)
      return await options.note(`the task's worktree ${git.worktree} is gone: no changes counted`);
    if (changes.commitFailed)
      await options.note(
        '--commit: git refused the commit (see `git -C <worktree> commit`); the changes stay uncommitted',
      );
    const ttl = Math.max(1, Math.ceil(options.retentionMs / 1000));
    const diff = changes.truncated
      ? `${changes.diff}[openclaw-agent] the diff is cut here at 1 MiB: see the branch ${git.branch} for the rest\n`
      : changes.diff;
    await store.redis
      .multi()
      .hset(store.keys.record(taskId), 'git', JSON.stringify(changes.git))
      .set(store.keys.diff(taskId), diff, 'EX', ttl)
      .exec();
  } catch (error) {
    await options.note(`could not read the task's worktree changes: ${describeError(error)}`);
  }
}

// How the end step runs its script on the executor's host: through the executor.
function worktreeRunner(executor: Executor): ScriptRunner | undefined {
  return executor.runScript ? { runScript: executor.runScript.bind(executor) } : undefined;
}

// A commit message from the task: its name, else the first line of its command or prompt.
function commitMessage(request: TaskRequest): string {
  const source =
    request.name ??
    (request.payload.type === 'claude_code'
      ? request.payload.prompt
      : [request.payload.command, ...request.payload.args].join(' '));
  const line = source.trim().split('\n')[0] ?? '';
  return line.length > 72 ? `${line.slice(0, 71)}…` : line || 'openclaw-agent task';
}

function withWorkdir(payload: TaskPayload, workdir: string): TaskPayload {
  return payload.type === 'claude_code' ? { ...payload, workspace: workdir } : { ...payload, workingDir: workdir };
}
