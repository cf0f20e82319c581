// Every error the package throws or aborts with: one class each, each with a stable `code` to match on.

/** The codes below, for `switch (error.code)`. */
export type BackgroundTasksErrorCode =
  | 'ERR_BACKGROUND_TASKS_INVALID_ARGUMENT'
  | 'ERR_BACKGROUND_TASKS_FULL'
  | 'ERR_BACKGROUND_TASKS_TIMEOUT'
  | 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE'
  | 'ERR_BACKGROUND_TASKS_CLOSE_DEADLINE'
  | 'ERR_BACKGROUND_TASKS_ENQUEUE'
  | 'ERR_BACKGROUND_TASKS_NOT_IN_TASK'
  | 'ERR_BACKGROUND_TASKS_THREADS_CLOSED'
  | 'ERR_BACKGROUND_TASKS_THREAD_TASK_NOT_FOUND'
  | 'ERR_BACKGROUND_TASKS_RETRY_AFTER'
  | 'ERR_BACKGROUND_TASKS_NOT_SETTLED'
  | 'ERR_BACKGROUND_TASKS_TEST_SCOPE';

/**
 * A bad option or argument. Still a `TypeError` (and named so), as callers of an API expect for bad input;
 * the message names the option or argument and says how to fix it.
 */
export class InvalidArgumentError extends TypeError {
  readonly code = 'ERR_BACKGROUND_TASKS_INVALID_ARGUMENT';
  override readonly name = 'TypeError';
}

/**
 * Thrown by `addTask` when accepting the task would make more tasks wait than the
 * `maxQueued` option allows. Carries `status`/`statusCode` 503 and `expose: true`,
 * so Express's error handling (and http-errors aware handlers) answer 503.
 */
export class BackgroundTasksFullError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_FULL';
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

/**
 * What a task's signal aborts with when its `timeout` expires, and what `onError` receives. Named
 * 'TimeoutError' like the DOM's; `instanceof TaskTimeoutError` tells it from a task's own TimeoutError.
 */
export class TaskTimeoutError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_TIMEOUT';
  override readonly name = 'TimeoutError';
  /** The timeout that expired, in ms. */
  readonly timeout: number;

  constructor(taskName: string, ms: number, message = `Background task "${taskName}" timed out after ${ms} ms`) {
    super(message);
    this.timeout = ms;
  }
}

/**
 * What a thread task still running (or waiting for a thread) at `threadPool().close({ timeout })`'s deadline ends
 * with: its thread is terminated, and it counts as timed out (a `TaskTimeoutError`, with that code and name).
 */
export class ThreadPoolCloseTimeoutError extends TaskTimeoutError {
  constructor(taskName: string, ms: number) {
    super(
      taskName,
      ms,
      `Thread task "${taskName}" was stopped by threadPool().close(): its deadline of ${ms} ms was reached, and its thread terminated`,
    );
  }
}

/** What the running tasks' signals abort with when `drain({ timeout })` gives up. Named 'AbortError' like the DOM's. */
export class DrainDeadlineError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE';
  override readonly name = 'AbortError';

  constructor(ms: number) {
    super(`Background tasks drain deadline of ${ms} ms reached`);
  }
}

/** What a queue worker's running tasks' signals abort with when `close({ timeout })` gives up. Named 'AbortError'. */
export class CloseDeadlineError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_CLOSE_DEADLINE';
  override readonly name = 'AbortError';

  constructor(ms: number) {
    super(`Worker closing: the close() deadline of ${ms} ms was reached; the job goes back to the queue`);
  }
}

/**
 * A list of tasks was never stored in the queue: given up because the runner was closed, or drain() reached its
 * deadline, while it was still held in memory (the message says which); `cause` holds Redis's or BullMQ's last error.
 */
export class EnqueueError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_ENQUEUE';
  override readonly name = 'EnqueueError';
}

/** taskSignal() or taskId() was called outside a background task. */
export class NotInTaskError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_NOT_IN_TASK';
  override readonly name = 'Error';
}

/** A thread task was started after its pool's close(). */
export class ThreadPoolClosedError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_THREADS_CLOSED';
  override readonly name = 'ThreadPoolClosedError';

  constructor(taskName: string) {
    super(`Thread task "${taskName}" cannot start: its thread pool was closed (threadPool().close())`);
  }
}

/** The thread pool's tasks module does not export a defineTask() task of that name (or could not be loaded). */
export class ThreadTaskNotFoundError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_THREAD_TASK_NOT_FOUND';
  override readonly name = 'ThreadTaskNotFoundError';
}

/**
 * The test kit's watchTasks().settled({ timeout }) reached its timeout (or the watcher was restored) with tasks still
 * pending; `pending` lists them (name, state, request), and so does the message.
 */
export class TasksNotSettledError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_NOT_SETTLED';
  override readonly name = 'TasksNotSettledError';
  /** The tasks still queued or running, as watchTasks().added() shows them. */
  readonly pending: readonly unknown[];

  constructor(message: string, pending: readonly unknown[]) {
    super(message);
    this.pending = pending;
  }
}

/** The test kit's recordTasks() or watchTasks() was called while another of them is active (not yet restored). */
export class TestScopeError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_TEST_SCOPE';
  override readonly name = 'TestScopeError';
}

/**
 * Thrown by a task (usually through `retryAfter(ms)`) to say "try again in `retryAfter` ms", as a 429 or 503 with a
 * Retry-After header does: the attempt counts, the next one waits this long instead of the backoff, within `retries`.
 */
export class RetryAfterError extends Error {
  readonly code = 'ERR_BACKGROUND_TASKS_RETRY_AFTER';
  override readonly name = 'RetryAfterError';
  /** How long to wait before the next attempt, in ms. */
  readonly retryAfter: number;

  constructor(ms: number, message?: string) {
    super(message ?? `The task asked to be retried after ${ms} ms`);
    this.retryAfter = ms;
  }
}
