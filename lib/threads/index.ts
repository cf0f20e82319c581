// The express-background-tasks/threads entry point: re-exports only. piscina is loaded from here, never from the main entry.
export { ThreadPoolClosedError, ThreadPoolCloseTimeoutError, ThreadTaskNotFoundError } from '../errors.js';
export type { ThreadPool, ThreadPoolCloseOptions, ThreadPoolCloseResult } from '../place.js';
export { TERMINATE_GRACE_MS, type ThreadPoolOptions, threadPool } from './pool.js';
export { transfer } from './transfer.js';
