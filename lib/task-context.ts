// The running task as its own code sees it (taskSignal(), taskId()), and capturing a request's context for a later task.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { invalid, received } from './check.js';
import { NotInTaskError } from './errors.js';
import { taskIdOf } from './task.js';

/** What a task's own code can ask of the task running it: a TaskRun here, or its stand-in on a worker thread. */
export interface TaskScope {
  readonly signal: AbortSignal;
  /** The task's id, or undefined until first asked for (taskId() then makes it, on the task itself). */
  readonly task: { id: string | undefined };
  /** Takes what taskProgress() was told (checked already); a scope that keeps no progress leaves it out. */
  progress?(value: number, message: string | undefined): void;
}

const current = new AsyncLocalStorage<TaskScope>();

/** Calls `fn(...args)` with `run` as the current task, inside the captured request context if any. */
export function callInScope(
  run: TaskScope,
  context: AsyncResource | undefined,
  fn: (...args: never[]) => unknown,
  args: readonly unknown[],
): unknown {
  if (context === undefined) return current.run(run, fn, ...(args as never[]));
  // Enter our store inside the captured context: entered outside, it would be hidden when that context is restored.
  return context.runInAsyncScope(current.run, current, run, fn, ...(args as never[]));
}

function currentRun(caller: string): TaskScope {
  const run = current.getStore();
  if (run === undefined) {
    throw new NotInTaskError(`${caller} was called outside a background task; call it from inside a function passed to addTask()`);
  }
  return run;
}

/**
 * The AbortSignal of the background task that is running now. It aborts when the task's timeout
 * expires (reason: an Error named 'TimeoutError') or when drain({ timeout }) gives up ('AbortError').
 */
export function taskSignal(): AbortSignal {
  return currentRun('taskSignal()').signal;
}

/**
 * The id of the background task that is running now: the handle's id (what addTask returned), the same on every
 * attempt, in a worker thread, and in a queue worker (where it is the job id, the same on every redelivery), so it
 * makes a good idempotency key.
 */
export function taskId(): string {
  return taskIdOf(currentRun('taskId()').task);
}

/**
 * Says how far the background task running now has got: `progress` between 0 and 1, and an optional short message.
 * Kept on the task's status record and shown live; cheap to call often (writes are throttled).
 */
export function taskProgress(progress: number, message?: string): void {
  if (typeof progress !== 'number' || !(progress >= 0 && progress <= 1)) {
    invalid(`taskProgress(progress, message?): argument "progress" must be a number from 0 to 1; received ${received(progress)}`);
  }
  if (message !== undefined && typeof message !== 'string') {
    invalid(`taskProgress(progress, message?): argument "message" must be a string or undefined; received ${received(message)}`);
  }
  currentRun('taskProgress()').progress?.(progress, message);
}

/**
 * Captures the whole current AsyncLocalStorage context, to run a task in it later. A bare AsyncResource does
 * what AsyncLocalStorage.snapshot() does, without the bound function and its defined properties (several
 * times faster per addTask).
 */
export function captureContext(): AsyncResource {
  return new AsyncResource('express-background-tasks');
}
