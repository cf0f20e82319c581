// What the dashboard keeps of one middleware's tasks, all of fixed size: running tasks, the last finished ones and
// failures, figures per task name, and finishes per minute over the last hour.
import { performance } from 'node:perf_hooks';
import type { Where } from '../place.js';
import { describeError } from '../report.js';
import { FINAL_STATES, type TaskEntry, type TaskObserver, type TaskState } from '../task-events.js';
import { DurationHistogram } from './histogram.js';
import { Ring } from './ring.js';

/** The fixed sizes (the README's "What is shown and kept" quotes them). */
export const LIMITS = {
  /** Finished tasks kept for the task list and the id search. */
  finished: 1000,
  /** Failures kept with their error's message and stack. */
  failures: 100,
  /** Task names with figures of their own; later names are counted together under OTHER_NAMES. */
  names: 100,
  /** Running tasks listed on the page (the longest-running first); the count covers all of them. */
  runningShown: 50,
  /** Tasks one list answer holds. */
  listed: 100,
  /** Lengths kept: a task name or request path, a message in the list, a failure's message and stack. */
  text: 200,
  failureMessage: 1000,
  stack: 4000,
  /** Per-minute buckets (one hour). */
  minutes: 60,
} as const;

export const OTHER_NAMES = '(other names)';

/** How a task ended, as the dashboard counts it: a final state, or 'enqueued' (stored in the queue; its end is the queue's). */
export type Outcome = 'succeeded' | 'failed' | 'timedOut' | 'skipped' | 'enqueued';
export const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'timedOut', 'skipped', 'enqueued'];

/** An error as the page shows it: never more than its name, message and stack. */
export interface ErrorView {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** One task as the page shows it (what goes over the wire). */
export interface TaskView {
  readonly id: string;
  readonly name: string;
  readonly where: Where;
  readonly state: TaskState | 'enqueued';
  readonly attempts: number;
  readonly method: string;
  readonly path: string;
  readonly addedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly durationMs: number | undefined;
  readonly progress: number | undefined;
  readonly message: string | undefined;
  readonly error: ErrorView | undefined;
}

export interface NameView {
  readonly name: string;
  readonly counts: Readonly<Record<Outcome, number>>;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly max: number | undefined;
  readonly lastFailureAt: number | undefined;
}

/** Finishes per minute over the last hour, oldest first: `counts[i]` has one number per OUTCOMES entry. */
export interface MinutesView {
  /** The first minute's start, in ms since the epoch. */
  readonly from: number;
  readonly counts: ReadonlyArray<readonly number[]>;
}

/** What the task list can be asked for: a state (or 'failures': failed and timed out; 'all'), a name, an id (or its start). */
export interface TaskQuery {
  readonly state: string;
  readonly name: string;
  readonly id: string;
}

interface NameFigures {
  readonly counts: Record<Outcome, number>;
  /** Made at the name's first duration. */
  durations: DurationHistogram | undefined;
  lastFailureAt: number | undefined;
}

interface Running {
  readonly entry: TaskEntry;
  /** performance.now() when it started, for a duration finer than the entry's Date.now() times. */
  readonly started: number;
}

const MINUTE = 60_000;

/** The text, cut to `max` characters (an ellipsis marks the cut). */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Name, message and stack of a thrown value, clipped; a non-Error is described in one line (as the error reports do). */
export function errorView(error: unknown, messageMax: number, withStack: boolean): ErrorView {
  if (!(error instanceof Error)) return { name: typeof error, message: clip(describeError(error), messageMax), stack: undefined };
  let stack: string | undefined;
  if (withStack) {
    try {
      stack = typeof error.stack === 'string' ? clip(error.stack, LIMITS.stack) : undefined;
    } catch {
      stack = undefined; // a throwing stack getter: name and message are all there is
    }
  }
  return { name: clip(String(error.name), LIMITS.text), message: clip(String(error.message), messageMax), stack };
}

export class History {
  /** Tasks running now, in the order they started (references to the scheduler's entries, no copies). */
  readonly #running = new Map<string, Running>();
  readonly #finished = new Ring<TaskView>(LIMITS.finished);
  readonly #failures = new Ring<TaskView>(LIMITS.failures);
  readonly #names = new Map<string, NameFigures>();
  /** LIMITS.minutes slots of OUTCOMES.length counters, and the minute (since the epoch) each slot holds now. */
  readonly #minuteCounts = new Uint32Array(LIMITS.minutes * OUTCOMES.length);
  readonly #minuteOf = new Float64Array(LIMITS.minutes).fill(-1);
  #finishedVersion = 0;
  #failuresVersion = 0;
  readonly #onChange: () => void;

  /** The observer to subscribe to the middleware's feed. */
  readonly observer: TaskObserver;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
    this.observer = { added: () => onChange(), changed: (entry) => this.#changed(entry) };
  }

  /** Bumped on every finish and every failure kept: the page asks for its list again when they move. */
  get versions(): { readonly finished: number; readonly failures: number } {
    return { finished: this.#finishedVersion, failures: this.#failuresVersion };
  }

  get runningCount(): number {
    return this.#running.size;
  }

  #changed(entry: TaskEntry): void {
    if (entry.state === 'running') {
      if (!this.#running.has(entry.id)) this.#running.set(entry.id, { entry, started: performance.now() });
    } else if (FINAL_STATES.has(entry.state)) {
      this.#finish(entry, entry.state as Outcome);
    } else if (entry.stored) {
      this.#finish(entry, 'enqueued');
    }
    this.#onChange();
  }

  #finish(entry: TaskEntry, outcome: Outcome): void {
    const running = this.#running.get(entry.id);
    this.#running.delete(entry.id);
    const durationMs = running === undefined ? undefined : performance.now() - running.started;
    const finishedAt = entry.finishedAt ?? Date.now();
    const failed = outcome === 'failed' || outcome === 'timedOut';
    const base = {
      id: entry.id,
      name: clip(entry.name, LIMITS.text),
      where: entry.where,
      state: outcome,
      attempts: entry.attempts,
      method: entry.method,
      path: clip(entry.path, LIMITS.text),
      addedAt: entry.addedAt,
      startedAt: entry.startedAt,
      finishedAt,
      durationMs,
      progress: entry.progress,
      message: entry.message === undefined ? undefined : clip(entry.message, LIMITS.text),
    };
    // The list keeps a short error; the failures keep the message and the stack.
    this.#finished.push({ ...base, error: failed ? errorView(entry.error, LIMITS.text, false) : undefined });
    this.#finishedVersion++;
    if (failed) {
      this.#failures.push({ ...base, error: errorView(entry.error, LIMITS.failureMessage, true) });
      this.#failuresVersion++;
    }
    const figures = this.#figuresOf(base.name);
    figures.counts[outcome]++;
    if (durationMs !== undefined) {
      figures.durations ??= new DurationHistogram();
      figures.durations.record(durationMs);
    }
    if (failed) figures.lastFailureAt = finishedAt;
    this.#countMinute(outcome, finishedAt);
  }

  #figuresOf(name: string): NameFigures {
    let figures = this.#names.get(name);
    if (figures === undefined) {
      const key = this.#names.size < LIMITS.names ? name : OTHER_NAMES;
      figures = this.#names.get(key);
      if (figures === undefined) {
        figures = {
          counts: { succeeded: 0, failed: 0, timedOut: 0, skipped: 0, enqueued: 0 },
          durations: undefined,
          lastFailureAt: undefined,
        };
        this.#names.set(key, figures);
      }
    }
    return figures;
  }

  #countMinute(outcome: Outcome, at: number): void {
    const minute = Math.floor(at / MINUTE);
    const slot = minute % LIMITS.minutes;
    if (this.#minuteOf[slot] !== minute) {
      this.#minuteOf[slot] = minute;
      this.#minuteCounts.fill(0, slot * OUTCOMES.length, (slot + 1) * OUTCOMES.length);
    }
    const index = slot * OUTCOMES.length + OUTCOMES.indexOf(outcome);
    this.#minuteCounts[index] = (this.#minuteCounts[index] ?? 0) + 1;
  }

  /** The last hour, minute by minute, ending with the current minute. */
  minutes(now: number): MinutesView {
    const last = Math.floor(now / MINUTE);
    const counts: number[][] = [];
    for (let minute = last - LIMITS.minutes + 1; minute <= last; minute++) {
      const slot = minute % LIMITS.minutes;
      const start = slot * OUTCOMES.length;
      counts.push(
        this.#minuteOf[slot] === minute ? Array.from(this.#minuteCounts.subarray(start, start + OUTCOMES.length)) : OUTCOMES.map(() => 0),
      );
    }
    return { from: (last - LIMITS.minutes + 1) * MINUTE, counts };
  }

  names(): NameView[] {
    return [...this.#names].map(([name, figures]) => ({
      name,
      counts: { ...figures.counts },
      p50: figures.durations?.quantile(0.5),
      p95: figures.durations?.quantile(0.95),
      max: figures.durations?.max,
      lastFailureAt: figures.lastFailureAt,
    }));
  }

  /** The running tasks the page lists: the longest-running first. */
  running(limit: number = LIMITS.runningShown): TaskView[] {
    const views: TaskView[] = [];
    for (const { entry } of this.#running.values()) {
      if (views.length >= limit) break;
      views.push(runningView(entry));
    }
    return views;
  }

  /** Tasks that match `query`, running ones first, then finished ones newest first; at most LIMITS.listed. */
  find(query: TaskQuery): TaskView[] {
    const id = query.id.trim().toLowerCase();
    const matches = (view: { id: string; name: string; state: string }): boolean =>
      (id === '' || view.id.startsWith(id)) &&
      (query.name === '' || view.name === query.name) &&
      (query.state === 'all' ||
        view.state === query.state ||
        (query.state === 'failures' && (view.state === 'failed' || view.state === 'timedOut')));
    const found: TaskView[] = [];
    const seen = new Set<string>();
    const add = (view: TaskView): boolean => {
      if (seen.has(view.id) || !matches(view)) return found.length < LIMITS.listed;
      seen.add(view.id);
      found.push(view);
      return found.length < LIMITS.listed;
    };
    for (const { entry } of this.#running.values()) if (!add(runningView(entry))) return found;
    // Failures first from their own list (it has their stacks), then the rest; each newest first.
    const failuresOnly = query.state === 'failures' || query.state === 'failed' || query.state === 'timedOut';
    const finished: TaskView[] = [];
    for (const view of this.#failures.newestFirst()) if (matches(view)) finished.push(view);
    if (!failuresOnly || finished.length < LIMITS.listed) {
      const known = new Set(finished.map((view) => view.id));
      for (const view of this.#finished.newestFirst()) if (!known.has(view.id) && matches(view)) finished.push(view);
    }
    finished.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    for (const view of finished) if (!add(view)) break;
    return found;
  }

  /** Aborts a running task's signal (in this process or a thread); false when no running task has that id. */
  abort(id: string, reason: unknown): boolean {
    const abort = this.#running.get(id)?.entry.abort;
    if (abort === undefined) return false;
    abort(reason);
    return true;
  }
}

function runningView(entry: TaskEntry): TaskView {
  return {
    id: entry.id,
    name: clip(entry.name, LIMITS.text),
    where: entry.where,
    state: entry.state,
    attempts: entry.attempts,
    method: entry.method,
    path: clip(entry.path, LIMITS.text),
    addedAt: entry.addedAt,
    startedAt: entry.startedAt,
    finishedAt: undefined,
    durationMs: undefined,
    progress: entry.progress,
    message: entry.message === undefined ? undefined : clip(entry.message, LIMITS.text),
    error: undefined,
  };
}
