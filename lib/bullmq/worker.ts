// runWorker(): runs a queue's jobs with the tasks given (BullMQ does the retries), reports outcomes, closes without hanging.
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { definitionOf } from '../define-task.js';
import { debug, describeError, formatMs } from '../report.js';
import { RunningTask, runTask } from '../runner.js';
import type { Task } from '../task.js';
import { runWithTaskId } from '../task-context.js';
import { checkOptionsObject, checkTimeout } from '../validate.js';
import { bullmqConnection } from './connection.js';
import { settlesWithin } from '../deadline.js';
import { readTaskJobData } from './job-data.js';
import { parseWorkerOptions, type RunWorkerOptions, type WorkerSettings, type WorkerTaskInfo } from './options.js';

/** Counters since the worker started; `running` is now. */
export interface WorkerStats {
  readonly running: number;
  readonly succeeded: number;
  /** Tasks that failed for good (after their last attempt), timeouts excluded. */
  readonly failed: number;
  /** Tasks whose last attempt timed out. */
  readonly timedOut: number;
  /** Tasks not run because an earlier task of their list failed under stopOnError. */
  readonly skipped: number;
}

export interface WorkerCloseOptions {
  /** How long to wait for the jobs in flight, in ms (default 10000; Infinity waits for ever). */
  readonly timeout?: number;
}

export interface WorkerCloseResult {
  /** True when every job in flight finished and the worker closed within the timeout. */
  readonly drained: boolean;
  /** Jobs still running at the deadline: their signals were aborted and BullMQ will deliver them again. */
  readonly abandoned: number;
}

export interface TaskWorker {
  /** The BullMQ Worker, for its events ('completed', 'failed', ...) and its other controls. */
  readonly worker: Worker;
  stats(): WorkerStats;
  /**
   * Stops taking jobs and waits for those in flight. At the deadline their signals abort; a task that gives up
   * hands its job back to the queue (no attempt counted), and one that does not is left to BullMQ's stalled-job check.
   * Never hangs, even when Redis is gone (then BullMQ's fetch loop may still hold the process for its drainDelay + 1 s).
   */
  close(options?: WorkerCloseOptions): Promise<WorkerCloseResult>;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** After the deadline, how long tasks that heed their signal get to hand their jobs back. */
const HANDBACK_GRACE_MS = 1000;
/** Each step of stopping a stuck BullMQ worker; they are local and quick unless Redis is gone, when they never end. */
const STOP_STEP_BOUND_MS = 300;

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(describeError(thrown));
}

function closingError(ms: number): Error {
  const error = new Error(`Worker closing: the close() deadline of ${ms} ms was reached; the job goes back to the queue`);
  error.name = 'AbortError';
  return error;
}

/** The default onError: one line with the task's name, id and origin; never its arguments. */
function logWorkerError(error: unknown, info: WorkerTaskInfo): void {
  const attempts = info.attempts > 1 ? ` after ${info.attempts} attempts` : '';
  console.error(
    `express-background-tasks: task "${info.name}" (job ${info.taskId}, from ${info.method} ${info.url}) failed${attempts}: ${describeError(error)}`,
  );
}

/** The task as runTask() should see it: a plain function under the task's name, so that BullMQ, not runTask, retries. */
function singleAttempt(task: WorkerSettings['tasks'] extends ReadonlyMap<string, infer T> ? T : never, name: string): Task['fn'] {
  const fn = (...args: never[]): unknown => task(...args);
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

class QueueWorker implements TaskWorker {
  readonly worker: Worker;
  readonly #settings: WorkerSettings;
  readonly #fns = new Map<string, Task['fn']>();
  readonly #active = new Set<RunningTask>();
  /** Errors thrown because an attempt timed out (as opposed to a task's own TimeoutError). */
  readonly #timeouts = new WeakSet<object>();
  #running = 0;
  #succeeded = 0;
  #failed = 0;
  #timedOut = 0;
  #skipped = 0;
  #lastLogged = '';
  #closing: Promise<WorkerCloseResult> | undefined;

  constructor(settings: WorkerSettings) {
    this.#settings = settings;
    for (const [name, task] of settings.tasks) this.#fns.set(name, singleAttempt(task, name));
    this.worker = new Worker(settings.queueName, (job, token) => this.#process(job, token), {
      connection: bullmqConnection(settings.connection),
      concurrency: settings.concurrency,
      ...(settings.prefix === undefined ? {} : { prefix: settings.prefix }),
    });
    this.worker.on('error', (error) => this.#connectionTrouble(error));
    this.worker.on('active', (job) => {
      this.#lastLogged = '';
      if (debug.enabled) debug('task %s (job %s) attempt %d started', job.name, job.id, job.attemptsMade + 1);
    });
    this.worker.on('completed', (job) => {
      this.#succeeded++;
      if (debug.enabled)
        debug('task %s (job %s) succeeded in %s', job.name, job.id, formatMs(Date.now() - (job.processedOn ?? Date.now())));
    });
    this.worker.on('failed', (job, error) => this.#failedAttempt(job, error));
  }

  async #process(job: Job, token: string | undefined): Promise<null> {
    const data = readTaskJobData(job.data);
    if (typeof data === 'string') throw new UnrecoverableError(`Job ${job.id} of task "${job.name}" cannot be run: ${data}`);
    const task = this.#settings.tasks.get(job.name);
    const fn = this.#fns.get(job.name);
    if (task === undefined || fn === undefined) {
      const known = [...this.#settings.tasks.keys()].map((name) => `"${name}"`).join(', ');
      throw new UnrecoverableError(
        `Unknown task "${job.name}" in queue "${this.#settings.queueName}": this worker runs only ${known}; ` +
          'start it with the defineTask() of that name in its tasks option',
      );
    }
    const timeout = definitionOf(task)?.timeout ?? data.timeout ?? Number.POSITIVE_INFINITY;
    const running = new RunningTask();
    this.#active.add(running);
    this.#running++;
    try {
      const outcome = await runWithTaskId(data.id, () => runTask({ fn, args: data.args, context: undefined }, timeout, running));
      if (outcome.status === 'succeeded') return null; // no return value: it would be stored in Redis
      if (running.cancelled && token !== undefined) {
        // Stopped by close(): back to the queue as if never taken, without using up an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const error = asError(outcome.error);
      if (outcome.status === 'timedOut') this.#timeouts.add(error);
      throw error;
    } finally {
      this.#active.delete(running);
      this.#running--;
    }
  }

  #failedAttempt(job: Job | undefined, error: Error): void {
    if (job === undefined) {
      debug('queue %s: a job failed: %s', this.#settings.queueName, describeError(error));
      return;
    }
    if (job.deferredFailure !== undefined) {
      this.#skipped++;
      if (debug.enabled) debug('task %s (job %s) skipped: an earlier task of its list failed and stopOnError is set', job.name, job.id);
      return;
    }
    if (typeof job.finishedOn !== 'number') {
      if (debug.enabled) {
        debug(
          'task %s (job %s) attempt %d failed (%s); BullMQ retries it in %dms',
          job.name,
          job.id,
          job.attemptsMade,
          describeError(error),
          job.delay,
        );
      }
      return;
    }
    const timedOut = this.#timeouts.has(error);
    if (timedOut) this.#timedOut++;
    else this.#failed++;
    if (debug.enabled)
      debug('task %s (job %s) %s after %d attempts', job.name, job.id, timedOut ? 'timed out' : 'failed', job.attemptsMade);
    const data = readTaskJobData(job.data);
    const info: WorkerTaskInfo = {
      name: job.name,
      taskId: typeof data === 'string' ? String(job.id) : data.id,
      method: typeof data === 'string' ? '' : data.method,
      url: typeof data === 'string' ? '' : data.path,
      attempts: job.attemptsMade,
      queueName: this.#settings.queueName,
    };
    this.#report(error, info);
  }

  /** Calls onError; one that throws or rejects is itself reported, never allowed to crash the worker. */
  #report(error: unknown, info: WorkerTaskInfo): void {
    const onError = this.#settings.onError ?? logWorkerError;
    const handlerFailed = (thrown: unknown): void =>
      console.error(`express-background-tasks: onError threw while reporting task "${info.name}": ${describeError(thrown)}`);
    try {
      const result: unknown = onError(error, info);
      if (result instanceof Promise) result.catch(handlerFailed);
    } catch (thrown) {
      handlerFailed(thrown);
    }
  }

  /** BullMQ retries its connection by itself: say so once per distinct error, not on every retry. */
  #connectionTrouble(error: Error): void {
    const line = describeError(error);
    if (this.#closing !== undefined || line === this.#lastLogged) {
      debug('queue %s: %s', this.#settings.queueName, line);
      return;
    }
    this.#lastLogged = line;
    console.error(`express-background-tasks: worker for queue "${this.#settings.queueName}": ${line} (BullMQ keeps retrying)`);
  }

  stats(): WorkerStats {
    return { running: this.#running, succeeded: this.#succeeded, failed: this.#failed, timedOut: this.#timedOut, skipped: this.#skipped };
  }

  close(options?: WorkerCloseOptions): Promise<WorkerCloseResult> {
    const raw = checkOptionsObject('close()', options, ['timeout']);
    const timeout = checkTimeout('close()', 'timeout', raw.timeout, DEFAULT_CLOSE_TIMEOUT_MS);
    this.#closing ??= this.#close(timeout);
    return this.#closing;
  }

  async #close(timeout: number): Promise<WorkerCloseResult> {
    debug('queue %s: worker closing with %d jobs running', this.#settings.queueName, this.#running);
    const closed = this.worker.close();
    closed.catch(() => {}); // a failure to close cleanly is what the deadline below handles
    if (await settlesWithin(closed, timeout)) return { drained: true, abandoned: 0 };
    const abandoned = this.#active.size;
    const reason = closingError(timeout);
    for (const running of this.#active) running.cancel(reason);
    if (!(await settlesWithin(closed, HANDBACK_GRACE_MS))) await this.#forceStop();
    debug('queue %s: worker closed at its deadline; %d jobs abandoned', this.#settings.queueName, abandoned);
    return { drained: false, abandoned };
  }

  /**
   * BullMQ's close() is stuck, typically waiting for a connection to Redis that is gone (BullMQ issue 4656). Stop
   * what it would have stopped, so that nothing keeps the process alive: connections, the stalled-job checker and the
   * lock renewal timer. Abandoned jobs keep their locks until those expire; then BullMQ delivers them again.
   */
  async #forceStop(): Promise<void> {
    await settlesWithin(this.worker.pause(true), STOP_STEP_BOUND_MS);
    await settlesWithin(this.worker.disconnect(), STOP_STEP_BOUND_MS);
    // Not part of BullMQ's typed API (a protected member), hence the guarded access.
    const lockManager = (this.worker as unknown as { lockManager?: { close?: () => Promise<void> } }).lockManager;
    if (typeof lockManager?.close === 'function') await settlesWithin(lockManager.close(), STOP_STEP_BOUND_MS);
  }
}

/**
 * Runs the jobs of `queueName` with `tasks` (made with defineTask, matched by name), `concurrency` at a time.
 * Each BullMQ attempt is one attempt of the task, with its timeout and signal; BullMQ does the retries and backoff.
 */
export function runWorker(options: RunWorkerOptions): TaskWorker {
  return new QueueWorker(parseWorkerOptions(options));
}
