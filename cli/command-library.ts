/**
 * What the commands use of the library, module by module: loading it initialises only these
 * modules and what they import, not all of `src/index.ts` (the worker runtime, the executors,
 * the API client…), which a command's start-up would otherwise pay for.
 */
export {
  parseConfigText,
  loadConfig,
  requireExecutor,
  resolveConfigPath,
  SAMPLE_CONFIG,
} from '../src/config/config.js';
export { requireDuration, requireTime } from '../src/config/duration.js';
export { ensureWorkers, findCommandRedis, resolveCommandRedis, stopPrivateStack } from '../src/stack/private-stack.js';
export { describeError, exitCodeFor, InvalidInputError, isUserFacingError, UsageError } from '../src/errors.js';
export { describeRedisConnectionError, isRedisConnectionError, namedRedisUrl } from '../src/redis/connection.js';
export { TaskClient } from '../src/tasks/client.js';
export { buildClaudePayload, buildShellPayload, parseEnvAssignments } from '../src/tasks/input.js';
export { MAX_PROMPT_BYTES, TaskRequestSchema } from '../src/tasks/request.js';
export { buildTaskRequest, executorCandidates, pipelineOptions } from '../src/tasks/request-check.js';
export { notifierTarget } from '../src/notify/notifier-config.js';
export { resolveTaskNotifiers } from '../src/notify/task-notifiers.js';
export { chooseWorktreeOption } from '../src/git/task-worktree.js';
export { toTaskJson } from '../src/tasks/record.js';
export {
  executorJson,
  executorServiceJson,
  formatEndSummary,
  formatExecutorTable,
  formatStatusBlock,
  formatTaskTable,
} from '../src/tasks/format.js';
export { ACTIVE_STATUSES, isEndedStatus, isTaskStatus, TASK_STATUSES } from '../src/tasks/status.js';
export { escapeControls, quoteInput } from '../src/text/escape.js';
export { ProcessLog } from '../src/text/process-log.js';
export { followLog, readLogTail } from '../src/logs/log-stream.js';
export { TranscriptRenderer } from '../src/claude/transcript.js';
export { continueTask } from '../src/claude/continuation.js';
