// How one task runs in this process: its attempts, its timeout, the waits between retries, its signal.
import { withDeadline } from './deadline.js';
import { backoffDelay, definitionOf } from './define-task.js';
import { timeoutError } from './errors.js';
import { debug, describeError } from './report.js';
import { type Task, taskName } from './task.js';
import { callInScope, TaskScope } from './task-context.js';

export type Status = 'succeeded' | 'failed' | 'timedOut';

export interface Outcome {
  readonly status: Status;
  readonly error: unknown;
  readonly attempts: number;
}

/** A task between its start and its outcome, as the scheduler tracks it so that drain() can abort it. */
export class RunningTask {
  scope: TaskScope | undefined;
  cancelled = false;
  reason: unknown;
  #wake: (() => void) | undefined;

  /** Aborts the current attempt's signal and forbids further attempts. */
  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.scope?.abort(reason);
    this.#wake?.();
  }

  /** Waits between attempts; cancel() ends the wait early. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }
}

const timeouts = new WeakSet<object>();

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** Settles with the task's promise, or rejects with a TimeoutError (and aborts the signal) at the deadline. */
function withTimeout(result: PromiseLike<unknown>, ms: number, scope: TaskScope, name: string): Promise<unknown> {
  // The timer keeps the process alive, as the task would; after a timeout, the task's late rejection is swallowed.
  return withDeadline(
    result,
    ms,
    () => {
      const error = timeoutError(name, ms);
      timeouts.add(error);
      scope.abort(error);
      return error;
    },
    true,
  );
}

/** One attempt: the task's value, a promise of it, or a synchronous throw. */
function attempt(task: Task, scope: TaskScope, timeout: number): unknown {
  const result = callInScope(scope, task.context, task.fn, task.args);
  if (!isThenable(result) || timeout === Number.POSITIVE_INFINITY) return result;
  return withTimeout(result, timeout, scope, taskName(task.fn));
}

/** Runs a task to its outcome, never rejecting: every failure is returned, to be counted and reported. */
export async function runTask(task: Task, defaultTimeout: number, running: RunningTask): Promise<Outcome> {
  const definition = definitionOf(task.fn);
  const retries = definition?.retries ?? 0;
  const timeout = definition?.timeout ?? defaultTimeout;
  for (let attempts = 1; ; attempts++) {
    const scope = new TaskScope();
    running.scope = scope;
    try {
      await attempt(task, scope, timeout);
      return { status: 'succeeded', error: undefined, attempts };
    } catch (error) {
      const status: Status = timeouts.has(error as object) ? 'timedOut' : 'failed';
      if (attempts > retries || running.cancelled) return { status, error, attempts };
      const wait = backoffDelay(definition?.backoff, attempts);
      if (debug.enabled) {
        const outcome = status === 'timedOut' ? 'timed out' : 'failed';
        debug('task %s attempt %d %s (%s); retrying in %dms', taskName(task.fn), attempts, outcome, describeError(error), wait);
      }
      if (wait > 0) await running.sleep(wait);
      if (running.cancelled) return { status: 'failed', error: running.reason, attempts };
    }
  }
}
