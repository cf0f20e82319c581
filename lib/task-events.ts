// The life of each task as observers see it (status records, the dashboard, the test kit): entries and observers.
import type { Where } from './place.js';
import type { QueueRunner } from './queue-runner.js';
import { describeError, printable, warn } from './report.js';

/** A task's state, in the counters' words. It only moves forward: queued, running, then one final state. */
export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'timedOut' | 'skipped';

/** The states a task ends in. */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'timedOut', 'skipped']);

/**
 * One task as observers see it, made at addTask only while something observes the middleware. The scheduler owns it
 * and updates it in place; observers read it and copy what they keep. It never holds the task's arguments.
 */
export interface TaskEntry {
  /** The task's id: URL-safe, 122 random bits (a UUID); the same in every place it runs. */
  readonly id: string;
  /** The defineTask name, the function's name, or 'anonymous'. */
  readonly name: string;
  /** Where it runs: this event loop, a worker thread, or a queue (handed off, its later states are the queue's). */
  readonly where: Where;
  /** The request that added it: its method and path (never the query string). */
  readonly method: string;
  readonly path: string;
  /** Who the adding request belongs to (the status option's owner(req)); undefined without one. */
  readonly owner: string | undefined;
  state: TaskState;
  /** Attempts made so far (retries raise it while the task stays running). */
  attempts: number;
  /** What the task last said with taskProgress(): a number between 0 and 1, and an optional message. */
  progress: number | undefined;
  message: string | undefined;
  /** The task's return value (kept only for tasks defined with { result: true }). */
  result: unknown;
  /** The final error of a failed or timed-out task, or why a queued list was given up. */
  error: unknown;
  /** Times in ms since the epoch. */
  readonly addedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /**
   * With a queue runner: true once the queue has stored the task. This process then hears no more of it (its later
   * states are the queue's to tell).
   */
  stored: boolean;
  /** Aborts the signal of the running attempt and forbids further ones; set while the task runs in this process or a thread. */
  abort: ((reason?: unknown) => void) | undefined;
}

/** A new task's entry: queued, nothing run yet. The one place an entry is made. */
export function newEntry(
  fields: Pick<TaskEntry, 'id' | 'name' | 'where' | 'method' | 'path' | 'owner'>,
  state: TaskState = 'queued',
): TaskEntry {
  // Each field named, not spread: one literal shape, built inline (a spread here took Node 20 about 8 µs per entry).
  return {
    id: fields.id,
    name: fields.name,
    where: fields.where,
    method: fields.method,
    path: fields.path,
    owner: fields.owner,
    state,
    attempts: 0,
    progress: undefined,
    message: undefined,
    result: undefined,
    error: undefined,
    addedAt: Date.now(),
    startedAt: undefined,
    finishedAt: undefined,
    stored: false,
    abort: undefined,
  };
}

/** Told about every task of the middlewares it observes. Calls are synchronous and must not throw (a throw is reported). */
export interface TaskObserver {
  /** A task was accepted by addTask (state 'queued'). */
  added?(entry: TaskEntry): void;
  /** Its state, attempts, progress or message changed. After a final state there are no more calls. */
  changed?(entry: TaskEntry): void;
}

/** Observers of every middleware in the process (the test kit's watchTasks()). */
const processObservers = new Set<TaskObserver>();
/** Bumped on every change to processObservers, so that a feed re-reads whether anything listens. */
let processGeneration = 0;

/** Observes every middleware's tasks in the process, until the returned function is called. */
export function observeProcess(observer: TaskObserver): () => void {
  processObservers.add(observer);
  processGeneration++;
  return () => {
    if (processObservers.delete(observer)) processGeneration++;
  };
}

/**
 * The observers of one middleware (and those of the whole process). While none listens, `active` is false and the
 * scheduler makes no entries: an unobserved task costs nothing here.
 */
export class TaskFeed {
  /** The middleware's queue runner, if it hands its tasks to a queue (the dashboard reads the queue's counts through it). */
  readonly queue: QueueRunner | undefined;
  readonly #own = new Set<TaskObserver>();
  #generation = -1;
  #active = false;

  constructor(queue?: QueueRunner) {
    this.queue = queue;
  }

  /** Whether any observer listens (this middleware's or the process's). */
  get active(): boolean {
    if (this.#generation !== processGeneration) {
      this.#generation = processGeneration;
      this.#active = this.#own.size > 0 || processObservers.size > 0;
    }
    return this.#active;
  }

  /** Observes this middleware's tasks added from now on, until the returned function is called. */
  observe(observer: TaskObserver): () => void {
    this.#own.add(observer);
    this.#generation = -1;
    return () => {
      this.#own.delete(observer);
      this.#generation = -1;
    };
  }

  added(entry: TaskEntry): void {
    for (const observer of this.#own) call(observer, 'added', entry);
    for (const observer of processObservers) call(observer, 'added', entry);
  }

  changed(entry: TaskEntry): void {
    for (const observer of this.#own) call(observer, 'changed', entry);
    for (const observer of processObservers) call(observer, 'changed', entry);
  }
}

function call(observer: TaskObserver, event: 'added' | 'changed', entry: TaskEntry): void {
  try {
    observer[event]?.(entry);
  } catch (error) {
    warn(`a task observer threw on "${event}" for task "${printable(entry.name)}": ${describeError(error)}`);
  }
}

/** Where a middleware keeps its feed, for the package's own entries (status router, dashboard, test kit). */
export const FEED: unique symbol = Symbol('express-background-tasks.feed');

/** The feed of a middleware made by backgroundTasks(), or undefined for anything else. */
export function feedOf(middleware: unknown): TaskFeed | undefined {
  if (typeof middleware !== 'function') return undefined;
  const feed = (middleware as { [FEED]?: unknown })[FEED];
  return feed instanceof TaskFeed ? feed : undefined;
}
