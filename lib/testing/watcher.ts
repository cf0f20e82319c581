// watchTasks(): tasks run as usual, and the watcher sees each one's live state; settled() waits until they are done.
import { parseDeadline } from '../check.js';
import { TasksNotSettledError } from '../errors.js';
import type { Where } from '../place.js';
import { FINAL_STATES, observeProcess, type TaskEntry, type TaskState } from '../task-events.js';
import { checkFilter, describeList, matches, type TaskFilter } from './match.js';
import { beginScope } from './scope.js';

/** One task as watchTasks() sees it now. Like status records, it never holds the task's arguments. */
export interface WatchedTask {
  readonly id: string;
  /** The defineTask name, the function's name, or 'anonymous'. */
  readonly name: string;
  readonly where: Where;
  /** The request that added it: its method and path (without the query string). */
  readonly method: string;
  readonly url: string;
  /** queued, running, then its final state. A queue runner's task stays 'queued' here: its later states are the queue's. */
  readonly state: TaskState;
  /** With a queue runner: true once the queue has stored the task (then it counts as settled here). */
  readonly stored: boolean;
  readonly attempts: number;
  /** What the task last said with taskProgress(). */
  readonly progress: number | undefined;
  readonly message: string | undefined;
  /** The final error of a failed or timed-out task (or why a queue runner gave its list up). */
  readonly error?: unknown;
}

export interface SettledOptions {
  /** Reject after this many ms with a TasksNotSettledError that lists the tasks still pending. Default: wait for ever. */
  readonly timeout?: number;
}

/** What watchTasks() returns. */
export interface TaskWatcher extends Disposable {
  /** The tasks added since watchTasks() (optionally only those of one function, defineTask task or name), with their states now. */
  added(task?: TaskFilter): WatchedTask[];
  /**
   * Resolves, with added(), once every task added so far has reached a final state (with a queue runner: once its
   * list is stored in the queue). With a timeout, rejects at the deadline with a TasksNotSettledError listing those pending.
   */
  settled(options?: SettledOptions): Promise<WatchedTask[]>;
  /** Stops watching; a settled() still waiting rejects. Idempotent. */
  restore(): void;
}

interface Waiter {
  readonly entries: readonly TaskEntry[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

function isSettled(entry: TaskEntry): boolean {
  return entry.stored || FINAL_STATES.has(entry.state);
}

class Watcher implements TaskWatcher {
  readonly #entries: TaskEntry[] = [];
  #waiters: Waiter[] = [];
  readonly #endScope: () => void;
  readonly #stopObserving: () => void;
  #restored = false;

  constructor() {
    this.#endScope = beginScope('watchTasks()', watchTasks);
    this.#stopObserving = observeProcess({
      added: (entry) => {
        this.#entries.push(entry);
      },
      changed: () => this.#check(),
    });
  }

  added(task?: TaskFilter): WatchedTask[] {
    checkFilter('added(task?)', task, true);
    return this.#entries.filter((entry) => matches(task, undefined, entry.name)).map(view);
  }

  settled(options?: SettledOptions): Promise<WatchedTask[]> {
    const timeout = parseDeadline('settled()', options, Number.POSITIVE_INFINITY);
    const entries = this.#entries.slice();
    if (entries.every(isSettled)) return Promise.resolve(entries.map(view));
    if (this.#restored) return Promise.reject(notSettled('the watcher was restored', entries));
    return new Promise<WatchedTask[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        entries,
        resolve: () => {
          clearTimeout(timer);
          resolve(entries.map(view));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      if (timeout !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((other) => other !== waiter);
          waiter.reject(notSettled(`settled({ timeout: ${timeout} }) reached its timeout`, entries));
        }, timeout);
      }
    });
  }

  #check(): void {
    if (this.#waiters.length === 0) return;
    const done = this.#waiters.filter((waiter) => waiter.entries.every(isSettled));
    if (done.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => !done.includes(waiter));
    for (const waiter of done) waiter.resolve();
  }

  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    this.#stopObserving();
    this.#endScope();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(notSettled('the watcher was restored', waiter.entries));
  }

  [Symbol.dispose](): void {
    this.restore();
  }
}

function notSettled(why: string, entries: readonly TaskEntry[]): TasksNotSettledError {
  const pending = entries.filter((entry) => !isSettled(entry)).map(view);
  return new TasksNotSettledError(`${why} with ${pending.length} task(s) still pending:\n${describeList(pending)}`, pending);
}

function view(entry: TaskEntry): WatchedTask {
  const { id, name, where, method, path, state, stored, attempts, progress, message, error } = entry;
  const shown = { id, name, where, method, url: path, state, stored, attempts, progress, message };
  return state === 'failed' || state === 'timedOut' || error !== undefined ? { ...shown, error } : shown;
}

/**
 * From now until restore(), sees every task that any backgroundTasks() middleware in the process accepts; the tasks
 * run as usual (in this process, on threads, or handed to a queue).
 * @throws TestScopeError when another recordTasks() or watchTasks() is active
 */
export function watchTasks(): TaskWatcher {
  return new Watcher();
}
