// The running task's own scope (its AbortSignal, read with taskSignal(); its queue id, read with taskId()) and request-context capture.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

/**
 * One attempt of one task. The AbortController is made only if the task asks for its signal,
 * because most tasks never do and a controller per task is measurable.
 */
export class TaskScope {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now, or when it is first asked for). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** What drain({ timeout }) calls at its deadline: for a single attempt, the same as abort(). */
  cancel(reason: unknown): void {
    this.abort(reason);
  }
}

const scopes = new AsyncLocalStorage<TaskScope>();
/** Set by a queue worker around each job, so that every attempt of the task sees the same id. */
const taskIds = new AsyncLocalStorage<string>();

/** Calls `fn(...args)` with `scope` as the current task, inside the captured request context if any. */
export function callInScope(
  scope: TaskScope,
  context: AsyncResource | undefined,
  fn: (...args: never[]) => unknown,
  args: readonly unknown[],
): unknown {
  if (context === undefined) return scopes.run(scope, fn, ...(args as never[]));
  // Enter our store inside the captured context: entered outside, it would be hidden when that context is restored.
  return context.runInAsyncScope(scopes.run, scopes, scope, fn, ...(args as never[]));
}

/**
 * The AbortSignal of the background task that is running now. It aborts when the task's timeout
 * expires (reason: an Error named 'TimeoutError') or when drain({ timeout }) gives up ('AbortError').
 */
export function taskSignal(): AbortSignal {
  const scope = scopes.getStore();
  if (scope === undefined) {
    throw new Error('taskSignal() was called outside a background task; call it from inside a function passed to addTask()');
  }
  return scope.signal;
}

/** @internal Runs `fn` with `id` as the current queue task's id (a worker does this for each job). */
export function runWithTaskId<R>(id: string, fn: () => R): R {
  return taskIds.run(id, fn);
}

/**
 * The id of the queued task that is running now: the same on every attempt and every redelivery of the job,
 * so it makes a good idempotency key. Undefined for a task run in-process (without a queue runner).
 */
export function taskId(): string | undefined {
  if (scopes.getStore() === undefined) {
    throw new Error('taskId() was called outside a background task; call it from inside a task function');
  }
  return taskIds.getStore();
}

/**
 * Captures the whole current AsyncLocalStorage context, to run a task in it later. A bare AsyncResource does
 * what AsyncLocalStorage.snapshot() does, without the bound function and its defined properties (several
 * times faster per addTask).
 */
export function captureContext(): AsyncResource {
  return new AsyncResource('express-background-tasks');
}
