// dedupe in this process: 'drop' remembers the task of a key while it is pending and for ttl after its add; 'debounce' holds the last add of a key until ttl of quiet.

interface Held<T> {
  readonly value: T;
  readonly addedAt: number;
  /** Queued or running (for a queue: not yet stored): deduplicates whatever the ttl. */
  live: boolean;
}

/** 'drop': while a key's task is pending, or within `ttl` ms after it was added, later adds of the key are dropped onto it. */
export class DropDedupe<T> {
  readonly #ttl: number;
  readonly #keys = new Map<string, Held<T>>();

  constructor(ttl: number) {
    this.#ttl = ttl;
  }

  /** The task a new add of `key` is deduplicated onto, or undefined when the add goes ahead. */
  existing(key: string): T | undefined {
    const held = this.#keys.get(key);
    if (held === undefined) return undefined;
    if (held.live || performance.now() - held.addedAt < this.#ttl) return held.value;
    this.#keys.delete(key);
    return undefined;
  }

  hold(key: string, value: T): void {
    this.#keys.set(key, { value, addedAt: performance.now(), live: true });
  }

  /** `value` is no longer pending: its key is kept for what is left of its ttl, then forgotten. */
  done(key: string, value: T): void {
    const held = this.#keys.get(key);
    if (held === undefined || held.value !== value) return;
    held.live = false;
    const left = held.addedAt + this.#ttl - performance.now();
    if (left <= 0) {
      this.#keys.delete(key);
      return;
    }
    setTimeout(() => {
      if (this.#keys.get(key) === held) this.#keys.delete(key);
    }, Math.ceil(left)).unref();
  }
}

interface Pending<T> {
  value: T;
  timer: NodeJS.Timeout;
}

/** 'debounce': a burst of adds of one key becomes one run, `ttl` ms after the last add, of what the last add replaced it with. */
export class Debouncer<T> {
  readonly #ttl: number;
  readonly #fire: (value: T) => void;
  readonly #keys = new Map<string, Pending<T>>();

  constructor(ttl: number, fire: (value: T) => void) {
    this.#ttl = ttl;
    this.#fire = fire;
  }

  /** What is waiting for quiet for `key`, if anything. */
  pending(key: string): T | undefined {
    return this.#keys.get(key)?.value;
  }

  /** Holds `value` for `key` (replacing what was held) and starts the ttl again. */
  hold(key: string, value: T): void {
    const pending = this.#keys.get(key);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      pending.value = value;
      pending.timer = this.#timer(key);
      return;
    }
    this.#keys.set(key, { value, timer: this.#timer(key) });
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Fires every held value now (drain(): shutting down is no time to wait for quiet). */
  flush(): void {
    for (const key of [...this.#keys.keys()]) this.#fireKey(key);
  }

  #timer(key: string): NodeJS.Timeout {
    // Not unref'd: like a waiting task, a held one keeps the process alive until it has run.
    return setTimeout(() => this.#fireKey(key), this.#ttl);
  }

  #fireKey(key: string): void {
    const pending = this.#keys.get(key);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#keys.delete(key);
    this.#fire(pending.value);
  }
}
