// Errors the package throws at its callers, so that apps can tell them apart with instanceof.

/**
 * Thrown by `addTask` when accepting the task would make more tasks wait than the
 * `maxQueued` option allows. Carries `status`/`statusCode` 503 and `expose: true`,
 * so Express's error handling (and http-errors aware handlers) answer 503.
 */
export class BackgroundTasksFullError extends Error {
  override readonly name = 'BackgroundTasksFullError';
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  /** The `maxQueued` limit that was reached. */
  readonly maxQueued: number;

  constructor(maxQueued: number) {
    super(`Too many background tasks are waiting (maxQueued is ${maxQueued}); try again later`);
    this.maxQueued = maxQueued;
  }
}

/** Builds the error a task's signal aborts with when its `timeout` expires. */
export function timeoutError(taskName: string, ms: number): Error {
  const error = new Error(`Background task "${taskName}" timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

/** Builds the error the running tasks' signals abort with when `drain({ timeout })` gives up. */
export function drainDeadlineError(ms: number): Error {
  const error = new Error(`Background tasks drain deadline of ${ms} ms reached`);
  error.name = 'AbortError';
  return error;
}
