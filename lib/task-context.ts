// The running task's own scope (its AbortSignal, read with taskSignal()) and request-context capture.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ContextRunner } from './task.js';

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

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

const scopes = new AsyncLocalStorage<TaskScope>();

/** Calls `fn(...args)` with `scope` as the current task, inside the captured request context if any. */
export function callInScope(scope: TaskScope, context: ContextRunner | undefined, fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
  if (context === undefined) return scopes.run(scope, fn, ...(args as never[]));
  // Enter our store inside the snapshot: entering it outside would be hidden when the snapshot restores its context.
  return context(() => scopes.run(scope, fn, ...(args as never[])));
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

/** Captures the whole current AsyncLocalStorage context, to run a task in it later. */
export function captureContext(): ContextRunner {
  return AsyncLocalStorage.snapshot() as ContextRunner;
}
