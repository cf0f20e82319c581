// A sliding window of starts: at most `limit` in any `per` ms, whatever the window's position (no fixed buckets).

/** The times of the last `limit` starts, as a ring: a start at `now` is allowed when the oldest of them is `per` ms old. */
export class RateWindow {
  readonly #limit: number;
  readonly #per: number;
  readonly #starts: number[] = [];
  /** Where the next start is written once the ring is full (it then holds the oldest). */
  #next = 0;

  constructor(limit: number, per: number) {
    this.#limit = limit;
    this.#per = per;
  }

  /** How many ms from `now` until a start is allowed (0: now). */
  wait(now: number): number {
    if (this.#starts.length < this.#limit) return 0;
    return Math.max(0, (this.#starts[this.#next] as number) + this.#per - now);
  }

  record(now: number): void {
    if (this.#starts.length < this.#limit) this.#starts.push(now);
    else {
      this.#starts[this.#next] = now;
      this.#next = (this.#next + 1) % this.#limit;
    }
  }

  /** True when no start falls within the last `per` ms: the window can be forgotten. */
  idle(now: number): boolean {
    const newest = this.#starts.length < this.#limit ? this.#starts.at(-1) : this.#starts.at(this.#next - 1);
    return newest === undefined || now - newest >= this.#per;
  }
}
