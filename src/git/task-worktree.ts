// A task's git worktree: what its record says, and making, reading and removing it on the host.
import { z } from 'zod';
import { InvalidInputError, UserFacingError } from '../errors.js';
import { escapeControls } from '../text/escape.js';
import {
  CHANGES_SCRIPT,
  CREATE_SCRIPT,
  INSPECT_SCRIPT,
  markers,
  REMOVE_SCRIPT,
  SWEEP_SCRIPT,
} from './worktree-scripts.js';

// A task in a git worktree of its own: made on the executor's host from the workspace's
// repository before the task starts, on a branch `oca/<short id>` from its base; what it changed
// is counted (and its diff kept) when it ends; `cleanup` and retention remove it.

/** What a script run on an executor's host printed, and its exit code (null: killed). */
export interface ScriptReply {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a POSIX sh script with arguments on an executor's host (locally, or over SSH). */
export interface ScriptRunner {
  /**
   * `input` goes to the script's stdin: text from the task (a commit message from its prompt),
   * which must not be in a command line that every user of the host can read (`ps`).
   */
  runScript(script: string, args: readonly string[], input?: string): Promise<ScriptReply>;
}

/** What the record (and webhook, and API) says of a task's worktree. */
export const TaskGitSchema = z.object({
  /** The repository's top directory on the executor's host. */
  repo: z.string(),
  /** The base as given (`HEAD` unless `--base`), and the commit it was. */
  base: z.string(),
  base_sha: z.string(),
  branch: z.string(),
  worktree: z.string(),
  /** Where in the repository the workspace is (`` for its top, `sub/` …). */
  prefix: z.string(),
  /** At the end: the branch's head and the changes against the base, committed or not. */
  head_sha: z.string().optional(),
  files_changed: z.number().int().optional(),
  insertions: z.number().int().optional(),
  deletions: z.number().int().optional(),
});
export type TaskGit = z.infer<typeof TaskGitSchema>;

/** What a task asks of its worktree. */
export const WorktreeRequestSchema = z.object({
  /** The commit (or ref) the branch starts from. @default "HEAD" of the workspace */
  base: z.string().min(1).max(200).optional(),
  /** Commit what is left uncommitted when the task ends. @default false */
  commit: z.boolean().optional(),
  /** A continued task runs in its predecessor's worktree. */
  existing: TaskGitSchema.optional(),
});
export type WorktreeRequest = z.infer<typeof WorktreeRequestSchema>;

/**
 * The worktree option of `run`/`start` from its three inputs: `worktree` on or off, and `base` and
 * `commit`, which ask for a worktree themselves. `names` spell them as the caller typed them.
 */
export function chooseWorktreeOption(
  input: { worktree?: boolean; base?: string; commit?: boolean },
  names: { worktree: string; off: string; base: string; commit: string },
): boolean | WorktreeRequest | undefined {
  const detail = input.base !== undefined || input.commit === true;
  if (input.worktree === false) {
    if (detail)
      throw new InvalidInputError(
        `${names.base} and ${names.commit} are for a task in a worktree: drop them, or ${names.off}`,
      );
    return false;
  }
  if (input.worktree !== true && !detail) return undefined;
  return { ...(input.base !== undefined ? { base: input.base } : {}), ...(input.commit ? { commit: true } : {}) };
}

/** The branch of a task's worktree. */
export function worktreeBranch(taskId: string): string {
  return `oca/${taskId.slice(0, 8)}`;
}

/** A worktree that could not be made or read: the task fails with this message. */
export class WorktreeError extends UserFacingError {
  constructor(message: string) {
    super('EXECUTOR_FAILED', message);
  }
}

// What each failure marker means, in one line with what to do.
function explain(found: Map<string, string>, workdir: string, base: string, where: string): string | undefined {
  if (found.has('OCA_NO_GIT')) return `git is not installed on ${where}: --worktree needs it`;
  if (found.has('OCA_NO_WORKDIR')) return `working directory ${escapeControls(workdir)} does not exist on ${where}`;
  if (found.has('OCA_NOT_A_REPO'))
    return `${escapeControls(workdir)} on ${where} is not in a git repository: --worktree needs one (git init, or drop --worktree)`;
  if (found.has('OCA_NO_BASE'))
    return `no commit "${escapeControls(base)}" in the repository of ${escapeControls(workdir)} on ${where} — give --base a branch, tag or commit it has`;
  if (found.has('OCA_ERROR'))
    return `git worktree add failed on ${where}: ${escapeControls(found.get('OCA_ERROR') ?? '')}`;
  return undefined;
}

async function run(runner: ScriptRunner, script: string, args: readonly string[], input?: string): Promise<string> {
  const reply = await runner.runScript(script, args, input);
  if (reply.code !== 0) {
    throw new WorktreeError(
      `a git script failed (exit ${reply.code ?? 'signal'}): ${escapeControls(reply.stderr.trim().split('\n').pop() ?? '')}`,
    );
  }
  return reply.stdout;
}

/**
 * Checks, before a task is enqueued, that its workspace is in a git repository with the base:
 * one line that says what is wrong otherwise (InvalidInputError: nothing is enqueued).
 */
export async function inspectWorkspace(
  runner: ScriptRunner,
  workdir: string,
  base: string | undefined,
  where: string,
): Promise<{ repo: string; baseSha: string }> {
  const found = markers(await run(runner, INSPECT_SCRIPT, [workdir, base ?? 'HEAD']));
  const problem = explain(found, workdir, base ?? 'HEAD', where);
  if (problem !== undefined) throw new InvalidInputError(problem);
  return { repo: found.get('OCA_REPO') ?? '', baseSha: found.get('OCA_BASE_SHA') ?? '' };
}

/**
 * Makes a worktree at `path` on `branch` from the base (or finds it, made before: a worker died
 * after making it, or a continued task runs in its predecessor's); throws WorktreeError with the
 * reason.
 */
export async function createTaskWorktree(
  runner: ScriptRunner,
  input: { workdir: string; base?: string; path: string; branch: string },
  where: string,
): Promise<TaskGit> {
  const base = input.base ?? 'HEAD';
  const branch = input.branch;
  const found = markers(await run(runner, CREATE_SCRIPT, [input.workdir, base, input.path, branch]));
  const problem = explain(found, input.workdir, base, where);
  if (problem !== undefined) throw new WorktreeError(problem);
  const worktree = found.get('OCA_WORKTREE');
  if (!worktree) throw new WorktreeError(`git worktree add on ${where} said nothing recognisable`);
  return {
    repo: found.get('OCA_REPO') ?? '',
    base,
    base_sha: found.get('OCA_BASE_SHA') ?? '',
    branch,
    worktree,
    prefix: found.get('OCA_PREFIX') ?? '',
  };
}

/** The directory a task runs in: the same place in its worktree as the workspace in the repository. */
export function worktreeWorkdir(git: TaskGit): string {
  return git.prefix === '' ? git.worktree : `${git.worktree}/${git.prefix.replace(/\/+$/, '')}`;
}

/** Bytes of a task's diff kept at most; past it the diff is cut and says so. */
export const DIFF_MAX_BYTES = 1024 * 1024;

export interface WorktreeChanges {
  git: TaskGit;
  /** The unified diff against the base, cut at DIFF_MAX_BYTES. */
  diff: string;
  truncated: boolean;
  /** `--commit` asked for a commit and git refused it (no identity, a hook …). */
  commitFailed: boolean;
}

/**
 * What a task's worktree holds against its base, committed or not. `commit` commits what is left
 * first (with `message`); `ended` marks the worktree for the retention sweep. Undefined when the
 * worktree is gone. The message (the task's name, or its prompt's first line) goes to the script
 * on stdin, never in its argv; without `commit` it goes nowhere.
 */
export async function readWorktreeChanges(
  runner: ScriptRunner,
  git: TaskGit,
  options: { commit?: boolean; message?: string; ended?: boolean },
): Promise<WorktreeChanges | undefined> {
  const message = options.message?.trim() || 'openclaw-agent task';
  const stdout = await run(
    runner,
    CHANGES_SCRIPT,
    [git.worktree, git.base_sha, options.commit ? '1' : '0', String(DIFF_MAX_BYTES + 1), options.ended ? '1' : '0'],
    options.commit ? `${message}\n` : undefined,
  );
  const split = stdout.indexOf('\nOCA_DIFF\n');
  const head = split === -1 ? stdout : stdout.slice(0, split);
  const found = markers(head);
  if (found.has('OCA_GONE') || !found.has('OCA_HEAD')) return undefined;
  let files = 0;
  let insertions = 0;
  let deletions = 0;
  for (const line of head.split('\n')) {
    const match = /^OCA_NUM (\d+|-)\t(\d+|-)\t/.exec(line);
    if (!match) continue;
    files++;
    insertions += match[1] === '-' ? 0 : Number(match[1]);
    deletions += match[2] === '-' ? 0 : Number(match[2]);
  }
  const body = split === -1 ? '' : stdout.slice(split + '\nOCA_DIFF\n'.length);
  const truncated = Buffer.byteLength(body) > DIFF_MAX_BYTES;
  return {
    git: { ...git, head_sha: found.get('OCA_HEAD'), files_changed: files, insertions, deletions },
    diff: truncated ? body.slice(0, body.lastIndexOf('\n', DIFF_MAX_BYTES) + 1) : body,
    truncated,
    commitFailed: found.has('OCA_COMMIT_FAILED'),
  };
}

/**
 * Removes a task's worktree, and its branch with `deleteBranch`: `removed`, `gone` (already), or
 * `in-use` (a task continuing this one runs in it: left alone).
 */
export async function removeTaskWorktree(
  runner: ScriptRunner,
  git: TaskGit,
  deleteBranch: boolean,
): Promise<'removed' | 'gone' | 'in-use'> {
  const found = markers(await run(runner, REMOVE_SCRIPT, [git.worktree, git.branch, deleteBranch ? '1' : '0']));
  return found.has('OCA_IN_USE') ? 'in-use' : found.has('OCA_REMOVED') ? 'removed' : 'gone';
}

/** Removes the worktrees under `root` whose task ended more than `retentionMs` ago; returns them. */
export async function sweepEndedWorktrees(runner: ScriptRunner, root: string, retentionMs: number): Promise<string[]> {
  const stdout = await run(runner, SWEEP_SCRIPT, [root, String(Math.max(1, Math.round(retentionMs / 60_000)))]);
  return stdout.split('\n').flatMap((line) => (line.startsWith('OCA_SWEPT ') ? [line.slice('OCA_SWEPT '.length)] : []));
}
