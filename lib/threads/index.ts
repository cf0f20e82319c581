// The express-background-tasks/threads entry point: re-exports only. piscina is loaded from here, never from the main entry.
export { ThreadPoolClosedError, ThreadTaskNotFoundError } from '../errors.js';
export type { ThreadPool } from '../place.js';
export { TERMINATE_GRACE_MS, type ThreadPoolOptions, threadPool } from './pool.js';
export { transfer } from './transfer.js';
