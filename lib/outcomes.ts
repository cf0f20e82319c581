// Counting and reporting outcomes, for the middleware and the queue worker alike: counters, onError, the default line, deadlines.
import { settlesWithin } from './deadline.js';
import type { Where } from './place.js';
import { causesOf, debug, describeError, escapeControls, formatMs, isError, printable, printablePath, warn } from './report.js';
import type { Status, TaskRun } from './run-task.js';

/** What onError learns about the task that failed (never its arguments). */
export interface TaskInfo {
  /** The task's defineTask name, its function's name, or 'anonymous' ('waitUntil' for waitUntil promises). */
  readonly name: string;
  /** The method of the request the task was added during. */
  readonly method: string;
  /** That request's `originalUrl`, query string included: mind what you log. */
  readonly url: string;
  /** How many attempts were made (1 unless the task was defined with retries). */
  readonly attempts: number;
  /** Where the task ran: this process's event loop, a worker thread, or a queue (for a failed hand-off: where it was going). */
  readonly where: Where;
}

/** The fields a report may carry beyond TaskInfo (a queue worker's job id). */
interface ReportedInfo extends TaskInfo {
  readonly taskId?: string;
}

/** A call site captured with Error.captureStackTrace(): V8 formats its `stack` only when it is first read. */
export interface CallSite {
  readonly stack?: string;
}

/** The marker of the addTask call site in a reported error's stack (captureCallSite). */
export const CALL_SITE_HEADER = '    --- addTask() call site ---';

/** Counters: `queued` and `running` are now; the rest are totals since the middleware was created. */
export interface Stats {
  /** Tasks added and not yet started, whether or not their response has finished (with a queue runner: not yet stored in the queue). */
  readonly queued: number;
  /** Tasks (and waitUntil promises) started and not yet settled. */
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly skipped: number;
  /** Adds that added nothing: dropped onto a task of the same name and dedupe key, or folded into a pending debounced one. */
  readonly deduplicated: number;
}

/**
 * The default onError: one line naming the task, its origin (and job) and the error, then the error's stack and its
 * `cause` chain; never its arguments or the query string. Names are printed escaped; it never throws.
 */
export function logTaskError(error: unknown, info: ReportedInfo): void {
  const attempts = typeof info.attempts === 'number' && info.attempts > 1 ? ` after ${info.attempts} attempts` : '';
  const job = info.taskId === undefined ? '' : `job ${printable(info.taskId)}, from `;
  const origin = `${job}${printable(info.method)} ${printablePath(info.url)}`;
  warn(`task "${printable(info.name)}" (${origin}) failed${attempts}: ${describeError(error)}${stackOf(error)}${causesOf(error)}`);
}

/**
 * The frames of an error's stack, each on its own line indented by four spaces (the header, already said in the first
 * line, left out), or '' when it has none. A stack holds code locations and the error's message, never arguments.
 */
export function stackOf(error: unknown): string {
  let stack: unknown;
  try {
    if (!isError(error)) return '';
    stack = error.stack;
  } catch {
    return ''; // a throwing getter (prepareStackTrace gone wrong), or a Proxy's trap: the first line is all there is
  }
  if (typeof stack !== 'string') return '';
  const lines = stack.split('\n');
  // The header ("Name: message", possibly over several lines) runs until the first frame or the call site marker.
  let first = lines.findIndex((line) => /^\s+at /.test(line) || line === CALL_SITE_HEADER);
  if (first === -1) first = lines.length;
  return lines
    .slice(first)
    .map((line) => `\n    ${escapeControls(line.trim())}`)
    .join('');
}

/**
 * Appends the addTask call site to a failed task's error, once, so that every reporter (this line, Sentry, pino)
 * shows the route that added the task below the error's own frames. Errors whose stack cannot be written are left alone.
 */
export function appendCallSite(error: unknown, callSite: CallSite): void {
  if (!(error instanceof Error)) return;
  try {
    const stack = error.stack;
    const site = callSite.stack;
    if (typeof stack !== 'string' || typeof site !== 'string' || stack.includes(CALL_SITE_HEADER)) return;
    // The captured header is a bare "Error": keep its frames only.
    const frames = site.slice(site.indexOf('\n') + 1);
    error.stack = `${stack}\n${CALL_SITE_HEADER}\n${frames}`;
  } catch {
    // a frozen error, or a stack getter without a setter
  }
}

/**
 * One owner's counters and reports. `queued` counts accepted tasks not yet started, `running` those started and not
 * yet settled; an outcome is counted once per task. onError is called for every failure, and one that throws or
 * rejects is itself reported, never allowed to crash the process.
 */
export class Outcomes<I extends ReportedInfo> {
  queued = 0;
  running = 0;
  succeeded = 0;
  failed = 0;
  timedOut = 0;
  skipped = 0;
  deduplicated = 0;
  readonly #onError: (error: unknown, info: I) => void;
  /**
   * What a deadline cancels: runs that went asynchronous and have not settled, as a list threaded through the runs
   * themselves (a Set that goes from 0 to 1 entry and back on every request reallocates its table each time).
   */
  #first: TaskRun | undefined;
  #last: TaskRun | undefined;
  #activeCount = 0;
  /** A Set, so that a drain that timed out takes its waiter off at once. */
  #idleWaiters = new Set<() => void>();

  constructor(onError: ((error: unknown, info: I) => void) | undefined) {
    this.#onError = onError ?? logTaskError;
  }

  stats(): Stats {
    const { queued, running, succeeded, failed, timedOut, skipped, deduplicated } = this;
    return { queued, running, succeeded, failed, timedOut, skipped, deduplicated };
  }

  get pending(): number {
    return this.queued + this.running;
  }

  /** `count` tasks start: they leave `queued` (when they were counted there) for `running`. */
  started(count: number, fromQueue: boolean): void {
    if (fromQueue) this.queued -= count;
    this.running += count;
  }

  /** `count` tasks stopped running; their outcomes are recorded apart (a queue worker counts only final attempts). */
  stopped(count: number): void {
    this.running -= count;
    this.#checkIdle();
  }

  /**
   * Counts an outcome, writes its debug line and reports a failure. `info` is needed for failures, and for
   * successes only while debug output is on: callers build it only then. `said` replaces the status in the debug
   * line (a task handed to a queue is 'enqueued', not 'succeeded').
   */
  record(status: Status, error: unknown, info: I | undefined, started: number, said?: string): void {
    if (status === 'succeeded') this.succeeded++;
    else if (status === 'failed') this.failed++;
    else this.timedOut++;
    if (info === undefined) return;
    if (debug.enabled) {
      const outcome = said ?? (status === 'timedOut' ? 'timed out' : status);
      const job = info.taskId === undefined ? '' : `job ${printable(info.taskId)}, `;
      const took = formatMs(performance.now() - started);
      debug('task %s %s in %s (%s%s %s)', printable(info.name), outcome, took, job, printable(info.method), printablePath(info.url));
    }
    if (status !== 'succeeded') this.#report(error, info);
  }

  /** A task that will not run: counted, and said in the debug output with why. */
  skip(fromQueue: boolean, name: string, where: string, why: string): void {
    if (fromQueue) this.queued--;
    this.skipped++;
    if (debug.enabled) debug('task %s skipped (%s): %s', printable(name), printable(where), why);
    this.#checkIdle();
  }

  #report(error: unknown, info: I): void {
    try {
      const result: unknown = this.#onError(error, info);
      if (result instanceof Promise) result.catch((thrown: unknown) => handlerFailed(thrown, info));
    } catch (thrown) {
      handlerFailed(thrown, info);
    }
  }

  track(run: TaskRun): void {
    if (run.tracked) return;
    run.tracked = true;
    run.previousActive = this.#last;
    run.nextActive = undefined;
    if (this.#last === undefined) this.#first = run;
    else this.#last.nextActive = run;
    this.#last = run;
    this.#activeCount++;
  }

  untrack(run: TaskRun): void {
    if (!run.tracked) return;
    run.tracked = false;
    const { previousActive, nextActive } = run;
    if (previousActive === undefined) this.#first = nextActive;
    else previousActive.nextActive = nextActive;
    if (nextActive === undefined) this.#last = previousActive;
    else nextActive.previousActive = previousActive;
    run.previousActive = undefined;
    run.nextActive = undefined;
    this.#activeCount--;
  }

  /**
   * Waits for `work` until `timeout` ms; past it, cancels every tracked run with `reason(timeout)` (their signals
   * abort, and none tries again). Resolves true when `work` settled in time. drain() and a worker's close() share it.
   */
  async settleBy(work: PromiseLike<unknown>, timeout: number, reason: (ms: number) => Error): Promise<boolean> {
    if (await settlesWithin(work, timeout)) return true;
    const error = reason(timeout);
    // A cancel may settle its run at once (untracked meanwhile): read the next one first. Runs tracked during the
    // loop are appended, so they are cancelled too.
    let run = this.#first;
    while (run !== undefined) {
      const next = run.nextActive;
      run.cancel(error);
      run = run.tracked ? run.nextActive : next;
    }
    return false;
  }

  /** How many runs a deadline would cancel now. */
  get active(): number {
    return this.#activeCount;
  }

  /**
   * settleBy() on being idle: resolves true once nothing is queued or running, or false at the deadline (cancelling as
   * settleBy does). A waiter that timed out is taken off the list, so that drains that timed out keep nothing while a
   * task still runs.
   */
  idleBy(timeout: number, reason: (ms: number) => Error): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    let wake!: () => void;
    const idle = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.#idleWaiters.add(wake);
    return this.settleBy(idle, timeout, reason).then((drained) => {
      if (!drained) this.#idleWaiters.delete(wake);
      return drained;
    });
  }

  /** Resolves once nothing is queued or running, counting work added while it waits. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #checkIdle(): void {
    if (this.pending !== 0 || this.#idleWaiters.size === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = new Set();
    for (const wake of waiters) wake();
  }
}

function handlerFailed(thrown: unknown, info: ReportedInfo): void {
  warn(`onError threw while reporting task "${printable(info.name)}": ${describeError(thrown)}`);
}
