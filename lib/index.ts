// The package's entry point: re-exports only.
export { BackgroundTasks } from './background-tasks.js';
export { type Backoff, type DefinedTask, defineTask, type TaskDefinition, type TaskOptions } from './define-task.js';
export {
  type BackgroundTasksErrorCode,
  BackgroundTasksFullError,
  CloseDeadlineError,
  DrainDeadlineError,
  EnqueueError,
  InvalidArgumentError,
  NotInTaskError,
  TaskTimeoutError,
  ThreadPoolClosedError,
  ThreadPoolCloseTimeoutError,
  ThreadTaskNotFoundError,
} from './errors.js';
export { type BackgroundTasksMiddleware, backgroundTasks } from './middleware.js';
export type { BackgroundTasksOptions, ErrorHandler, SkipPredicate, SkipRequest, SkipResponse } from './options.js';
export type { Stats, TaskInfo } from './outcomes.js';
export type { ThreadPool, ThreadPoolCloseOptions, ThreadPoolCloseResult, Where } from './place.js';
export type { PlatformWaitUntil } from './platform.js';
export type { EnqueueOptions, QueuedTask, QueueRunner } from './queue-runner.js';
export type { DrainOptions, DrainResult } from './scheduler.js';
export { taskId, taskProgress, taskSignal } from './task-context.js';
export type { TaskState } from './task-events.js';
