// What one accepted task holds while it waits: its function, arguments, request context, policy and id.
import type { AsyncResource } from 'node:async_hooks';
import type { FlowKeys } from './flow/flow-control.js';
import type { TaskPolicy } from './policy.js';
import type { TaskEntry } from './task-events.js';
import { newTaskId } from './task-id.js';

export interface Task {
  readonly fn: (...args: never[]) => unknown;
  readonly args: readonly unknown[];
  /** The request context the task was added in; undefined for a list's first task, which the drain itself runs in. */
  readonly context: AsyncResource | undefined;
  /** Worked out once, when the task was accepted: nothing downstream asks the function again. */
  readonly policy: TaskPolicy;
  /**
   * The task's id (taskId(), the handle's id, a queue's job id), or undefined until something first asks for it: made
   * lazily by taskIdOf() so that a task nobody asks about costs no UUID. Set at once when observers see the task.
   */
  id: string | undefined;
  /** Attempts made before this run (a queue's earlier deliveries of the job), so that traces number attempts as the queue does. */
  readonly attemptsBefore?: number;
  /** What observers see of the task (task-events.ts); made at addTask only while something observes the middleware. */
  readonly entry?: TaskEntry | undefined;
  /** Where addTask was called (the captureCallSite option), appended to the stack of the error reported if the task fails. */
  readonly callSite?: { readonly stack?: string };
  /** Its keys, for a task defined with dedupe, rateLimit or concurrency (computed at addTask; never logged). */
  readonly keys?: FlowKeys;
  /** Where a task run apart from any list (a debounced one) was added. */
  readonly origin?: Origin;
}

/** @internal How the scheduler asks a response's list where it came from, only when it needs to (a debounced or deduplicated add). */
export const ORIGIN: unique symbol = Symbol('origin');

export interface OriginSource {
  [ORIGIN](): Origin;
}

/** Where a task came from, for onError and debug output. */
export interface Origin {
  readonly method: string;
  readonly url: string;
  /** The W3C traceparent the task was added under, when a tracer sent one with a queued task (see tracing.ts). */
  readonly traceparent?: string;
  /** The owner of the request (the status option's owner(req)), when that option is set. */
  readonly owner?: string | undefined;
}

/** The name a task is reported under: its defineTask name, its function's name, or 'anonymous'. */
export function taskName(task: Task): string {
  return task.policy.name ?? (task.fn.name || 'anonymous');
}

/** The task's id, made on first use and kept on the task, so that the handle, taskId() and a queue all agree. */
export function taskIdOf(task: { id: string | undefined }): string {
  if (task.id === undefined) task.id = newTaskId();
  return task.id;
}
