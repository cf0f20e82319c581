// What one accepted task holds while it waits: its function, arguments, request context and policy.
import type { AsyncResource } from 'node:async_hooks';
import type { TaskPolicy } from './policy.js';

export interface Task {
  readonly fn: (...args: never[]) => unknown;
  readonly args: readonly unknown[];
  /** The request context the task was added in; undefined for a list's first task, which the drain itself runs in. */
  readonly context: AsyncResource | undefined;
  /** Worked out once, when the task was accepted: nothing downstream asks the function again. */
  readonly policy: TaskPolicy;
  /** The queue task id (a queue worker's job), read with taskId(); undefined for a task run where it was added. */
  readonly id: string | undefined;
}

/** Where a task came from, for onError and debug output. */
export interface Origin {
  readonly method: string;
  readonly url: string;
}

/** The name a task is reported under: its defineTask name, its function's name, or 'anonymous'. */
export function taskName(task: Task): string {
  return task.policy.name ?? (task.fn.name || 'anonymous');
}
