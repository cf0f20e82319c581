// concurrency in this process: at most `limit` tasks running per key; the others wait in order for a slot.

interface KeyState {
  running: number;
  readonly waiting: Array<() => void>;
}

export class KeySlots {
  readonly #limit: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot for `key`: at once (returns true) when one is free and nobody waits; else `go` is called when one is. */
  take(key: string, go: () => void): boolean {
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { running: 0, waiting: [] };
      this.#keys.set(key, state);
    }
    if (state.running < this.#limit && state.waiting.length === 0) {
      state.running++;
      return true;
    }
    state.waiting.push(go);
    return false;
  }

  /** A task of `key` ended: its slot goes straight to the first waiting (on a microtask, so that runs never nest). */
  release(key: string): void {
    const state = this.#keys.get(key);
    if (state === undefined) return;
    const next = state.waiting.shift();
    if (next !== undefined) {
      queueMicrotask(next);
      return;
    }
    if (--state.running === 0) this.#keys.delete(key);
  }

  /** Running per key now, for the tests that check it is never exceeded. */
  running(key: string): number {
    return this.#keys.get(key)?.running ?? 0;
  }
}
