// The contract between the scheduler and a queue (such as BullMQ) that runs tasks in other processes.
import type { TaskDefinition } from './define-task.js';

/** One task as a queue receives it: a defineTask name and JSON-safe arguments. */
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
}

/**
 * Hands one response's tasks to a queue, to run in the order given. Resolves once they are stored;
 * rejects (fast, never hanging) when they cannot be, and then none of them counts as enqueued.
 */
export interface QueueRunner {
  enqueue(tasks: readonly QueuedTask[], options: EnqueueOptions): Promise<void>;
}
