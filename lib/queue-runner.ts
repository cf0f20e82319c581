// The contract between the scheduler and a queue (such as BullMQ) that runs tasks in other processes.
import type { TaskDefinition } from './define-task.js';

/** One task as a queue receives it: a defineTask name and its arguments, checked to go through a queue intact (see args-codec.ts). */
export interface QueuedTask {
  readonly definition: TaskDefinition;
  readonly args: readonly unknown[];
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
}

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
  enqueue(tasks: readonly QueuedTask[], options: EnqueueOptions): Promise<void>;
}
