// The express-background-tasks/dashboard entry point: re-exports only.
export type { FailedQueueJob, QueueJobCounts } from '../queue-runner.js';
export type { Authorize, DashboardRequest, DashboardResponse, TasksDashboardOptions } from './options.js';
export { type TasksDashboard, tasksDashboard } from './router.js';
