// Where a task's attempts run: one small interface, the implementation for this process's event loop, and a thread pool's shape.
import type { TaskRun } from './run-task.js';
import type { Task } from './task.js';
import { callInScope } from './task-context.js';

/** Reported in TaskInfo and debug output: this process's event loop, a worker thread, or a queue worker. */
export type Where = 'process' | 'thread' | 'queue';

export interface Place {
  readonly where: Where;
  /**
   * Checks, at addTask, what this place needs of a task (that its arguments can reach it, that it can find it);
   * throws a TypeError naming the task and the problem. Optional: the event loop takes anything.
   */
  admit?(name: string, args: readonly unknown[]): void;
  /**
   * Starts one attempt of `task`: returns its value, a promise of it, or throws. `run` is the task's scope
   * (its signal) and must be current while the task's own code runs.
   */
  attempt(task: Task, run: TaskRun): unknown;
}

/** A pool of worker threads, made by threadPool() from express-background-tasks/threads. */
export interface ThreadPool extends Place {
  readonly where: 'thread';
  /** The tasks module the threads load, as a file: URL. */
  readonly module: string;
  /**
   * Waits for the thread tasks in flight (up to `timeout` ms; default: for ever), then ends the threads; later thread
   * tasks fail with a ThreadPoolClosedError. At the deadline, the threads still busy are terminated and their tasks
   * count as timed out (a ThreadPoolCloseTimeoutError, reported to their owner's onError). Never rejects; the first
   * call's timeout holds for later calls.
   */
  close(options?: ThreadPoolCloseOptions): Promise<ThreadPoolCloseResult>;
}

export interface ThreadPoolCloseOptions {
  /** How long to wait for the thread tasks in flight, in ms; then their threads are terminated. Default: wait for ever. */
  readonly timeout?: number;
}

export interface ThreadPoolCloseResult {
  /** True when every thread task in flight finished by itself before the deadline. */
  readonly drained: boolean;
  /** Thread tasks still running or waiting for a thread at the deadline: each was stopped, counted timed out and reported. */
  readonly pending: number;
}

/** This process's event loop: the task is called here, inside its request context. */
export const eventLoop: Place = {
  where: 'process',
  attempt: (task, run) => callInScope(run, task.context, task.fn, task.args),
};
