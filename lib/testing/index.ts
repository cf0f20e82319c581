// The express-background-tasks/testing entry point: re-exports only. No test framework is loaded: failures are node:assert AssertionErrors.
export { TasksNotSettledError, TestScopeError } from '../errors.js';
export type { TaskFilter } from './match.js';
export { type RecordedState, type RecordedTask, type RunAllOptions, recordTasks, type TaskRecorder } from './recorder.js';
export { runTask, type TaskResult } from './run-task.js';
export { type SettledOptions, type TaskWatcher, type WatchedTask, watchTasks } from './watcher.js';
