// The package's diagnostics_channel TracingChannels (every attempt of a task, every hand-off to a queue) and their context objects.
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { Where } from './place.js';
import { pathOf } from './report.js';
import type { Origin } from './task.js';

/**
 * What the `express-background-tasks.task` channels publish for one attempt of one task. Never the task's arguments
 * nor its result.
 */
export interface TaskTraceContext {
  /** The task's defineTask name, its function's name, or 'anonymous'. */
  readonly name: string;
  /** The attempt's number, from 1; in a queue worker, the queue's own count (a redelivered job's first attempt here may be its 3rd). */
  readonly attempt: number;
  /** The method of the request the task was added during. */
  readonly method: string;
  /** That request's path, without the query string. */
  readonly path: string;
  /** The queue task id (a queue worker's job); undefined for a task run where it was added. */
  readonly taskId: string | undefined;
  /** Where the attempt runs: this process's event loop, a worker thread, or a queue worker. */
  readonly where: Where;
  /** In a queue worker: the W3C traceparent the web process sent with the job, if a tracer gave it one. */
  readonly traceparent: string | undefined;
  /** Set before `end`: true when the attempt returned a promise, so that `asyncStart` and `asyncEnd` follow. */
  async: boolean;
  /** The error, set before `error` is published (a throw, a rejection, or the TaskTimeoutError of a timeout). */
  error?: unknown;
}

/** What the `express-background-tasks.enqueue` channels publish for one hand-off of a response's tasks to a queue. */
export interface EnqueueTraceContext {
  /** The tasks' names, in order (never their arguments). */
  readonly names: readonly string[];
  readonly method: string;
  readonly path: string;
  /**
   * A subscriber to `start` may set a W3C traceparent here: it is stored with each job, and the worker's attempts
   * publish it in their own context (`TaskTraceContext.traceparent`), so that their spans join this trace.
   */
  traceparent: string | undefined;
  error?: unknown;
  result?: unknown;
}

/**
 * What the `express-background-tasks.deduplicated` channel publishes for an add that added nothing (dedupe): the
 * task's name and mode and where it was added. Never its key or arguments.
 */
export interface DeduplicatedContext {
  readonly name: string;
  /** 'drop': dropped onto the pending task; 'debounce': folded into the pending debounced task (its arguments replace). */
  readonly mode: 'drop' | 'debounce';
  readonly method: string;
  readonly path: string;
}

/** A plain channel (not a tracing one: nothing runs), published once per deduplicated add. */
export const deduplicatedChannel = channel('express-background-tasks.deduplicated');

/** `tracing:express-background-tasks.task:start|end|asyncStart|asyncEnd|error`, around every attempt of every task. */
export const taskChannel = tracingChannel<unknown, TaskTraceContext>('express-background-tasks.task');
/** `tracing:express-background-tasks.enqueue:*`, around the hand-off of a response's tasks to a queue runner. */
export const enqueueChannel = tracingChannel<unknown, EnqueueTraceContext>('express-background-tasks.enqueue');

/**
 * Whether anyone listens to the task channels. TracingChannel#hasSubscribers is missing on Node 20; every tracer
 * subscribes to `start`, so its channel's flag (a plain getter, no allocation) answers.
 */
export function tracingTasks(): boolean {
  return taskChannel.start.hasSubscribers;
}

export function tracingEnqueues(): boolean {
  return enqueueChannel.start.hasSubscribers;
}

/** Runs an attempt's own code inside its trace (a tracer making its span current); absent, the code is just called. */
export type AttemptScope = <T>(context: TaskTraceContext, attempt: () => T) => T;

/**
 * @internal Set by express-background-tasks/otel while it is enabled, so that spans started inside a task are children
 * of the task's span. Bound stores (`start.bindStore()`) work without it: the attempt runs inside `start.runStores()`.
 */
export const scopes: { attempt: AttemptScope | undefined } = { attempt: undefined };

export function taskTraceContext(
  name: string,
  attempt: number,
  origin: Origin,
  taskId: string | undefined,
  where: Where,
): TaskTraceContext {
  return {
    name,
    attempt,
    method: origin.method,
    path: pathOf(origin.url),
    taskId,
    where,
    traceparent: origin.traceparent,
    async: false,
    error: undefined,
  };
}

/** Hands a list to a queue inside the enqueue channels; `enqueue` gets the origin, with a subscriber's traceparent if it set one. */
export function traceEnqueue<T>(names: readonly string[], origin: Origin, enqueue: (origin: Origin) => Promise<T>): Promise<T> {
  const context: EnqueueTraceContext = { names, method: origin.method, path: pathOf(origin.url), traceparent: undefined };
  return enqueueChannel.tracePromise(() => {
    const traceparent = context.traceparent;
    return enqueue(typeof traceparent === 'string' ? { method: origin.method, url: origin.url, traceparent } : origin);
  }, context);
}

/** Publishes a deduplicated add (only called while the channel has subscribers). */
export function traceDeduplicated(name: string, mode: 'drop' | 'debounce', origin: Origin): void {
  const context: DeduplicatedContext = { name, mode, method: origin.method, path: pathOf(origin.url) };
  deduplicatedChannel.publish(context);
}
