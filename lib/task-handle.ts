// TaskHandle: what addTask() returns (the task's id, its status record, the promise of its final state).
import { InvalidArgumentError } from './errors.js';
import type { StatusStore } from './status-store.js';
import { type Task, taskIdOf } from './task.js';
import type { TaskRecord } from './task-record.js';

/** What addTask() returns: the task's id, and (with the `status` option) its status record. */
export interface TaskHandle {
  /** The task's id: URL-safe, 122 random bits; what taskId() returns inside the task, wherever it runs. */
  readonly id: string;
  /**
   * True when this add added nothing: a task of the same name and dedupe key was pending (defineTask's `dedupe`), and
   * this is that task's handle (its id, its status). False otherwise.
   */
  readonly deduplicated: boolean;
  /**
   * The task's status record now, or undefined once it has expired (the status option's ttl and max).
   * Rejects with a TypeError when the middleware's `status` option is off.
   */
  status(): Promise<TaskRecord | undefined>;
  /**
   * Resolves with the record once the task reaches a final state: succeeded, failed, timedOut or skipped (a failed
   * task resolves too: its record says so). Rejects with a TypeError when the `status` option is off.
   */
  settled(): Promise<TaskRecord>;
}

/** Why status() and settled() need the option, said where the call is made. */
function statusOff(call: string): Promise<never> {
  return Promise.reject(
    new InvalidArgumentError(
      `handle.${call} needs task status records: turn them on with the middleware's "status" option, backgroundTasks({ status: true })`,
    ),
  );
}

/**
 * A task's handle. It holds the task only to read (or make) its id lazily: with status records off, a task whose id
 * nobody reads costs no UUID.
 */
export class Handle implements TaskHandle {
  readonly #task: Task;
  readonly #store: StatusStore | undefined;
  readonly deduplicated: boolean;

  constructor(task: Task, store: StatusStore | undefined, deduplicated = false) {
    this.#task = task;
    this.#store = store;
    this.deduplicated = deduplicated;
  }

  get id(): string {
    return taskIdOf(this.#task);
  }

  status(): Promise<TaskRecord | undefined> {
    const store = this.#store;
    if (store === undefined) return statusOff('status()');
    return store.find(this.id).then((found) => found?.record);
  }

  settled(): Promise<TaskRecord> {
    const store = this.#store;
    if (store === undefined) return statusOff('settled()');
    return store.settled(this.id);
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }
}
