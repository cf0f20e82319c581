// One middleware's task status records (the status option): kept in memory (ttl, max), read from the queue once stored, watched live.
import type { StatusSettings } from './options.js';
import type { Where } from './place.js';
import type { QueueRunner } from './queue-runner.js';
import { describeError, printable, warn } from './report.js';
import { FINAL_STATES, type TaskEntry, type TaskObserver, type TaskState } from './task-events.js';
import { errorSummary, type FoundRecord, formatRecord, type RecordFields, type TaskRecord, type TaskRecordError } from './task-record.js';

/** Told the task's record, or undefined once the task is unknown (never known, expired, or gone from the queue). */
export type RecordListener = (found: FoundRecord | undefined) => void;

/** How often a queue without watch() is read again while someone waits on a task. */
const POLL_MS = 1000;

/**
 * One task's record in memory. While the task is live it reads its entry (so a read is never stale); once the task
 * has settled it keeps a copy of what a record shows, and lets the entry (and the task behind it) go.
 */
class Kept implements RecordFields {
  readonly id: string;
  readonly name: string;
  readonly where: Where;
  readonly owner: string | undefined;
  readonly addedAt: number;
  live: TaskEntry | undefined;
  state: TaskState = 'queued';
  attempts = 0;
  progress: number | undefined = undefined;
  message: string | undefined = undefined;
  result: unknown = undefined;
  error: TaskRecordError | undefined = undefined;
  startedAt: number | undefined = undefined;
  finishedAt: number | undefined = undefined;
  /** When it expires, in ms since the epoch (once settled). */
  until = Number.POSITIVE_INFINITY;

  constructor(entry: TaskEntry) {
    this.id = entry.id;
    this.name = entry.name;
    this.where = entry.where;
    this.owner = entry.owner;
    this.addedAt = entry.addedAt;
    this.live = entry;
  }

  /** Copies what the record shows and lets the entry go. */
  settle(entry: TaskEntry, until: number): void {
    this.state = entry.state;
    this.attempts = entry.attempts;
    this.progress = entry.progress;
    this.message = entry.message;
    this.result = entry.result;
    this.error = entry.state === 'failed' || entry.state === 'timedOut' ? errorSummary(entry.error) : undefined;
    this.startedAt = entry.startedAt;
    this.finishedAt = entry.finishedAt;
    this.until = until;
    this.live = undefined;
  }
}

/**
 * The records of one middleware's tasks, an observer of its feed. In-process records live in memory: kept `ttl` ms
 * after their task settles, at most `max` of them (the oldest settled go first; a live task's is never evicted).
 * A task handed to a queue is `queued` here until the queue has stored it; from then on the queue tells its state
 * (runner.record()), so that any process sharing the queue can answer for it.
 */
export class StatusStore implements TaskObserver {
  readonly #settings: StatusSettings;
  readonly #runner: QueueRunner | undefined;
  /** Tasks not settled yet, by id. */
  readonly #live = new Map<string, Kept>();
  /** Settled tasks, by id, in the order they settled (so, with one ttl, in the order they expire). */
  readonly #done = new Map<string, Kept>();
  /** Who waits for changes of a task kept here, by id; made for watched tasks only. */
  readonly #watchers = new Map<string, Set<() => void>>();

  constructor(settings: StatusSettings, runner: QueueRunner | undefined) {
    this.#settings = settings;
    this.#runner = runner;
  }

  get settings(): StatusSettings {
    return this.#settings;
  }

  /** How many tasks kept in memory are being watched now (event streams, settled() calls). */
  get watched(): number {
    return this.#watchers.size;
  }

  /** How many records are in memory now (live and settled). */
  get size(): number {
    return this.#live.size + this.#done.size;
  }

  added(entry: TaskEntry): void {
    this.#live.set(entry.id, new Kept(entry));
    if (this.#done.size > 0) this.#trim(Date.now());
  }

  changed(entry: TaskEntry): void {
    const kept = this.#live.get(entry.id);
    if (kept === undefined) return;
    if (FINAL_STATES.has(entry.state)) {
      this.#settled(kept, entry);
    } else if (entry.stored) {
      // The queue tells its state from now on; a runner that cannot tell keeps it here as queued, for the ttl.
      if (this.#runner?.record !== undefined) this.#live.delete(entry.id);
      else this.#settled(kept, entry);
    }
    const watchers = this.#watchers.get(entry.id);
    if (watchers !== undefined) for (const watcher of watchers) watcher();
  }

  #settled(kept: Kept, entry: TaskEntry): void {
    const now = Date.now();
    kept.settle(entry, now + this.#settings.ttl);
    this.#live.delete(kept.id);
    this.#done.set(kept.id, kept);
    this.#trim(now);
  }

  /** Drops expired records and, above `max`, the oldest settled ones. */
  #trim(now: number): void {
    const max = this.#settings.max;
    for (const kept of this.#done.values()) {
      if (kept.until > now && this.#done.size + this.#live.size <= max) return;
      this.#done.delete(kept.id);
    }
  }

  /** The record kept in memory, if any and not expired. */
  #memory(id: string): Kept | undefined {
    const live = this.#live.get(id);
    if (live !== undefined) return live;
    const done = this.#done.get(id);
    if (done === undefined) return undefined;
    if (done.until > Date.now()) return done;
    this.#trim(Date.now());
    return undefined;
  }

  #found(kept: Kept): FoundRecord {
    const entry = kept.live;
    const fields: RecordFields =
      entry === undefined
        ? kept
        : {
            id: kept.id,
            name: kept.name,
            state: entry.state,
            attempts: entry.attempts,
            progress: entry.progress,
            message: entry.message,
            result: undefined,
            error: undefined,
            addedAt: entry.addedAt,
            startedAt: entry.startedAt,
            finishedAt: undefined,
            where: kept.where,
          };
    return { record: formatRecord(fields, this.#settings.exposeErrors), owner: kept.owner };
  }

  /**
   * A queue's record, with the error's message removed unless exposeErrors; undefined once past the ttl (BullMQ
   * removes an old finished job only when a later one finishes).
   */
  #exposed(found: FoundRecord): FoundRecord | undefined {
    const finishedAt = found.record.finishedAt;
    if (finishedAt !== undefined && Date.parse(finishedAt) + this.#settings.ttl <= Date.now()) return undefined;
    const error = found.record.error;
    if (this.#settings.exposeErrors || error?.message === undefined) return found;
    const { message: _message, ...rest } = error;
    return { record: { ...found.record, error: rest }, owner: found.owner };
  }

  /** The task's record and owner: from memory, else from the queue; undefined for an unknown or expired task. */
  find(id: string): Promise<FoundRecord | undefined> {
    const kept = this.#memory(id);
    if (kept !== undefined) return Promise.resolve(this.#found(kept));
    const runner = this.#runner;
    if (runner?.record === undefined) return Promise.resolve(undefined);
    return runner.record(id).then((found) => (found === undefined ? undefined : this.#exposed(found)));
  }

  /**
   * Tells `listener` the task's record soon after the call (never during it), then again on every change, until the
   * returned function is called. A task kept in memory is watched there, and then in the queue once it is stored.
   */
  watch(id: string, listener: RecordListener): () => void {
    let stopped = false;
    let stopQueue: (() => void) | undefined;
    let reading = false;
    let again = false;
    const tell = (found: FoundRecord | undefined): void => {
      if (stopped) return;
      try {
        listener(found);
      } catch (error) {
        warn(`a task status listener threw: ${describeError(error)}`);
      }
    };
    // A queue's record is read again on each sign of change, one read at a time, the last sign always followed by a read.
    const read = (): void => {
      if (stopped) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      this.find(id).then(
        (found) => {
          reading = false;
          tell(found);
          if (again) {
            again = false;
            read();
          }
        },
        (error: unknown) => {
          reading = false;
          warn(`could not read the status of task ${printable(id)} from the queue: ${describeError(error)}`);
        },
      );
    };
    const watchQueue = (): void => {
      const runner = this.#runner;
      if (runner?.record !== undefined) stopQueue = runner.watch?.(id, read) ?? poll(read);
      read();
    };
    const inMemory = (): void => {
      const kept = this.#memory(id);
      if (kept !== undefined) {
        tell(this.#found(kept));
        return;
      }
      // Gone from memory: stored in the queue (which tells from now on), or expired.
      unwatchMemory();
      watchQueue();
    };
    const unwatchMemory = (): void => {
      const watchers = this.#watchers.get(id);
      if (watchers === undefined) return;
      watchers.delete(inMemory);
      if (watchers.size === 0) this.#watchers.delete(id);
    };
    if (this.#memory(id) !== undefined) {
      let watchers = this.#watchers.get(id);
      if (watchers === undefined) {
        watchers = new Set();
        this.#watchers.set(id, watchers);
      }
      watchers.add(inMemory);
      queueMicrotask(inMemory);
    } else {
      queueMicrotask(watchQueue);
    }
    return () => {
      stopped = true;
      unwatchMemory();
      stopQueue?.();
      stopQueue = undefined;
    };
  }

  /** Resolves with the task's record once it reaches a final state (whatever that state is); rejects only for an unknown task. */
  settled(id: string): Promise<TaskRecord> {
    return new Promise<TaskRecord>((resolve, reject) => {
      const stop = this.watch(id, (found) => {
        if (found === undefined) {
          stop();
          reject(new Error(`task ${id} has no status record: unknown, or expired (the status option's ttl)`));
        } else if (FINAL_STATES.has(found.record.state)) {
          stop();
          resolve(found.record);
        }
      });
    });
  }
}

/** Calls `read` every POLL_MS until stopped (for a queue runner that has record() but no watch()). */
function poll(read: () => void): () => void {
  const timer = setInterval(read, POLL_MS);
  return () => clearInterval(timer);
}

/** Where a middleware keeps its status records, for taskStatusRouter(). */
export const STATUS: unique symbol = Symbol('express-background-tasks.status');

/** The status records of a middleware made by backgroundTasks(), or undefined (status off, or not such a middleware). */
export function statusOf(middleware: unknown): StatusStore | undefined {
  if (typeof middleware !== 'function') return undefined;
  const store = (middleware as { [STATUS]?: unknown })[STATUS];
  return store instanceof StatusStore ? store : undefined;
}
