// What one accepted task holds while it waits: its function, its arguments, and little more.
import type { AsyncResource } from 'node:async_hooks';
import { definitionOf } from './define-task.js';

export interface Task {
  readonly fn: (...args: never[]) => unknown;
  readonly args: readonly unknown[];
  /** The request context the task was added in; undefined for a list's first task, which the drain itself runs in. */
  readonly context: AsyncResource | undefined;
}

/** Where a task came from, for onError and debug output. */
export interface Origin {
  readonly method: string;
  readonly url: string;
}

/** The name a task is reported under: its defineTask name, its function's name, or 'anonymous'. */
export function taskName(fn: Task['fn']): string {
  return definitionOf(fn)?.name ?? (fn.name || 'anonymous');
}
