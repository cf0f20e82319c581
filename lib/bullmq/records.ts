// Task status records read from BullMQ (job state, progress, return value, attempts, times), and live watching through QueueEvents.
import { type ConnectionOptions, type Job, type JobState, type Queue, QueueEvents } from 'bullmq';
import type { QueueRecord } from '../queue-runner.js';
import { debug, describeError } from '../report.js';
import type { TaskState } from '../task-events.js';
import { formatRecord, type TaskRecordError } from '../task-record.js';
import { bullmqConnection, type Connection, releaseConnection } from './connection.js';
import { ownerOf } from './job-data.js';

/**
 * What a worker stores as a job's progress: the task's last taskProgress() (`progress`, `message`), and the name and
 * code of the error of its last failed attempt (BullMQ itself keeps only the message, as failedReason).
 */
export interface JobProgress {
  readonly progress?: number;
  readonly message?: string;
  readonly error?: { readonly name: string; readonly code?: string };
}

/**
 * What a worker stored as progress (a job's progress, or a list task's outcome, which holds the same fields), read
 * safely: anything else it holds is ignored.
 */
export function progressOf(stored: unknown): JobProgress {
  if (stored === null || typeof stored !== 'object') return {};
  const { progress: value, message, error } = stored as Record<string, unknown>;
  const out: { progress?: number; message?: string; error?: JobProgress['error'] } = {};
  if (typeof value === 'number' && value >= 0 && value <= 1) out.progress = value;
  if (typeof message === 'string') out.message = message;
  if (error !== null && typeof error === 'object' && typeof (error as { name?: unknown }).name === 'string') {
    const { name, code } = error as { name: string; code?: unknown };
    out.error = typeof code === 'string' ? { name, code } : { name };
  }
  return out;
}

const TIMEOUT_CODE = 'ERR_BACKGROUND_TASKS_TIMEOUT';
/** BullMQ's reason for a parent failed by its child (failParentOnFailure). */
const DEFERRED_FAILURE = /^child \S+ failed$/;

/** The record's state: BullMQ's, in the counters' words (a job waiting for a retry is still running). */
function stateOf(state: JobState | 'unknown', job: Job, error: JobProgress['error']): TaskState {
  const attempted = (job.attemptsStarted ?? 0) > 0 || job.attemptsMade > 0;
  switch (state) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      // Failed without running (BullMQ's deferred failure, whose marker it deletes), because an earlier task of its
      // list failed under stopOnError: our worker never saw it, so it stored no error name.
      if (error === undefined && DEFERRED_FAILURE.test(job.failedReason ?? '')) return 'skipped';
      return error?.code === TIMEOUT_CODE ? 'timedOut' : 'failed';
    case 'active':
      return 'running';
    default:
      return attempted ? 'running' : 'queued';
  }
}

/** What a task's record is made of, wherever the worker stored it: the task's own job, or its list job (list-records.ts). */
export interface StoredTask {
  readonly id: string;
  readonly name: string;
  readonly state: TaskState;
  readonly attempts: number;
  /** The task's last taskProgress(), and its error's name and code. */
  readonly progress: JobProgress;
  /** The error's message (BullMQ's failedReason), shown only with exposeErrors. */
  readonly reason: string | undefined;
  /** The return value of a `result: true` task (null or undefined: none). */
  readonly result: unknown;
  readonly addedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly owner: string | undefined;
}

/** A stored task's record: the one place where what a worker stored becomes a record. */
export function queueRecord(task: StoredTask): QueueRecord {
  const { state } = task;
  const { progress, message, error } = task.progress;
  let failure: TaskRecordError | undefined;
  if (state === 'failed' || state === 'timedOut') {
    failure = { ...(error ?? { name: 'Error' }), ...(task.reason ? { message: task.reason } : {}) };
  }
  const record = formatRecord(
    {
      id: task.id,
      name: task.name,
      state,
      attempts: task.attempts,
      progress,
      message,
      result: state === 'succeeded' && task.result !== null ? task.result : undefined,
      error: failure,
      addedAt: task.addedAt,
      startedAt: task.startedAt,
      finishedAt: state === 'queued' || state === 'running' ? undefined : task.finishedAt,
      where: 'queue',
    },
    true,
  );
  return { record, owner: task.owner };
}

/** A task's record from its BullMQ job, or undefined when the queue has no such job. */
export async function readRecord(queue: Queue, id: string): Promise<QueueRecord | undefined> {
  const [job, state] = await Promise.all([queue.getJob(id), queue.getJobState(id)]);
  if (job === undefined || state === 'unknown') return undefined;
  const progress = progressOf(job.progress);
  return queueRecord({
    id,
    name: job.name,
    state: stateOf(state, job, progress.error),
    attempts: Math.max(job.attemptsStarted ?? 0, job.attemptsMade),
    progress,
    reason: job.failedReason || undefined,
    result: job.returnvalue,
    addedAt: job.timestamp,
    startedAt: job.processedOn ?? undefined,
    finishedAt: job.finishedOn ?? undefined,
    owner: ownerOf(job.data),
  });
}

/** The QueueEvents that tell a job's changes. */
const EVENTS = ['active', 'progress', 'completed', 'failed', 'waiting', 'delayed', 'removed', 'waiting-children'] as const;

/** How long the QueueEvents connection stays open once nothing is watched (it reads every event of the queue). */
const IDLE_CLOSE_MS = 10_000;

/**
 * Watches jobs for status streams: one QueueEvents (its own blocking Redis connection), opened at the first watch,
 * closed IDLE_CLOSE_MS after the last watch ends (and with the runner); each event is passed to its job's watchers.
 */
export class JobWatcher {
  readonly #queueName: string;
  readonly #connection: Connection;
  readonly #prefix: string | undefined;
  #events: QueueEvents | undefined;
  /** What the open QueueEvents was given (released with it: a cluster's template client is ours). */
  #options: ConnectionOptions | undefined;
  #ready: Promise<void> | undefined;
  readonly #watchers = new Map<string, Set<() => void>>();
  #closed = false;
  #idle: NodeJS.Timeout | undefined;

  constructor(queueName: string, connection: Connection, prefix: string | undefined) {
    this.#queueName = queueName;
    this.#connection = connection;
    this.#prefix = prefix;
  }

  watch(id: string, changed: () => void): () => void {
    if (this.#closed) return () => {};
    let watchers = this.#watchers.get(id);
    if (watchers === undefined) {
      watchers = new Set();
      this.#watchers.set(id, watchers);
    }
    // A fresh function per watch, so that the same listener can watch twice.
    const listener = (): void => changed();
    watchers.add(listener);
    clearTimeout(this.#idle);
    this.#idle = undefined;
    // Once QueueEvents reads the stream, read the record again: a change made before that was not heard.
    void this.#open().then(() => {
      if (watchers.has(listener)) listener();
    });
    return () => {
      watchers.delete(listener);
      if (watchers.size === 0 && this.#watchers.get(id) === watchers) this.#watchers.delete(id);
      if (this.#watchers.size === 0 && this.#events !== undefined && this.#idle === undefined) {
        this.#idle = setTimeout(() => this.#stop(), IDLE_CLOSE_MS);
        this.#idle.unref();
      }
    };
  }

  /** Nothing watched for a while: stop reading the queue's events (the next watch opens them again). */
  #stop(): void {
    this.#idle = undefined;
    if (this.#watchers.size > 0) return;
    const events = this.#events;
    const options = this.#options;
    this.#events = undefined;
    this.#options = undefined;
    this.#ready = undefined;
    events
      ?.close()
      .catch((error: unknown) => debug('queue %s: closing status events: %s', this.#queueName, describeError(error)))
      .finally(() => {
        if (options !== undefined) releaseConnection(options);
      });
  }

  #open(): Promise<void> {
    if (this.#ready !== undefined) return this.#ready;
    this.#options = bullmqConnection(this.#connection);
    const events = new QueueEvents(this.#queueName, {
      connection: this.#options,
      // From a little before now (Redis's clock may differ), so that events written while it connects are heard too.
      lastEventId: `${Date.now() - 2000}-0`,
      ...(this.#prefix === undefined ? {} : { prefix: this.#prefix }),
    });
    this.#events = events;
    events.on('error', (error: Error) => debug('queue %s: status events: %s', this.#queueName, describeError(error)));
    for (const event of EVENTS) {
      events.on(event, ({ jobId }: { jobId: string }) => {
        const watchers = this.#watchers.get(jobId);
        if (watchers !== undefined) for (const watcher of [...watchers]) watcher();
      });
    }
    this.#ready = events.waitUntilReady().then(
      () => undefined,
      () => undefined,
    );
    return this.#ready;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#watchers.clear();
    await this.#events?.close();
    if (this.#options !== undefined) releaseConnection(this.#options);
  }
}
