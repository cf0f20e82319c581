// The package's entry point: re-exports only.
export { BackgroundTasks } from './background-tasks.js';
export { type Backoff, type DefinedTask, defineTask, type TaskDefinition, type TaskOptions } from './define-task.js';
export { BackgroundTasksFullError } from './errors.js';
export { type BackgroundTasksMiddleware, backgroundTasks } from './middleware.js';
export type { BackgroundTasksOptions, ErrorHandler, SkipPredicate, TaskInfo } from './options.js';
export type { EnqueueOptions, QueuedTask, QueueRunner } from './queue-runner.js';
export type { DrainOptions, DrainResult, Stats } from './scheduler.js';
export { taskId, taskSignal } from './task-context.js';
