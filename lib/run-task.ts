// Runs one task to its outcome: its attempts wherever they run, the timeout, the signal, the waits between retries, cancellation.
import { withDeadline } from './deadline.js';
import { backoffDelay } from './define-task.js';
import { TaskTimeoutError } from './errors.js';
import { retryAfterOf } from './flow/retry-after.js';
import { debug, describeError, printable } from './report.js';
import { type Origin, type Task, taskName } from './task.js';
import { scopes, type TaskTraceContext, taskChannel, taskTraceContext, tracingTasks } from './tracing.js';

export type Status = 'succeeded' | 'failed' | 'timedOut';

/** What a place that relays an attempt's abort elsewhere (a thread) gives onAbort(): an object, so that no closure is made per attempt. */
export interface AbortRelay {
  runAborted(reason: unknown): void;
}

/** Told when a run that went asynchronous has settled (a synchronous outcome is returned by start() instead). */
export interface RunOwner {
  taskSettled(run: TaskRun): void;
  /** Told of each attempt after the first (the run stays running; `run.attempts` has grown). */
  taskRetried?(run: TaskRun): void;
  /** Told what the task's code said with taskProgress(). */
  taskProgressed?(run: TaskRun, value: number, message: string | undefined): void;
}

const NOT_YET: unique symbol = Symbol('not yet');

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/**
 * One task from its start to its outcome, and the scope its code runs in (taskSignal(), taskId()). One object
 * owns the attempts, the timeout, the signal and the hand-off of the outcome, so that a pending task holds little.
 * The AbortController is made only if the task asks for its signal: most never do, and one per task is measurable.
 */
export class TaskRun {
  readonly task: Task;
  readonly origin: Origin;
  /** Called by the owner with what comes next once the outcome is counted (the list's continuation, a job's resolve). */
  readonly resume: (proceed: boolean) => void;
  /** performance.now() at the start, taken only when debug output is on. */
  readonly started: number;
  readonly #owner: RunOwner;
  attempts = 0;
  status: Status = 'succeeded';
  error: unknown;
  /**
   * The successful attempt's value, kept only for a task defined with { result: true }. Declared, not initialized:
   * the other runs (nearly all) then carry no slot for it.
   */
  declare value: unknown;
  #controller: AbortController | undefined;
  /** Why the current attempt's signal aborted. */
  #abortReason: unknown = NOT_YET;
  /** Why the run was cancelled (no further attempt). */
  #cancelReason: unknown = NOT_YET;
  #retryTimer: NodeJS.Timeout | undefined;
  /** @internal Outcomes' list of the runs a deadline cancels (see Outcomes.track()). */
  tracked = false;
  /** @internal */
  previousActive: TaskRun | undefined;
  /** @internal */
  nextActive: TaskRun | undefined;
  /** Told when the current attempt's signal aborts, by a place that relays the abort elsewhere (a thread) without making the signal. */
  #onAbort: AbortRelay | undefined;

  constructor(task: Task, owner: RunOwner, origin: Origin, resume: (proceed: boolean) => void) {
    this.task = task;
    this.#owner = owner;
    this.origin = origin;
    this.resume = resume;
    this.started = debug.enabled ? performance.now() : 0;
  }

  /** The current attempt's signal. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== NOT_YET) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** What the task's code said with taskProgress(): handed to the owner, which keeps it where it keeps progress. */
  progress(value: number, message: string | undefined): void {
    this.#owner.taskProgressed?.(this, value, message);
  }

  get cancelled(): boolean {
    return this.#cancelReason !== NOT_YET;
  }

  /** Aborts the current attempt's signal (now, or when it is first asked for). */
  abort(reason: unknown): void {
    if (this.#abortReason !== NOT_YET) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.runAborted(reason);
  }

  /**
   * Calls `relay.runAborted` once if the current attempt's signal aborts (at once if it has), without making the signal:
   * a thread pool relays the abort to its thread this way. `undefined` stops listening; the next attempt starts without.
   */
  onAbort(relay: AbortRelay | undefined): void {
    this.#onAbort = relay;
    if (relay !== undefined && this.#abortReason !== NOT_YET) relay.runAborted(this.#abortReason);
  }

  /** Aborts the current attempt and forbids further ones; a wait between attempts ends at once. */
  cancel(reason: unknown): void {
    if (this.#cancelReason !== NOT_YET) return;
    this.#cancelReason = reason;
    this.abort(reason);
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#next();
    }
  }

  /**
   * Runs the task. True: it settled synchronously (read `status` and `error`). False: it is still running, and the
   * owner's taskSettled(run) is called once it settles. A synchronous task that succeeds allocates nothing more.
   */
  start(): boolean {
    return this.#attempt(true);
  }

  #attempt(sync: boolean): boolean {
    this.attempts++;
    if (this.attempts > 1) this.#owner.taskRetried?.(this);
    // Nobody listening: a getter read, nothing allocated.
    if (tracingTasks()) return this.#tracedAttempt(sync);
    let result: unknown;
    try {
      result = this.task.policy.place.attempt(this.task, this);
    } catch (error) {
      return this.#failed(error, sync);
    }
    if (!isThenable(result)) return this.#succeeded(result, sync);
    this.#bounded(result).then(
      (value) => this.#succeeded(value, false),
      (error: unknown) => this.#failed(error, false),
    );
    return false;
  }

  #succeeded(value: unknown, sync: boolean): boolean {
    if (this.task.policy.result) this.value = value;
    return this.#settle('succeeded', undefined, sync);
  }

  /**
   * The attempt's outcome as a native promise, bounded by the timeout. Promise.resolve() returns a native promise as
   * it is, and tames a foreign thenable. The timeout's timer keeps the process alive, as the task would; after a
   * timeout, the task's late outcome is ignored.
   */
  #bounded(result: PromiseLike<unknown>): Promise<unknown> {
    const timeout = this.task.policy.timeout;
    return timeout === Number.POSITIVE_INFINITY
      ? Promise.resolve(result)
      : withDeadline(result, timeout, () => this.#timedOut(timeout), true);
  }

  /**
   * An attempt inside the task channels, published in the task's own request context (so that a tracer finds the
   * span that was current at addTask), in TracingChannel's order: start, [error,] end for a synchronous outcome;
   * start, end, then [error,] asyncStart, asyncEnd once a promise settles (or its timeout expires).
   */
  #tracedAttempt(sync: boolean): boolean {
    const task = this.task;
    // A queue worker's task (it knows the queue's earlier attempts) runs in a queue worker, whichever place the worker gives it.
    const queued = task.attemptsBefore !== undefined;
    const where = queued ? 'queue' : task.policy.place.where;
    const trace = taskTraceContext(
      taskName(task),
      (task.attemptsBefore ?? 0) + this.attempts,
      this.origin,
      queued ? task.id : undefined,
      where,
    );
    const context = task.context;
    if (context === undefined) return this.#traced(trace, task, sync);
    // Entered here, the request context must not be entered again by the place: that would hide the stores bound to `start`.
    return context.runInAsyncScope(this.#traced, this, trace, { ...task, context: undefined }, sync);
  }

  #traced(trace: TaskTraceContext, task: Task, sync: boolean): boolean {
    return taskChannel.start.runStores(trace, () => {
      const place = task.policy.place;
      const scope = scopes.attempt;
      let result: unknown;
      try {
        result = scope === undefined ? place.attempt(task, this) : scope(trace, () => place.attempt(task, this));
      } catch (error) {
        trace.error = error;
        taskChannel.error.publish(trace);
        taskChannel.end.publish(trace);
        return this.#failed(error, sync);
      }
      if (!isThenable(result)) {
        taskChannel.end.publish(trace);
        return this.#succeeded(result, sync);
      }
      trace.async = true;
      taskChannel.end.publish(trace);
      this.#bounded(result).then(
        (value) => {
          taskChannel.asyncStart.publish(trace);
          taskChannel.asyncEnd.publish(trace);
          this.#succeeded(value, false);
        },
        (error: unknown) => {
          trace.error = error;
          taskChannel.error.publish(trace);
          taskChannel.asyncStart.publish(trace);
          taskChannel.asyncEnd.publish(trace);
          this.#failed(error, false);
        },
      );
      return false;
    });
  }

  #timedOut(ms: number): TaskTimeoutError {
    const error = new TaskTimeoutError(taskName(this.task), ms);
    this.abort(error);
    return error;
  }

  #failed(error: unknown, sync: boolean): boolean {
    const status: Status = error instanceof TaskTimeoutError ? 'timedOut' : 'failed';
    if (this.attempts > this.task.policy.retries || this.cancelled) return this.#settle(status, error, sync);
    // A task that said when to try again (retryAfter(ms), a 429's Retry-After) waits that long instead of the backoff.
    const wait = retryAfterOf(error) ?? backoffDelay(this.task.policy.backoff, this.attempts);
    if (debug.enabled) {
      const outcome = status === 'timedOut' ? 'timed out' : 'failed';
      debug(
        'task %s attempt %d %s (%s); retrying in %dms',
        printable(taskName(this.task)),
        this.attempts,
        outcome,
        describeError(error),
        wait,
      );
    }
    if (wait > 0) this.#retryTimer = setTimeout(() => this.#next(), wait);
    else queueMicrotask(() => this.#next());
    return false;
  }

  /** The next attempt, with a fresh signal, unless the run was cancelled meanwhile. */
  #next(): void {
    this.#retryTimer = undefined;
    if (this.cancelled) {
      this.#settle('failed', this.#cancelReason, false);
      return;
    }
    this.#controller = undefined;
    this.#abortReason = NOT_YET;
    this.#onAbort = undefined;
    this.#attempt(false);
  }

  #settle(status: Status, error: unknown, sync: boolean): boolean {
    this.status = status;
    this.error = error;
    if (!sync) this.#owner.taskSettled(this);
    return true;
  }
}
