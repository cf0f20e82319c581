// One middleware's task status records (the status option): kept in memory (ttl, max), read from the queue once stored, watched live.
import { UnknownTaskError } from './errors.js';
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
 * Times kept as ms since this base (small integers for weeks, which V8 stores in the field itself; a full epoch
 * time in ms is a boxed double of 16 bytes more per time). Converted back when a record is read.
 */
const BASE = Date.now();

/** A settled task's record in memory: what a record shows, and nothing of the task (its entry is let go). */
class Kept {
  readonly id: string;
  readonly name: string;
  readonly where: Where;
  readonly owner: string | undefined;
  readonly state: TaskState;
  readonly attempts: number;
  readonly progress: number | undefined;
  readonly message: string | undefined;
  readonly result: unknown;
  readonly error: TaskRecordError | undefined;
  /** Times since BASE (undefined: never started). */
  readonly added: number;
  readonly started: number | undefined;
  readonly finished: number | undefined;
  /** When it expires, since BASE. */
  readonly until: number;

  constructor(entry: TaskEntry, now: number, ttl: number) {
    this.id = entry.id;
    this.name = entry.name;
    this.where = entry.where;
    this.owner = entry.owner;
    this.state = entry.state;
    this.attempts = entry.attempts;
    this.progress = entry.progress;
    this.message = entry.message;
    this.result = entry.result;
    this.error = entry.state === 'failed' || entry.state === 'timedOut' ? errorSummary(entry.error) : undefined;
    this.added = entry.addedAt - BASE;
    this.started = entry.startedAt === undefined ? undefined : entry.startedAt - BASE;
    this.finished = entry.finishedAt === undefined ? undefined : entry.finishedAt - BASE;
    this.until = now - BASE + ttl;
  }
}

/** What a record shows of a live task (read from its entry, so never stale) or of a settled one. */
function fieldsOf(record: TaskEntry | Kept): RecordFields {
  if (record instanceof Kept) {
    return {
      id: record.id,
      name: record.name,
      state: record.state,
      attempts: record.attempts,
      progress: record.progress,
      message: record.message,
      result: record.result,
      error: record.error,
      addedAt: record.added + BASE,
      startedAt: record.started === undefined ? undefined : record.started + BASE,
      finishedAt: record.finished === undefined ? undefined : record.finished + BASE,
      where: record.where,
    };
  }
  return {
    id: record.id,
    name: record.name,
    state: record.state,
    attempts: record.attempts,
    progress: record.progress,
    message: record.message,
    result: undefined,
    error: undefined,
    addedAt: record.addedAt,
    startedAt: record.startedAt,
    finishedAt: undefined,
    where: record.where,
  };
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
  /**
   * Every record, by id: a live task's entry (the scheduler keeps it up to date), replaced by a settled task's copy
   * when it settles (one Map write, no delete).
   */
  readonly #records = new Map<string, TaskEntry | Kept>();
  /**
   * Settled records, in the order they settled (so, with one ttl, in the order they expire), read from `#head`: a
   * queue rather than the Map's own order, because taking a Map's first entry again and again walks over the holes
   * its deletions leave (measured: tens of microseconds per task at 10,000 records).
   */
  #order: Kept[] = [];
  #head = 0;
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
    return this.#records.size;
  }

  added(entry: TaskEntry): void {
    this.#records.set(entry.id, entry);
    if (this.#records.size > this.#settings.max && this.#head < this.#order.length) this.#trim(Date.now());
  }

  changed(entry: TaskEntry): void {
    const state = entry.state;
    if (state !== 'running' && state !== 'queued') {
      // A final state: the scheduler says so once per task.
      this.#settled(entry, entry.finishedAt ?? Date.now());
    } else if (entry.stored) {
      // The queue tells its state from now on; a runner that cannot tell keeps it here as queued, for the ttl.
      if (this.#runner?.record !== undefined) this.#records.delete(entry.id);
      else this.#settled(entry, Date.now());
    }
    if (this.#watchers.size === 0) return;
    const watchers = this.#watchers.get(entry.id);
    if (watchers !== undefined) for (const watcher of watchers) watcher();
  }

  #settled(entry: TaskEntry, now: number): void {
    const kept = new Kept(entry, now, this.#settings.ttl);
    this.#records.set(kept.id, kept);
    this.#order.push(kept);
    this.#trim(now);
  }

  /** Drops expired records and, above `max`, the oldest settled ones. */
  #trim(time: number): void {
    const now = time - BASE;
    const max = this.#settings.max;
    const order = this.#order;
    const records = this.#records;
    while (this.#head < order.length) {
      const kept = order[this.#head] as Kept;
      if (kept.until > now && records.size <= max) break;
      records.delete(kept.id);
      order[this.#head++] = undefined as unknown as Kept;
    }
    // Drop the taken part of the queue once it is half of it, so that its memory follows the records kept.
    if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The record kept in memory, if any and not expired: a live task's entry, or a settled task's copy. */
  #memory(id: string): TaskEntry | Kept | undefined {
    const found = this.#records.get(id);
    if (!(found instanceof Kept)) return found;
    const now = Date.now();
    if (found.until > now - BASE) return found;
    this.#trim(now);
    return undefined;
  }

  #found(kept: TaskEntry | Kept): FoundRecord {
    return { record: formatRecord(fieldsOf(kept), this.#settings.exposeErrors), owner: kept.owner };
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
          reject(new UnknownTaskError(`task ${id} has no status record: unknown, or expired (the status option's ttl and max)`));
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
