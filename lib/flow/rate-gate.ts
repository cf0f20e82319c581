// rateLimit in this process: a sliding window per key, and the tasks waiting for it in order (one let through at a time).
import { RateWindow } from './rate-window.js';

interface KeyState {
  readonly window: RateWindow;
  /** Tasks waiting for the window, oldest first. */
  readonly waiting: Array<() => void>;
  /** A task was let through and has not started yet: those behind it wait, so that the order per key holds. */
  passing: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Set while the key waits to be forgotten (nobody waiting, starts still in the window). */
  forget: NodeJS.Timeout | undefined;
}

/**
 * Lets tasks through per key so that at most `limit` start in any `per` ms. A task is let through only when the
 * window allows a start now, and its start is recorded when it really starts (after any wait for a concurrency slot),
 * so that a slot granted late can never bunch starts together.
 */
export class RateGate {
  readonly #limit: number;
  readonly #per: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(limit: number, per: number) {
    this.#limit = limit;
    this.#per = per;
  }

  /** Calls `go` once the task may start: at once (and returns true) when nothing waits and the window allows it. */
  pass(key: string, go: () => void): boolean {
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { window: new RateWindow(this.#limit, this.#per), waiting: [], passing: false, timer: undefined, forget: undefined };
      this.#keys.set(key, state);
    }
    if (!state.passing && state.waiting.length === 0 && state.window.wait(performance.now()) === 0) {
      state.passing = true;
      return true;
    }
    state.waiting.push(go);
    this.#next(key, state);
    return false;
  }

  /** The task let through for `key` starts now: its start enters the window, and the next one may follow. */
  started(key: string): void {
    const state = this.#keys.get(key);
    if (state === undefined) return;
    state.window.record(performance.now());
    state.passing = false;
    this.#next(key, state);
  }

  /** Tasks waiting for their window now (for tests and stats). */
  get waiting(): number {
    let count = 0;
    for (const state of this.#keys.values()) count += state.waiting.length;
    return count;
  }

  #next(key: string, state: KeyState): void {
    if (state.passing || state.timer !== undefined) return;
    if (state.waiting.length === 0) {
      this.#forgetLater(key, state);
      return;
    }
    const wait = state.window.wait(performance.now());
    if (wait > 0) {
      // Timers may fire a fraction of a ms early: the window is asked again when this one fires.
      state.timer = setTimeout(() => {
        state.timer = undefined;
        this.#next(key, state);
      }, Math.ceil(wait));
      return;
    }
    state.passing = true;
    queueMicrotask(state.waiting.shift() as () => void);
  }

  /** A key with nobody waiting is forgotten once its window is empty, so that many keys do not pile up. */
  #forgetLater(key: string, state: KeyState): void {
    if (state.forget !== undefined) return;
    if (state.window.idle(performance.now())) {
      this.#keys.delete(key);
      return;
    }
    state.forget = setTimeout(() => {
      state.forget = undefined;
      if (state.waiting.length === 0 && !state.passing && state.timer === undefined) this.#forgetLater(key, state);
    }, this.#per);
    state.forget.unref();
  }
}
