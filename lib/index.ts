// The package's entry point: re-exports only.
export { BackgroundTasks } from './background-tasks.js';
export {
  type Backoff,
  type ConcurrencyOptions,
  type DedupeOptions,
  type DefinedTask,
  defineTask,
  type KeyFunction,
  type RateLimitOptions,
  type TaskDefinition,
  type TaskOptions,
} from './define-task.js';
export {
  type BackgroundTasksErrorCode,
  BackgroundTasksFullError,
  CloseDeadlineError,
  DrainDeadlineError,
  EnqueueError,
  InvalidArgumentError,
  NotInTaskError,
  RetryAfterError,
  TasksNotSettledError,
  TaskTimeoutError,
  TestScopeError,
  ThreadPoolClosedError,
  ThreadPoolCloseTimeoutError,
  ThreadTaskNotFoundError,
} from './errors.js';
export { parseRetryAfter, retryAfter } from './flow/retry-after.js';
export { type BackgroundTasksMiddleware, backgroundTasks } from './middleware.js';
export type {
  BackgroundTasksOptions,
  ErrorHandler,
  HandOff,
  OwnerOf,
  SkipPredicate,
  SkipRequest,
  SkipResponse,
  StatusOptions,
} from './options.js';
export type { Stats, TaskInfo } from './outcomes.js';
export type { ThreadPool, ThreadPoolCloseOptions, ThreadPoolCloseResult, Where } from './place.js';
export type { PlatformWaitUntil } from './platform.js';
export type { EnqueueOptions, FailedQueueJob, QueuedTask, QueueJobCounts, QueueRecord, QueueRunner } from './queue-runner.js';
export type { DrainOptions, DrainResult } from './scheduler.js';
export { type AuthorizeRecord, type TaskStatusRouter, type TaskStatusRouterOptions, taskStatusRouter } from './status-router.js';
export { taskId, taskProgress, taskSignal } from './task-context.js';
export type { TaskState } from './task-events.js';
export type { TaskHandle } from './task-handle.js';
export type { FoundRecord, TaskRecord, TaskRecordError } from './task-record.js';
export type { DeduplicatedContext } from './tracing.js';
