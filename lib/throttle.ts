// Throttle: runs an action at once, then at most once per window however often it is asked (taskProgress() writes).

/** How often a task's progress is passed on (to observers, or to the queue): at most four times a second. */
export const PROGRESS_WINDOW_MS = 250;

/**
 * Calls `emit` at once on the first push, then at most once per `ms`: a push inside a window is emitted when the
 * window ends. The caller keeps the latest value itself; stop() says whether a push was left unemitted, so that
 * the final value is never lost. The timer does not keep the process alive.
 */
export class Throttle {
  readonly #ms: number;
  readonly #emit: () => void;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;

  constructor(ms: number, emit: () => void) {
    this.#ms = ms;
    this.#emit = emit;
  }

  push(): void {
    if (this.#timer !== undefined) {
      this.#dirty = true;
      return;
    }
    this.#emit();
    this.#timer = setTimeout(this.#tick, this.#ms);
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.push();
  };

  /** Stops the window; returns whether a push is still unemitted (the caller then passes the final value on itself). */
  stop(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dirty = this.#dirty;
    this.#dirty = false;
    return dirty;
  }
}
