// The contract between the scheduler and a queue (such as BullMQ) that runs tasks in other processes.
import type { TaskDefinition } from './define-task.js';
import type { FoundRecord } from './task-record.js';

/** One task as a queue receives it: a defineTask name, its arguments (checked to go through a queue intact, see args-codec.ts), and its id. */
export interface QueuedTask {
  readonly definition: TaskDefinition;
  readonly args: readonly unknown[];
  /**
   * For a task defined with `dedupe`: the queue's deduplication id (a hash of the name and key, never the key), the
   * ttl in ms, and whether it debounces. Such a task always comes alone in its list (BullMQ refuses deduplication in a chain).
   */
  readonly dedupe?: { readonly id: string; readonly ttl: number; readonly debounce: boolean };
  /**
   * The task's id (the handle's, and taskId()'s in the worker): a queue should use it as its job id, so that a
   * resend of the same list is idempotent and any process can read the task's status by it.
   */
  readonly id: string;
  /** The owner of the request that added it (the status option's owner(req)), for the status records; never shown to clients. */
  readonly owner?: string | undefined;
}

/** What the scheduler tells a queue about one response's tasks. */
export interface EnqueueOptions {
  /** Skip the rest of the list after a failure (the middleware's stopOnError). */
  readonly stopOnError: boolean;
  /** The middleware's timeout, used for tasks whose definition sets none (Infinity for none). */
  readonly timeout: number;
  /** The request the tasks were added during, for the worker's reports; a queue should store the path, not the query string. */
  readonly origin: { readonly method: string; readonly url: string };
  /**
   * Aborted when the middleware gives up waiting (drain() reached its deadline): a runner that is still holding
   * the list, not yet stored, stops trying and rejects. Absent: the list is never given up from this side.
   */
  readonly signal?: AbortSignal;
  /**
   * False when the caller waits for the store (`flush()`, `handOff: 'before-response'`): the runner must not hold the
   * list for later, but store it or reject within its own enqueue deadline. Absent or true: hold it as long as needed.
   */
  readonly hold?: boolean;
  /**
   * What an earlier `enqueue()` of the same response's list resolved to (the earlier part was stored by `flush()`):
   * this part must not start before that one has finished, so that the list keeps its order across the two parts.
   */
  readonly after?: string;
  /**
   * With the status option: how long, in ms, a finished task should stay readable by record() (its ttl). Absent:
   * the runner keeps finished tasks as its own options say.
   */
  readonly keepFor?: number;
}

/** A record as a queue runner reads it (the error's message included; the middleware hides it unless exposeErrors). */
export type QueueRecord = FoundRecord;

/**
 * Hands one response's tasks to a queue, to run in the order given. Resolves once they are stored; rejects when
 * they are given up, and then none of them counts as enqueued.
 *
 * A runner may hold a list in memory while the queue is unreachable and resolve only once it is stored, however
 * long that takes (the BullMQ runner does): until then the middleware counts its tasks as `queued` (so `maxQueued`
 * bounds them and `drain()` waits for them). It must give the list up, rejecting, when `options.signal` aborts or
 * when the runner itself closes. A runner that holds nothing in memory rejects at once when it cannot store.
 */
export interface QueueRunner {
  /**
   * May resolve to a string that stands for the list's last task, which the scheduler passes as `after` when more of
   * the same response's list is enqueued later (a runner that resolves to nothing cannot order the two parts).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a runner written against Promise<void> must still fit.
  enqueue(tasks: readonly QueuedTask[], options: EnqueueOptions): Promise<string | void>;
  /**
   * Optional, for the status option: the stored task's record as the queue knows it (state, attempts, progress,
   * result, times), read by any process sharing the queue; undefined when the queue has no such task.
   */
  record?(id: string): Promise<QueueRecord | undefined>;
  /**
   * Optional, for live status: calls `changed` whenever the stored task may have changed (and once when the watch
   * is ready); the caller reads record() again. Returns the function that stops watching.
   */
  watch?(id: string, changed: () => void): () => void;
  /** Optional, for the dashboard: how many jobs the queue holds in each state. */
  jobCounts?(): Promise<QueueJobCounts>;
  /** Optional, for the dashboard: the latest failed jobs, newest first, at most `limit` (never their arguments). */
  failedJobs?(limit: number): Promise<readonly FailedQueueJob[]>;
  /** Optional, for the dashboard's retry action: moves a failed job back to waiting; false when no failed job has that id. */
  retryJob?(id: string): Promise<boolean>;
}

/** A queue's jobs by state. */
export interface QueueJobCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
}

/** A failed job as the dashboard shows it: what and when, never its arguments. */
export interface FailedQueueJob {
  readonly id: string;
  /** The defineTask name. */
  readonly name: string;
  /** When it failed (ms since the epoch), if known. */
  readonly failedAt: number | undefined;
  readonly attempts: number;
  /** The error's message, as the queue stored it. */
  readonly reason: string;
  /** The last attempt's stack, if the queue stored one. */
  readonly stack: string | undefined;
}
