// The library's public face: every name a program may import from `openclaw-agent`, listed by module.
export {
  AmbiguousTaskIdError,
  ConfigError,
  describeError,
  type ErrorCode,
  exitCodeFor,
  InvalidInputError,
  isUserFacingError,
  UserFacingError,
  RedisUnreachableError,
  TaskNotFoundError,
  UnknownExecutorError,
  UsageError,
} from './errors.js';
export { escapeControls, quoteInput } from './text/escape.js';
export { DurationSchema, formatDuration, parseDuration, requireDuration } from './config/duration.js';
export {
  type ClaudeCodePayload,
  ClaudeCodePayloadSchema,
  describePayload,
  EXECUTOR_NAME_PATTERN,
  MAX_PRIORITY,
  ON_CONFLICT_POLICIES,
  type OnConflict,
  payloadWorkdir,
  PERMISSION_MODES,
  type PermissionMode,
  type ShellCommandPayload,
  ShellCommandPayloadSchema,
  TASK_TYPE_ICONS,
  type TaskPayload,
  TaskPayloadSchema,
  type TaskRequest,
  TaskRequestSchema,
  type TaskType,
} from './tasks/request.js';
export {
  ACTIVE_STATUSES,
  type ActiveStatus,
  deriveTaskStatus,
  ENDED_STATUSES,
  type EndedStatus,
  isEndedStatus,
  isRunUnderWay,
  isWaitingStatus,
  isTaskStatus,
  type StatusFields,
  TASK_STATUSES,
  type TaskStatus,
} from './tasks/status.js';
export {
  type AttemptSummary,
  checkpointFields,
  CLAUDE_PREFIX,
  claudeFields,
  type ClaudeProgressFields,
  type ExecutorType,
  handleFields,
  initialRecordFields,
  NOTIFIER_PREFIX,
  type NotifierState,
  NotifierStateSchema,
  parseRecordHash,
  type TaskRecord,
  type TaskView,
  toTaskJson,
  type WebhookState,
} from './tasks/record.js';
export { TaskKeys } from './tasks/keys.js';
export {
  type Config,
  ConfigSchema,
  defaultConfigPath,
  type ExecutorConfig,
  ExecutorConfigSchema,
  expandHome,
  findExecutor,
  loadConfig,
  type LoadedConfig,
  parseConfigText,
  resolveConfigPath,
  SAMPLE_CONFIG,
} from './config/config.js';
export { dataDir, spoolRoot } from './config/paths.js';
export { ensureLocalSecret, localSecretPath, readLocalSecret } from './config/local-secret.js';
export { HOST_ID_ENV, resolveHostId } from './executors/local/host-id.js';
export {
  type ConnectOptions,
  connectRedis,
  DEFAULT_REDIS_URL,
  isRedisConnectionError,
  redactRedisUrl,
  type RedisClient,
  resolveRedisUrl,
} from './redis/connection.js';
export {
  buildRedisOptions,
  type ClusterTarget,
  hasHashTag,
  isClusterUrl,
  isSentinelUrl,
  parseClusterUrl,
  parseSentinelUrl,
  type RedisSettings,
  type SentinelTarget,
} from './redis/options.js';
export { type EnqueueInput, type ListFilter, TaskClient } from './tasks/client.js';
export {
  appendSystemLine,
  APPEND_SCRIPT,
  END_TAG,
  type EndMarker,
  followLog,
  type FollowOptions,
  type LogCaps,
  logCapsOf,
  type LogEntry,
  LogWriter,
  type OutputChunk,
  type OutputStream,
  OwnershipLostError,
  readLog,
  readLogEntry,
  readLogTail,
  TaskEndedError,
} from './logs/log-stream.js';
export { finishTask, type TaskEnd } from './tasks/finish.js';
export { forgetExpiredTasks, INDEX_SWEEP_EVERY_MS, sweepExpiredIndexEntries } from './tasks/retention.js';
export { createTaskProcessor, type ProcessorDeps, type TaskResult } from './worker/processor.js';
export {
  executorJson,
  executorServiceJson,
  formatEndSummary,
  formatExecutorTable,
  formatStatusBlock,
  formatTaskTable,
  formatUsd,
  truncate,
} from './tasks/format.js';
export { type ExecutorWorkerOptions, type RunningWorker, startExecutorWorker } from './worker/runtime.js';
export { startWorkerPresence, type WorkerPresenceBeat, type WorkerPresenceOptions } from './worker/worker-presence.js';
export {
  type ExecutorService,
  readExecutorWorkers,
  readServedExecutors,
  type ServedState,
  unservedWarning,
  type WorkerPresence,
} from './tasks/worker-roster.js';
export { buildClaudeArgs, CLAUDE_NESTING_VARIABLES, type ClaudeArgsOptions } from './claude/args.js';
export { completeUtf8Length } from './logs/utf8-boundary.js';
export {
  DetachedError,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  notLaunched,
  OtherHostError,
  resultFromExitCode,
} from './executors/executor.js';
export {
  type HostHeartbeat,
  LocalExecutor,
  type LocalExecutorOptions,
  type LocalHandle,
  terminateGroup,
} from './executors/local/local-executor.js';
export { DEFAULT_REMOTE_SPOOL, SshExecutor } from './executors/ssh/ssh-executor.js';
export { createExecutor } from './executors/create-executor.js';
export { ContainerExecutor } from './executors/container/container-executor.js';
export { type ContainerExit, describeExit } from './executors/container/container-exit.js';
export {
  buildClaudePayload,
  buildShellPayload,
  type ClaudeInput,
  parseEnvAssignments,
  type ShellInput,
} from './tasks/input.js';
export {
  beginAttempt,
  loadTaskRecord,
  unendedTasks,
  markTaskLaunching,
  markTaskStarted,
  recordAttemptEnd,
  recordNewTask,
  setDeliveryField,
} from './tasks/store.js';
export {
  DEFAULT_GRACE_MS,
  readStopOrEnd,
  readStopRequest,
  requestStop,
  type StopKind,
  type StopRequest,
  stopRequestOf,
  StopSwitch,
} from './tasks/stop.js';
export { buildCompletionPayload, completionsDir, writeCompletionRecord } from './notify/completion-record.js';
export {
  cleanupTask,
  type KillResult,
  killTask,
  retryTask,
  waitForIdleExecutor,
  waitForTasks,
  WaitTimeoutError,
} from './tasks/control.js';
export { settleTaskEnd, sweepWaitingTasks } from './tasks/settle.js';
export { applyConflictPolicy, type ConflictOutcome } from './tasks/on-conflict.js';
export {
  addSchedule,
  getSchedule,
  listSchedules,
  nextTick,
  OVERLAP_POLICIES,
  type OverlapPolicy,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  SCHEDULES_QUEUE,
  type ScheduleInput,
  scheduleJson,
  type ScheduleView,
} from './schedules/schedule-store.js';
export { fireSchedule, tickTaskId, type TickResult } from './schedules/schedule-firing.js';
export { generateWebhookSecret, signWebhook, webhookHeaders } from './notify/webhook-signature.js';
export {
  canonicalJson,
  signAnnouncement,
  signSchedule,
  signTaskRequest,
  taskSigningKey,
  UNSIGNED_ANNOUNCEMENT_ERROR,
  UNSIGNED_WEBHOOK_ERROR,
  UNSIGNED_SCHEDULE_ERROR,
  UNSIGNED_TASK_ERROR,
  verifyAnnouncement,
  verifySchedule,
  verifyTaskRequest,
} from './tasks/signing.js';
export {
  deliverWebhook,
  type DeliverWebhookOptions,
  type DeliveryOutcome,
  describeFetchError,
  nextRetryDelayMs,
  parseRetryAfter,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_SCHEDULE_MS,
} from './notify/webhook-delivery.js';
export {
  DELIVERY_QUEUE,
  type DeliveryWorkerOptions,
  type RunningDeliveries,
  startDeliveryWorker,
  webhookSecret,
} from './notify/delivery-worker.js';
export {
  chooseRedisTarget,
  ensureWorkers,
  findCommandRedis,
  findRedisServer,
  freePort,
  MEMORY_SETTINGS,
  type RedisTarget,
  removeStackState,
  resolveCommandRedis,
  runningStackUrl,
  stackPaths,
  type StackState,
  startPrivateStack,
  type StartedRedis,
  startPrivateRedis,
  stopPrivateStack,
  writeStackState,
} from './stack/private-stack.js';
export {
  isProcessAlive,
  isSameProcessAlive,
  readProcessStartTime,
  startTimeOfStatLine,
} from './executors/process-identity.js';
export { ClaudeProgress } from './claude/progress.js';
export { continuationOf, continueTask } from './claude/continuation.js';
export {
  type ClaudeBlock,
  type ClaudeEvent,
  ClaudeLineSplitter,
  type ClaudeLineSplitterOptions,
  type ClaudeResultEvent,
  type ClaudeUsage,
  describeClaudeEvent,
  describeToolUse,
  type DescribeToolUseOptions,
  isFailedResult,
  parseClaudeLine,
  shortenLine,
} from './claude/stream.js';
export { TranscriptRenderer, type TranscriptRendererOptions } from './claude/transcript.js';
export {
  type ApiCreatedTask,
  ApiCreatedTaskSchema,
  type ApiCreateScheduleBody,
  ApiCreateScheduleBodySchema,
  type ApiSchedule,
  ApiScheduleSchema,
  type ApiScheduleTaskBody,
  ApiScheduleTaskBodySchema,
  type ApiCreateTaskBody,
  ApiCreateTaskBodySchema,
  ApiErrorBodySchema,
  type ApiExecutor,
  ApiExecutorSchema,
  type ApiKillResult,
  ApiKillResultSchema,
  type ApiTask,
  ApiTaskListSchema,
  ApiTaskSchema,
  ApiWaitResultSchema,
} from './api/contract.js';
export {
  type ApiClient,
  type ApiClientOptions,
  ApiError,
  type ApiFollowOptions,
  type ApiListQuery,
  type ApiScheduledTaskOptions,
  type ApiScheduleInput,
  type ApiTaskOptions,
  createClient,
} from './api/client.js';
export { readServerSentEvents } from './api/sse.js';
export {
  type CommandNotifier,
  DEFAULT_TOKEN_ENV,
  NO_NOTIFIER,
  NOTIFIER_NAME_PATTERN,
  type NotifierConfig,
  notifierNameProblem,
  NotifierSchema,
  notifierSecretEnv,
  NotifiersSchema,
  notifierTarget,
  type OpenClawNotifier,
  WAKE_RETRY_SCHEDULE_MS,
} from './notify/notifier-config.js';
export {
  buildTaskEndEvent,
  formatWakeText,
  type TaskEndEvent,
  TaskEndEventSchema,
  templateValues,
} from './notify/task-end-event.js';
export { expandTemplate, TEMPLATE_FIELDS, type TemplateField, unknownPlaceholders } from './notify/argv-template.js';
export {
  type AnnouncedRequest,
  buildOutboxEntry,
  webhookUrls,
  isAnnounced,
  type OutboxEntry,
  OutboxEntrySchema,
  taskNotifiers,
} from './notify/outbox-entry.js';
export { postWake, type WakeOutcome, type WakeRequest, wakeUrl } from './notify/openclaw-wake.js';
export { type CommandNotifierOptions, type CommandOutcome, runCommandNotifier } from './notify/command-notifier.js';
export {
  deliverNotification,
  notifierSchedule,
  type NotifyAttempt,
  type NotifyJob,
  NotifyJobSchema,
  pendingNotifierState,
} from './notify/notifier-delivery.js';
export { type NotifyFieldNames, resolveTaskNotifiers } from './notify/task-notifiers.js';
/** @deprecated Earlier names of UserFacingError and isUserFacingError. */
export { UserFacingError as OcaError, isUserFacingError as isOcaError } from './errors.js';
