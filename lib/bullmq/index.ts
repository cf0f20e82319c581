// The express-background-tasks/bullmq entry point: re-exports only. bullmq and ioredis are loaded from here, never from the main entry.

export { CloseDeadlineError, EnqueueError } from '../errors.js';
export type { ClusterConnection, ClusterNode, Connection } from './connection.js';
export type { Keep } from './flow.js';
export { JOB_FORMAT_VERSION, type TaskJobData } from './job-data.js';
export type { BullmqRunnerOptions, RunWorkerOptions, WorkerErrorHandler, WorkerTaskInfo } from './options.js';
export { type BullmqRunner, bullmqRunner, type RunnerCloseResult, type RunnerStats } from './runner.js';
export {
  CLOSE_OVERRUN_MS,
  runWorker,
  type TaskWorker,
  type WorkerCloseOptions,
  type WorkerCloseResult,
  type WorkerStats,
} from './worker.js';
