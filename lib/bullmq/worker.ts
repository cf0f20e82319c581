// runWorker(): runs a queue's jobs with the tasks given, each attempt through run-task (BullMQ does the retries), reporting outcomes.
import { DelayedError, Job, type JobJson, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { parseDeadline } from '../check.js';
import { settlesWithin } from '../deadline.js';
import { definitionOf } from '../define-task.js';
import { CloseDeadlineError, InvalidArgumentError, TaskTimeoutError } from '../errors.js';
import { retryAfterOf } from '../flow/retry-after.js';
import { Outcomes } from '../outcomes.js';
import { Policies } from '../policy.js';
import { asError, debug, describeError, printable, warn } from '../report.js';
import { type RunOwner, type Status, TaskRun } from '../run-task.js';
import type { DrainOptions, DrainResult } from '../scheduler.js';
import { type Origin, type Task, taskName } from '../task.js';
import { errorSummary, keptResult } from '../task-record.js';
import { PROGRESS_WINDOW_MS, Throttle } from '../throttle.js';
import { clusterAdvice } from './cluster-advice.js';
import { bullmqConnection, releaseConnection } from './connection.js';
import { LIST_JOB_NAME, type ListJob, originOfJob, readListJobData, readTaskJobData, type TaskJob, UNREADABLE_JSON } from './job-data.js';
import { QueueLimits, type SlotLease } from './limits.js';
import { ListRecords, type ListTaskRecord } from './list-records.js';
import { parseWorkerOptions, type RunWorkerOptions, type WorkerSettings, type WorkerTaskInfo } from './options.js';
import type { JobProgress } from './records.js';

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
   * Resolves at most 550 ms (CLOSE_OVERRUN_MS) after the timeout, even when Redis is gone (then BullMQ's fetch loop
   * may still hold the process for its drainDelay + 1 s).
   */
  close(options?: WorkerCloseOptions): Promise<WorkerCloseResult>;
  /**
   * Resolves once this worker runs no job and its queue holds none waiting, delayed (a retry's backoff) or waiting
   * for an earlier task of its list: what an integration test awaits after a request. With a timeout, resolves at
   * the deadline with `drained: false` and how many jobs were still pending; unlike the middleware's, it aborts
   * nothing (close() does). Jobs taken by other workers of the queue are not waited for by events of this one.
   */
  drain(options?: DrainOptions): Promise<DrainResult>;
}

/** The job states that mean work is still to come for a worker of the queue. */
const PENDING_STATES = ['active', 'wait', 'prioritized', 'delayed', 'waiting-children'] as const;

const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** How long a job whose list's earlier part still runs waits before it looks again: a tenth of its age, within these. */
const AFTER_WAIT_MIN_MS = 50;
const AFTER_WAIT_MAX_MS = 1000;
/** The backoff type a job is given, in this worker's memory only, when its task threw retryAfter(ms): BullMQ then asks backoffStrategy, which answers ms. */
const RETRY_AFTER_BACKOFF = 'express-background-tasks.retry-after';
/** After the deadline, how long tasks that heed their signal get to hand their jobs back (one Redis round trip each) and BullMQ's close() to end. */
const HANDBACK_GRACE_MS = 250;
/** Then, the most a forced stop of a stuck BullMQ worker may take (its steps are local and quick unless Redis is gone). */
const FORCE_STOP_BOUND_MS = 300;
/** close({ timeout }) resolves at most this many ms after its timeout (README states it). */
export const CLOSE_OVERRUN_MS = HANDBACK_GRACE_MS + FORCE_STOP_BOUND_MS;

/**
 * BullMQ's Worker, except that a job whose stored data is not valid JSON is still delivered (with UNREADABLE_JSON as
 * its data), so that it fails once with a clear report. BullMQ would throw while taking it, leave it active, and
 * move it back to waiting once its lock expired, for ever, reported as connection trouble.
 */
class TaskBullmqWorker extends Worker {
  protected override createJob(data: JobJson, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      const job = super.createJob({ ...data, data: '{}' }, jobId);
      job.data = UNREADABLE_JSON;
      return job;
    }
  }
}

class QueueWorker implements TaskWorker, RunOwner {
  readonly worker: Worker;
  readonly #settings: WorkerSettings;
  /** One attempt per BullMQ attempt: BullMQ does the retries and the backoff. */
  readonly #policies: Policies;
  /** The tasks of a list job: one job for the whole list, so the worker does each task's retries and backoff. */
  readonly #listPolicies: Policies;
  readonly #outcomes: Outcomes<WorkerTaskInfo>;
  /** rateLimit and concurrency across workers, in Redis (a connection opened at the first limited job). */
  readonly #limits: QueueLimits;
  #lastLogged = '';
  readonly #releaseConnection: () => void;
  #closing: Promise<WorkerCloseResult> | undefined;
  /** The job of each task running here, for its taskProgress() (stored with job.updateProgress, throttled). */
  readonly #jobs = new Map<Task, ProgressWriter>();
  /** The status record of each task of a list job running here (when its list has records), for its retries. */
  readonly #listTasks = new Map<Task, ListTaskRecord>();
  /** Writes list jobs' task outcomes (a Redis connection opened at the first list job). */
  readonly #listRecords: ListRecords;
  /** Reads the queue's job counts for drain(); made at its first call, closed with the worker. */
  #counts: Queue | undefined;

  constructor(settings: WorkerSettings) {
    this.#settings = settings;
    this.#outcomes = new Outcomes(settings.onError);
    this.#policies = new Policies({
      timeout: Number.POSITIVE_INFINITY,
      retries: 0,
      threads: settings.threads,
      threadsOption: 'runWorker({ threads })',
      where: 'runWorker()',
    });
    this.#listPolicies = new Policies({
      timeout: Number.POSITIVE_INFINITY,
      threads: settings.threads,
      threadsOption: 'runWorker({ threads })',
      where: 'runWorker()',
    });
    const connection = bullmqConnection(settings.connection);
    this.#releaseConnection = () => releaseConnection(connection);
    this.worker = new TaskBullmqWorker(settings.queueName, (job, token) => this.#process(job, token), {
      connection,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDuration,
      stalledInterval: settings.stalledInterval,
      // Called by BullMQ for the backoff type above only: the wait the task asked for.
      settings: { backoffStrategy: (_attempts: number, _type?: string, error?: Error) => retryAfterOf(error) ?? 0 },
      ...(settings.prefix === undefined ? {} : { prefix: settings.prefix }),
    });
    this.#limits = new QueueLimits({
      connection: settings.connection,
      queueName: settings.queueName,
      prefix: settings.prefix,
      leaseMs: settings.lockDuration,
    });
    this.#listRecords = new ListRecords(settings.connection, this.worker);
    this.worker.on('error', (error) => this.#guard(() => this.#connectionTrouble(error)));
    this.worker.on('active', (job) => {
      this.#lastLogged = '';
      if (debug.enabled)
        this.#guard(() => debug('task %s (job %s) attempt %d started', printable(job.name), printable(job.id), job.attemptsMade + 1));
    });
    // A list job's tasks are counted one by one as they run (#processList), not the job.
    this.worker.on('completed', (job) =>
      this.#guard(() => {
        if (job.name !== LIST_JOB_NAME) this.#record(job, 'succeeded', undefined);
      }),
    );
    this.worker.on('failed', (job, error) => this.#guard(() => this.#failedAttempt(job, error)));
  }

  /**
   * Runs a listener's work so that it never throws: an EventEmitter stops at a throwing listener, and the app's own
   * listeners of the same event would not run. Reporting is built not to throw; this is the last guard.
   */
  #guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      try {
        warn(`internal error in a worker event listener, please report it: ${describeError(error)}`);
      } catch {
        // nothing left to tell it with
      }
    }
  }

  async #process(job: Job, token: string | undefined): Promise<unknown> {
    if (job.name === LIST_JOB_NAME) return this.#processList(job, token);
    const data = readTaskJobData(job.data);
    if (typeof data === 'string') {
      // UnrecoverableError: failed once, never retried (the data will not get better).
      throw new UnrecoverableError(`Job ${printable(job.id)} of task "${printable(job.name)}" cannot be run: ${data}`);
    }
    await this.#waitForEarlierPart(job, data, token);
    const fn = this.#task(job.name);
    if (typeof fn === 'string') throw new UnrecoverableError(fn);
    const definition = definitionOf(fn)!;
    // Limits first: a job that must wait goes back to the queue delayed (DelayedError), holding no worker slot.
    let lease: SlotLease | undefined;
    if (definition.rateLimit !== undefined || definition.concurrency !== undefined) {
      try {
        lease = await this.#limits.enter(job, token, definition, data.args);
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw new UnrecoverableError(error.message);
        throw error;
      }
    }
    // The task's own timeout, else the one the web process sent with the job.
    let policy: Task['policy'];
    try {
      policy = this.#policies.ofDefinition(definition, data.timeout ?? Number.POSITIVE_INFINITY);
    } catch (error) {
      await lease?.release(); // a slot taken for a job that cannot run
      throw error;
    }
    // attemptsBefore: BullMQ counts the attempts (retries and redeliveries), so that traces number them as it does.
    const task: Task = { fn, args: data.args, context: undefined, policy, id: data.id, attemptsBefore: job.attemptsMade };
    // Its taskProgress() is stored as the job's progress (a task of a list job: in its list's records, #processList).
    const writer = ProgressWriter.ofJob(job);
    this.#jobs.set(task, writer);
    let run: TaskRun;
    try {
      run = await this.#run(task, originOf(data));
    } finally {
      this.#jobs.delete(task);
      await lease?.release();
    }
    if (run.status === 'succeeded') {
      await writer.flush();
      // A return value is stored in Redis only for a task defined with { result: true } (JSON, at most 64 KiB).
      return policy.result ? (keptResult(taskName(task), run.value) ?? null) : null;
    }
    // retryAfter(ms): BullMQ asks backoffStrategy for this job's next wait, which answers the task's own delay.
    if (retryAfterOf(run.error) !== undefined) job.opts.backoff = { type: RETRY_AFTER_BACKOFF, delay: 0 };
    if (run.cancelled && token !== undefined) {
      await writer.flush();
      // Stopped by close(): back to the queue as if never taken, without using up an attempt.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    // The error's name and code, for status records (BullMQ keeps only its message).
    await writer.flush(run.error);
    throw asError(run.error);
  }

  /**
   * A job whose list's earlier part (stored by flush()) has not finished goes back to the queue, delayed, without
   * using an attempt: it runs once that part's last job has finished (or is gone: finished and removed).
   */
  async #waitForEarlierPart(job: Job, data: TaskJob, token: string | undefined): Promise<void> {
    if (typeof data.after !== 'string' || token === undefined || (typeof job.progress === 'number' && job.progress > 0)) return;
    const earlier = await Job.fromId(this.worker, data.after);
    if (earlier === undefined || typeof earlier.finishedOn === 'number') return;
    const wait = Math.min(AFTER_WAIT_MAX_MS, Math.max(AFTER_WAIT_MIN_MS, (Date.now() - data.enqueuedAt) / 10));
    if (debug.enabled) debug('task %s (job %s) waits %dms for the earlier part of its list', printable(job.name), printable(job.id), wait);
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }

  /** The task of that name, or why there is none. */
  #task(name: string): Task['fn'] | string {
    const fn = this.#settings.tasks.get(name);
    if (fn !== undefined) return fn;
    const known = [...this.#settings.tasks.keys()].map((known) => `"${printable(known)}"`).join(', ');
    return (
      `Unknown task "${printable(name)}" in queue "${printable(this.#settings.queueName)}": this worker runs only ${known}; ` +
      'start it with the defineTask() of that name in its tasks option'
    );
  }

  /** Runs one task to its outcome, counted as running meanwhile. */
  async #run(task: Task, origin: Origin): Promise<TaskRun> {
    const outcomes = this.#outcomes;
    outcomes.started(1, false);
    let run: TaskRun | undefined;
    try {
      run = await new Promise<TaskRun>((resolve) => {
        const started = new TaskRun(task, this, origin, () => resolve(started));
        if (started.start()) resolve(started);
        else outcomes.track(started);
      });
      return run;
    } finally {
      if (run !== undefined) outcomes.untrack(run);
      outcomes.stopped(1);
    }
  }

  /** @internal The task's code called taskProgress(): stored as the job's progress, at most once per PROGRESS_WINDOW_MS. */
  taskProgressed(run: TaskRun, value: number, message: string | undefined): void {
    this.#jobs.get(run.task)?.set(value, message);
  }

  /**
   * A long list stored as one job: its tasks in order, each with its own retries, outcome and report, as a chain
   * would run them. The job's progress is the number of tasks done, written after each, so that a job delivered
   * again (its worker died, or close() handed it back) resumes with the task that was running.
   */
  async #processList(job: Job, token: string | undefined): Promise<null> {
    const data = readListJobData(job.data);
    if (typeof data === 'string') throw new UnrecoverableError(`List job ${printable(job.id)} cannot be run: ${data}`);
    await this.#waitForEarlierPart(job, data, token);
    const origin = originOf(data);
    const outcomes = this.#outcomes;
    // With status records on (the runner stored an index with the list), each task's outcome is stored as it goes.
    const records = await this.#listRecords.open(
      job,
      data.tasks.map((task) => task.id),
    );
    let skipReason: string | undefined;
    for (let i = typeof job.progress === 'number' ? job.progress : 0; i < data.tasks.length; i++) {
      const entry = data.tasks[i] as ListJob['tasks'][number];
      if (skipReason !== undefined) {
        outcomes.skip(false, entry.name, `job ${printable(job.id)} task ${i + 1}`, skipReason);
        continue;
      }
      const fn = this.#task(entry.name);
      const started = performance.now();
      let status: Status;
      let error: unknown;
      let attempts = 1;
      if (typeof fn === 'string') {
        outcomes.started(1, false);
        outcomes.stopped(1);
        status = 'failed';
        error = new UnrecoverableError(fn);
        await records?.never(i, { state: status, attempts, startedAt: Date.now(), error: errorOf(error), reason: fn });
      } else {
        const policy = this.#listPolicies.ofDefinition(definitionOf(fn)!, entry.timeout ?? Number.POSITIVE_INFINITY);
        const task: Task = { fn, args: entry.args, context: undefined, policy, id: entry.id };
        const record = records?.task(i);
        // Its taskProgress() and retries go to its record, as a task job's go to its job.
        const writer = record && new ProgressWriter((stored) => record.progressed(stored));
        if (record !== undefined && writer !== undefined) {
          this.#jobs.set(task, writer);
          this.#listTasks.set(task, record);
        }
        let run: TaskRun;
        try {
          run = await this.#run(task, origin);
        } finally {
          this.#jobs.delete(task);
          this.#listTasks.delete(task);
        }
        if (run.cancelled && token !== undefined) {
          await writer?.flush();
          await record?.flush();
          await job.updateProgress(i); // resumes with this task
          await job.moveToWait(token);
          throw new WaitingError();
        }
        status = run.status as Status;
        error = run.error;
        attempts = run.attempts;
        if (record !== undefined) {
          // The error's name and code through the progress writer, as for a task job; its message and the result here.
          await writer?.flush(status === 'succeeded' ? undefined : error);
          const result = status === 'succeeded' && policy.result ? keptResult(taskName(task), run.value) : undefined;
          const reason = status === 'succeeded' ? undefined : errorSummary(error).message;
          await record.finish({
            state: status,
            attempts,
            ...(result === undefined ? {} : { result }),
            ...(reason === undefined ? {} : { reason }),
          });
        }
      }
      const info = status !== 'succeeded' || debug.enabled ? this.#listInfo(entry, data, attempts) : undefined;
      outcomes.record(status, error, info, started);
      if (status !== 'succeeded' && data.stopOnError) {
        skipReason = 'an earlier task of its list failed and stopOnError is set';
        await records?.skipped(i + 1, data.tasks.length);
      }
      await job.updateProgress(i + 1);
    }
    await records?.finished();
    return null;
  }

  #listInfo(entry: ListJob['tasks'][number], data: ListJob, attempts: number): WorkerTaskInfo {
    return {
      name: entry.name,
      taskId: entry.id,
      method: data.method,
      url: data.path,
      attempts,
      queueName: this.#settings.queueName,
      where: 'queue',
    };
  }

  /** @internal A task of a list job starts another attempt: its record says so (a task job's attempts are BullMQ's). */
  taskRetried(run: TaskRun): void {
    this.#listTasks.get(run.task)?.retried(run.attempts);
  }

  /** @internal A job's attempt that went asynchronous has settled. */
  taskSettled(run: TaskRun): void {
    run.resume(true);
  }

  /** Counts a final outcome (BullMQ's 'completed', or 'failed' after the last attempt) and reports a failure. */
  #record(job: Job, status: Status, error: unknown): void {
    const outcomes = this.#outcomes;
    const info = status !== 'succeeded' || debug.enabled ? this.#info(job) : undefined;
    outcomes.record(status, error, info, performance.now() - (Date.now() - (job.processedOn ?? Date.now())));
  }

  #info(job: Job): WorkerTaskInfo {
    const { id, method, path } = originOfJob(job.data);
    return {
      name: job.name,
      taskId: id ?? String(job.id),
      method,
      url: path,
      attempts: job.attemptsMade,
      queueName: this.#settings.queueName,
      where: 'queue',
    };
  }

  #failedAttempt(job: Job | undefined, error: Error): void {
    if (job === undefined) {
      debug('queue %s: a job failed: %s', printable(this.#settings.queueName), describeError(error));
      return;
    }
    if (job.deferredFailure !== undefined) {
      this.#outcomes.skip(false, job.name, `job ${printable(job.id)}`, 'an earlier task of its list failed and stopOnError is set');
      return;
    }
    if (typeof job.finishedOn !== 'number') {
      if (debug.enabled) {
        debug(
          'task %s (job %s) attempt %d failed (%s); BullMQ retries it in %dms',
          printable(job.name),
          printable(job.id),
          job.attemptsMade,
          describeError(error),
          job.delay,
        );
      }
      return;
    }
    this.#record(job, error instanceof TaskTimeoutError ? 'timedOut' : 'failed', error);
  }

  /** BullMQ retries its connection by itself: say so once per distinct error, not on every retry. */
  #connectionTrouble(error: Error): void {
    const line = describeError(error);
    if (this.#closing !== undefined || line === this.#lastLogged) {
      debug('queue %s: %s', this.#settings.queueName, line);
      return;
    }
    this.#lastLogged = line;
    const advice = clusterAdvice(error, this.#settings.connection);
    warn(`worker for queue "${this.#settings.queueName}": ${line} (BullMQ keeps retrying)${advice === undefined ? '' : `: ${advice}`}`);
  }

  stats(): WorkerStats {
    const { running, succeeded, failed, timedOut, skipped } = this.#outcomes;
    return { running, succeeded, failed, timedOut, skipped };
  }

  drain(options?: DrainOptions): Promise<DrainResult> {
    const timeout = parseDeadline('drain()', options, Number.POSITIVE_INFINITY);
    let pending = 0;
    let waiting: { promise: Promise<void>; cancel: () => void } | undefined;
    let stopped = false;
    const idle = async (): Promise<void> => {
      const counter = this.#counter();
      while (!stopped) {
        // Listening before counting: a job that ends in between still wakes this loop.
        waiting = this.#nextJobEvent();
        await this.#outcomes.whenIdle();
        const counts = await counter.getJobCounts(...PENDING_STATES);
        pending = Object.values(counts).reduce((sum, count) => sum + count, 0);
        if (pending === 0) break;
        await waiting.promise;
      }
      waiting?.cancel();
    };
    const work = idle();
    return settlesWithin(work, timeout).then(async (inTime) => {
      if (!inTime) {
        stopped = true;
        waiting?.cancel();
        return { drained: false, pending: Math.max(pending, this.#outcomes.running) };
      }
      await work; // a Redis error rejects drain()
      return { drained: true, pending: 0 };
    });
  }

  /** The queue's job counts, read by drain(): a Queue made at the first drain() and closed with the worker. */
  #counter(): Queue {
    if (this.#counts === undefined) {
      const settings = this.#settings;
      this.#counts = new Queue(settings.queueName, {
        connection: bullmqConnection(settings.connection),
        ...(settings.prefix === undefined ? {} : { prefix: settings.prefix }),
      });
      this.#counts.on('error', () => {}); // the worker itself reports connection trouble
    }
    return this.#counts;
  }

  /** Resolves at this worker's next 'completed', 'failed' or 'drained' event. */
  #nextJobEvent(): { promise: Promise<void>; cancel: () => void } {
    const worker = this.worker;
    let wake = (): void => {};
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        worker.off('completed', wake);
        worker.off('failed', wake);
        worker.off('drained', wake);
        resolve();
      };
    });
    worker.on('completed', wake);
    worker.on('failed', wake);
    worker.on('drained', wake);
    return { promise, cancel: wake };
  }

  close(options?: WorkerCloseOptions): Promise<WorkerCloseResult> {
    const timeout = parseDeadline('close()', options, DEFAULT_CLOSE_TIMEOUT_MS);
    this.#closing ??= this.#close(timeout).finally(this.#releaseConnection);
    return this.#closing;
  }

  async #close(timeout: number): Promise<WorkerCloseResult> {
    debug('queue %s: worker closing with %d jobs running', this.#settings.queueName, this.#outcomes.running);
    const counts = this.#counts?.close();
    counts?.catch(() => {}); // only drain() read through it
    const closed = this.worker.close();
    closed.catch(() => {}); // a failure to close cleanly is what the deadline below handles
    let abandoned = 0;
    const deadline = (ms: number): Error => {
      abandoned = this.#outcomes.active;
      return new CloseDeadlineError(ms);
    };
    if (await this.#outcomes.settleBy(closed, timeout, deadline)) {
      await settlesWithin(Promise.all([this.#limits.close(), this.#listRecords.close()]), FORCE_STOP_BOUND_MS);
      return { drained: true, abandoned: 0 };
    }
    if (!(await settlesWithin(closed, HANDBACK_GRACE_MS))) await settlesWithin(this.#forceStop(), FORCE_STOP_BOUND_MS);
    await settlesWithin(Promise.all([this.#limits.close(), this.#listRecords.close()]), FORCE_STOP_BOUND_MS);
    debug('queue %s: worker closed at its deadline; %d jobs abandoned', this.#settings.queueName, abandoned);
    return { drained: false, abandoned };
  }

  /**
   * BullMQ's close() is stuck, typically waiting for a connection to Redis that is gone (BullMQ issue 4656). Stop
   * what it would have stopped, so that nothing keeps the process alive: connections, the stalled-job checker and the
   * lock renewal timer. Abandoned jobs keep their locks until those expire; then BullMQ delivers them again.
   */
  async #forceStop(): Promise<void> {
    // Each step is started even when the one before it hangs (Redis gone): none waits for another.
    const paused = this.worker.pause(true);
    const disconnected = this.worker.disconnect();
    // Not part of BullMQ's typed API (a protected member), hence the guarded access.
    const lockManager = (this.worker as unknown as { lockManager?: { close?: () => Promise<void> } }).lockManager;
    const unlocked = typeof lockManager?.close === 'function' ? lockManager.close() : undefined;
    await Promise.allSettled([paused, disconnected, unlocked]);
  }
}

/** A job's progress as status records read it: the task's last taskProgress(), written throttled, the last value always. */
class ProgressWriter {
  /** Where it goes: the job's progress, or a list task's outcome (list-records.ts); never rejects. */
  readonly #store: (stored: JobProgress) => Promise<unknown>;
  readonly #throttle = new Throttle(PROGRESS_WINDOW_MS, () => this.#write());
  #progress: { progress?: number; message?: string } = {};
  #writing: Promise<unknown> = Promise.resolve();

  constructor(store: (stored: JobProgress) => Promise<unknown>) {
    this.#store = store;
  }

  /** A job's progress as its own task's record. */
  static ofJob(job: Job): ProgressWriter {
    return new ProgressWriter((stored) =>
      job
        .updateProgress(stored)
        .catch((failure: unknown) => debug('job %s: progress not stored: %s', printable(job.id), describeError(failure))),
    );
  }

  set(progress: number, message: string | undefined): void {
    this.#progress = message === undefined ? { progress } : { progress, message };
    this.#throttle.push();
  }

  #write(error?: unknown): void {
    const stored: JobProgress = error === undefined ? this.#progress : { ...this.#progress, error: errorOf(error) };
    const store = this.#store;
    this.#writing = this.#writing.then(() => store(stored));
  }

  /** Writes what is still unwritten (and, for a failed attempt, its error's name and code), and waits for the writes. */
  flush(error?: unknown): Promise<unknown> {
    if (this.#throttle.stop() || error !== undefined) this.#write(error);
    return this.#writing;
  }
}

function errorOf(error: unknown): { name: string; code?: string } {
  const { name, code } = errorSummary(error);
  return code === undefined ? { name } : { name, code };
}

function originOf(data: TaskJob): Origin {
  const { traceparent } = data;
  return traceparent === undefined ? { method: data.method, url: data.path } : { method: data.method, url: data.path, traceparent };
}

/**
 * Runs the jobs of `queueName` with `tasks` (made with defineTask, matched by name), `concurrency` at a time.
 * Each BullMQ attempt is one attempt of the task, with its timeout and signal; BullMQ does the retries and backoff.
 */
export function runWorker(options: RunWorkerOptions): TaskWorker {
  return new QueueWorker(parseWorkerOptions(options));
}
