// App-wide bookkeeping for one middleware: counters, concurrency slots, maxQueued, drain().
import { BackgroundTasksFullError, drainDeadlineError } from './errors.js';
import type { Settings, TaskInfo } from './options.js';
import { debug, describeError, formatMs, pathOf } from './report.js';
import { isThenable, RunningTask, runTask, type Status } from './runner.js';
import { type Origin, type Task, taskName } from './task.js';
import { callInScope, TaskScope } from './task-context.js';
import { definitionOf } from './define-task.js';
import { checkTimeout, checkOptionsObject } from './validate.js';

/** Called with a task's outcome (true: it succeeded) once an asynchronous task has settled. */
export type Resume = (ok: boolean) => void;

/** Counters: `queued` and `running` are now; the rest are totals since the middleware was created. */
export interface Stats {
  /** Tasks added and not yet started, whether or not their response has finished. */
  readonly queued: number;
  /** Tasks (and waitUntil promises) started and not yet settled. */
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly skipped: number;
}

export interface DrainOptions {
  /** Give up after this many ms, aborting the signals of the tasks still running. Default: wait for ever. */
  readonly timeout?: number;
}

export interface DrainResult {
  /** True when nothing was left queued or running. */
  readonly drained: boolean;
  /** Tasks still queued or running when drain() resolved. */
  readonly pending: number;
}

export class Scheduler {
  readonly settings: Settings;
  #queued = 0;
  #running = 0;
  #succeeded = 0;
  #failed = 0;
  #timedOut = 0;
  #skipped = 0;
  #slotsInUse = 0;
  /** Lists waiting for a concurrency slot, in arrival order; a freed slot is handed straight to the first. */
  readonly #slotWaiters: Array<() => void> = [];
  /** What drain({ timeout }) aborts at its deadline: running attempts, and tasks waiting between retries. */
  readonly #active = new Set<RunningTask | TaskScope>();
  #idleWaiters: Array<() => void> = [];

  constructor(settings: Settings) {
    this.settings = settings;
  }

  stats(): Stats {
    return {
      queued: this.#queued,
      running: this.#running,
      succeeded: this.#succeeded,
      failed: this.#failed,
      timedOut: this.#timedOut,
      skipped: this.#skipped,
    };
  }

  /** Counts a new task as queued, or throws when maxQueued is reached: the task is then not accepted. */
  accept(): void {
    if (this.#queued >= this.settings.maxQueued) throw new BackgroundTasksFullError(this.settings.maxQueued);
    this.#queued++;
  }

  /** A queued task that will not run (its response was skipped, or an earlier task failed under stopOnError). */
  skip(task: Task, origin: Origin, why: string): void {
    this.#queued--;
    this.#skipped++;
    if (debug.enabled) debug('task %s skipped (%s %s): %s', taskName(task.fn), origin.method, pathOf(origin.url), why);
    this.#checkIdle();
  }

  /**
   * Runs one queued task in this process once a slot is free, and tells whether it succeeded: returns the
   * outcome of a synchronous task at once, or undefined and calls `resume(ok)` later. A callback rather than
   * a promise: a pending task then holds one promise reaction instead of a chain of promises.
   */
  run(task: Task, origin: Origin, resume: Resume): boolean | undefined {
    if (this.#slotsInUse < this.settings.concurrency) {
      this.#slotsInUse++;
      return this.#start(task, origin, resume);
    }
    this.#slotWaiters.push(() => {
      const ok = this.#start(task, origin, resume);
      if (ok !== undefined) resume(ok);
    });
    return undefined;
  }

  #start(task: Task, origin: Origin, resume: Resume): boolean | undefined {
    this.#queued--;
    this.#running++;
    const started = debug.enabled ? performance.now() : 0;
    if (this.settings.timeout === Number.POSITIVE_INFINITY && definitionOf(task.fn) === undefined) {
      // The common case, one attempt and no timer, skips the runner's async frames: they cost CPU and memory per task.
      const scope = new TaskScope();
      let result: unknown;
      try {
        result = callInScope(scope, task.context, task.fn, task.args);
      } catch (error) {
        return this.#end('failed', error, task, origin, 1, started);
      }
      if (!isThenable(result)) return this.#end('succeeded', undefined, task, origin, 1, started);
      this.#active.add(scope);
      const settle = (status: Status, error: unknown): void => {
        this.#active.delete(scope);
        resume(this.#end(status, error, task, origin, 1, started));
      };
      // Promise.resolve() returns a native promise as it is, and tames a foreign thenable.
      Promise.resolve(result).then(
        () => settle('succeeded', undefined),
        (error: unknown) => settle('failed', error),
      );
      return undefined;
    }
    const running = new RunningTask();
    this.#active.add(running);
    runTask(task, this.settings.timeout, running).then((outcome) => {
      this.#active.delete(running);
      resume(this.#end(outcome.status, outcome.error, task, origin, outcome.attempts, started));
    });
    return undefined;
  }

  #end(status: Status, error: unknown, task: Task, origin: Origin, attempts: number, started: number): boolean {
    this.#releaseSlot();
    this.#settle(status, error, task.fn, origin, attempts, started);
    return status === 'succeeded';
  }

  /** Hands queued tasks to the queue runner; each counts as running while the enqueue is in flight. */
  async enqueue(tasks: readonly Task[], origin: Origin): Promise<boolean> {
    const runner = this.settings.runner!;
    this.#queued -= tasks.length;
    this.#running += tasks.length;
    const started = debug.enabled ? performance.now() : 0;
    let error: unknown;
    let status: Status = 'succeeded';
    try {
      const queued = tasks.map((task) => ({ definition: definitionOf(task.fn)!, args: task.args }));
      await runner.enqueue(queued, { stopOnError: this.settings.stopOnError, timeout: this.settings.timeout, origin });
    } catch (caught) {
      status = 'failed';
      error = caught;
    }
    for (const task of tasks) this.#settle(status, error, task.fn, origin, 1, started);
    return status === 'succeeded';
  }

  /** Watches a promise handed over with waitUntil(): already started, so it counts as running at once. */
  watch(promise: PromiseLike<unknown>, origin: Origin): void {
    this.#running++;
    const started = debug.enabled ? performance.now() : 0;
    Promise.resolve(promise).then(
      () => this.#settle('succeeded', undefined, undefined, origin, 1, started),
      (error: unknown) => this.#settle('failed', error, undefined, origin, 1, started),
    );
  }

  /** Hands a freed slot straight to the first waiting list, on a microtask so that lists never nest in each other's stacks. */
  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next === undefined) this.#slotsInUse--;
    else queueMicrotask(next);
  }

  /** Counts and reports one outcome; `fn` is undefined for a waitUntil promise. Names are worked out only when needed. */
  #settle(status: Status, error: unknown, fn: Task['fn'] | undefined, origin: Origin, attempts: number, started: number): void {
    this.#running--;
    if (status === 'succeeded') this.#succeeded++;
    else if (status === 'failed') this.#failed++;
    else this.#timedOut++;
    if (debug.enabled) {
      const outcome = status === 'timedOut' ? 'timed out' : status;
      debug('task %s %s in %s (%s %s)', nameOf(fn), outcome, formatMs(performance.now() - started), origin.method, pathOf(origin.url));
    }
    if (status !== 'succeeded') this.#report(error, { name: nameOf(fn), method: origin.method, url: origin.url, attempts });
    this.#checkIdle();
  }

  /** Calls onError; an onError that throws or rejects is itself reported, never allowed to crash the process. */
  #report(error: unknown, info: TaskInfo): void {
    try {
      const result: unknown = this.settings.onError(error, info);
      if (result instanceof Promise) result.catch((thrown: unknown) => reportHandlerFailure(thrown, info));
    } catch (thrown) {
      reportHandlerFailure(thrown, info);
    }
  }

  #checkIdle(): void {
    if (this.#queued !== 0 || this.#running !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once nothing is queued or running, counting work added while it waits. With a timeout,
   * resolves at the deadline instead and aborts the signals of the tasks still running.
   */
  drain(options?: DrainOptions): Promise<DrainResult> {
    const raw = checkOptionsObject('drain()', options, ['timeout']);
    const timeout = checkTimeout('drain()', 'timeout', raw.timeout, Number.POSITIVE_INFINITY);
    const pending = (): number => this.#queued + this.#running;
    if (pending() === 0) return Promise.resolve({ drained: true, pending: 0 });
    debug('drain: waiting for %d tasks', pending());
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const idle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        debug('drain: done');
        resolve({ drained: true, pending: 0 });
      };
      this.#idleWaiters.push(idle);
      if (timeout === Number.POSITIVE_INFINITY) return;
      timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((waiter) => waiter !== idle);
        const left = pending();
        debug('drain: deadline of %dms reached with %d tasks pending', timeout, left);
        const reason = drainDeadlineError(timeout);
        for (const running of this.#active) running.cancel(reason);
        resolve({ drained: false, pending: left });
      }, timeout);
    });
  }
}

function nameOf(fn: Task['fn'] | undefined): string {
  return fn === undefined ? 'waitUntil' : taskName(fn);
}

function reportHandlerFailure(thrown: unknown, info: TaskInfo): void {
  console.error(`express-background-tasks: onError threw while reporting task "${info.name}": ${describeError(thrown)}`);
}
