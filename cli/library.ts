/**
 * What the commands use of the library, module by module: loading it initialises only these
 * modules and what they import, not all of `src/index.ts` (the worker runtime, the executors,
 * the API client…), which a command's start-up would otherwise pay for.
 */
export { parseConfigText, loadConfig, resolveConfigPath, SAMPLE_CONFIG } from '../src/config.js';
export { requireDuration } from '../src/duration.js';
export { ensureWorkers, resolveCommandRedis, stopBackgroundStack } from '../src/embedded-stack.js';
export { describeError, exitCodeFor, InvalidInputError, isOcaError, UsageError } from '../src/errors.js';
export { isRedisConnectionError } from '../src/redis-connection.js';
export { TaskClient } from '../src/task-client.js';
export { buildClaudePayload, buildShellPayload, parseEnvAssignments } from '../src/task-input.js';
export { TaskRequestSchema } from '../src/task-payload.js';
export { notifierTarget } from '../src/notify/notifier-config.js';
export { resolveTaskNotifiers } from '../src/notify/task-notifiers.js';
export { chooseWorktreeOption } from '../src/git/task-worktree.js';
export { toTaskJson } from '../src/task-record.js';
export { executorJson, formatEndSummary, formatExecutorTable, formatStatusBlock, formatTaskTable } from '../src/task-format.js';
export { isEndedStatus, isTaskStatus, TASK_STATUSES } from '../src/task-status.js';
export { escapeControls, quoteInput } from '../src/zod-issues.js';
export { followLog, readLogTail } from '../src/log-stream.js';
export { TranscriptRenderer } from '../src/claude-transcript.js';
export { continuationOf } from '../src/claude-progress.js';
