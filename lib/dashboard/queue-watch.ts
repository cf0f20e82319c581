// The queue's job counts and latest failed jobs, read through the runner's optional methods while a page is open.
import type { FailedQueueJob, QueueJobCounts, QueueRunner } from '../queue-runner.js';
import { describeError } from '../report.js';
import { clip, LIMITS } from './history.js';

export const QUEUE_LIMITS = {
  /** Failed jobs listed. */
  failedShown: 20,
  /** How often the queue is read while a page is open (never while none is). */
  pollMs: 5000,
} as const;

/** What the page shows of the queue. */
export interface QueueView {
  readonly counts: QueueJobCounts | undefined;
  readonly failed: readonly FailedQueueJob[];
  /** Why the last read failed (Redis unreachable), if it did. */
  readonly error: string | undefined;
  /** Whether the runner can retry a failed job. */
  readonly canRetry: boolean;
}

type Inspectable = QueueRunner & Required<Pick<QueueRunner, 'jobCounts'>>;

export class QueueWatch {
  readonly #runner: Inspectable;
  readonly #changed: () => void;
  #view: QueueView;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #watching = false;

  private constructor(runner: Inspectable, changed: () => void) {
    this.#runner = runner;
    this.#changed = changed;
    this.#view = { counts: undefined, failed: [], error: undefined, canRetry: typeof runner.retryJob === 'function' };
  }

  /** A watch over the runner's queue, or undefined when the middleware has no runner or it cannot tell its counts. */
  static of(runner: QueueRunner | undefined, changed: () => void): QueueWatch | undefined {
    if (runner === undefined || typeof runner.jobCounts !== 'function') return undefined;
    return new QueueWatch(runner as Inspectable, changed);
  }

  get view(): QueueView {
    return this.#view;
  }

  /** Reads the queue now and every pollMs until stop(). */
  start(): void {
    this.#watching = true;
    void this.refresh();
  }

  stop(): void {
    this.#watching = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the queue now (one read at a time), then tells the pages. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
      this.#changed();
      if (this.#watching) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.refresh(), QUEUE_LIMITS.pollMs).unref();
      }
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    const runner = this.#runner;
    try {
      const [counts, failed] = await Promise.all([runner.jobCounts(), runner.failedJobs?.(QUEUE_LIMITS.failedShown) ?? []]);
      const shown = failed.slice(0, QUEUE_LIMITS.failedShown).map((job) => ({
        ...job,
        name: clip(job.name, LIMITS.text),
        reason: clip(job.reason, LIMITS.failureMessage),
        stack: job.stack === undefined ? undefined : clip(job.stack, LIMITS.stack),
      }));
      this.#view = { ...this.#view, counts, failed: shown, error: undefined };
    } catch (error) {
      this.#view = { ...this.#view, error: describeError(error) };
    }
  }

  retry(id: string): Promise<boolean> {
    const retryJob = this.#runner.retryJob;
    if (retryJob === undefined) return Promise.resolve(false);
    return retryJob.call(this.#runner, id);
  }
}
