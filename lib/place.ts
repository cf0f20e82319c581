// Where a task's attempts run: one small interface, and the implementation for this process's event loop.
import type { TaskRun } from './run-task.js';
import type { Task } from './task.js';
import { callInScope } from './task-context.js';

/** Reported in TaskInfo and debug output: this process's event loop, a worker thread, or a queue worker. */
export type Where = 'process' | 'thread' | 'queue';

export interface Place {
  readonly where: Where;
  /**
   * Starts one attempt of `task`: returns its value, a promise of it, or throws. `run` is the task's scope
   * (its signal) and must be current while the task's own code runs.
   */
  attempt(task: Task, run: TaskRun): unknown;
}

/** This process's event loop: the task is called here, inside its request context. */
export const eventLoop: Place = {
  where: 'process',
  attempt: (task, run) => callInScope(run, task.context, task.fn, task.args),
};
