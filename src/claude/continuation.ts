// A Claude task that continues an earlier one: `start --continue`, the MCP tool `start`'s
// `continue` and the REST API's `continue` all take the earlier task's session, workspace,
// executor and worktree here.
import { InvalidInputError } from '../errors.js';
import type { TaskGit, WorktreeRequest } from '../git/task-worktree.js';
import type { TaskView } from '../tasks/record.js';
import type { ClaudeCodePayload } from '../tasks/request.js';
import { isEndedStatus } from '../tasks/status.js';

/**
 * What a continuation takes from an earlier task: its executor, workspace and session. Only a
 * task that has ended: one still running (or waiting for its next run) holds its Claude session
 * and its worktree, and two runs resuming one session in one worktree would trample each other
 * (and the first one's end would let `cleanup` remove the worktree under the second).
 */
export function continuationOf(view: TaskView): {
  taskId: string;
  executor: string;
  workspace?: string;
  sessionId: string;
  git?: TaskGit;
} {
  const r = view.record;
  if (r.taskType !== 'claude_code')
    throw new InvalidInputError(`task ${r.id} is a shell command; only Claude tasks can be continued`);
  if (!isEndedStatus(view.status))
    throw new InvalidInputError(
      `task ${r.id} has not ended (${view.status}): wait for it (openclaw-agent wait ${r.id}), then continue it`,
    );
  const sessionId = r.claude?.session_id;
  if (!sessionId)
    throw new InvalidInputError(`task ${r.id} has no Claude session (${view.status}): claude never started in it`);
  return { taskId: r.id, executor: r.executor, workspace: r.workdir, sessionId, git: r.git };
}

/**
 * A new Claude task continuing the ended task `earlier`: its session resumed, in its workspace
 * and on its executor unless `payload` and `executor` name others, and in its worktree unless the
 * caller turned worktrees off (`worktree: false`): then `worktree` is that one, committed at the
 * end if asked (`commit`, or a worktree option carrying it); a new base cannot apply to it.
 */
export function continueTask(
  earlier: TaskView,
  payload: ClaudeCodePayload,
  given: { executor?: string; worktree?: unknown; base?: string; commit?: boolean },
): { payload: ClaudeCodePayload; executor: string; worktree?: WorktreeRequest } {
  const from = continuationOf(earlier);
  const asked =
    typeof given.worktree === 'object' && given.worktree !== null ? (given.worktree as WorktreeRequest) : {};
  const base = given.base ?? asked.base;
  const commit = given.commit === true || asked.commit === true;
  const inTree = from.git !== undefined && given.worktree !== false;
  if (inTree && base !== undefined)
    throw new InvalidInputError(
      `task ${from.taskId} ran in a git worktree, and its continuation goes on in that one: a new base does not apply to it — leave the base out`,
    );
  return {
    payload: {
      ...payload,
      workspace: payload.workspace ?? from.workspace,
      resumeSessionId: from.sessionId,
      continues: from.taskId,
    },
    executor: given.executor ?? from.executor,
    ...(inTree ? { worktree: { existing: from.git, ...(commit ? { commit: true } : {}) } } : {}),
  };
}
