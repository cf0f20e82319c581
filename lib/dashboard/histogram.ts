// A small fixed-size duration histogram (log-spaced buckets, 2.5 KB) for one task name's p50, p95 and max.

/** The smallest duration told apart, in ms (1 µs); shorter ones count in the first bucket. */
const LOWEST_MS = 0.001;
/** Each bucket's upper bound is this much above its lower one: quantiles are within 2% of the true value. */
const RATIO = 1.04;
/** Buckets from 1 µs up to about 26 hours; longer durations count in the last one (max stays exact). */
export const BUCKETS = 640;
const LOG_RATIO = Math.log(RATIO);

/**
 * Why not node:perf_hooks' createHistogram(): an HDR histogram over the same range (1 µs to a day) at two significant
 * figures holds about 30 KB of 64-bit counters per name; these 640 32-bit buckets hold 2.5 KB, at a 2% resolution
 * that a dashboard's p50/p95 do not need to beat.
 */
export class DurationHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  /** The longest duration recorded, exactly (ms). */
  get max(): number {
    return this.#max;
  }

  record(ms: number): void {
    if (!(ms >= 0)) return;
    const index = ms <= LOWEST_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / LOWEST_MS) / LOG_RATIO));
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** The duration (ms) below which the fraction `q` of the recorded ones fall, or undefined before any is recorded. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] ?? 0;
      // The bucket's upper bound, never above the longest one seen.
      if (seen >= rank) return Math.min(LOWEST_MS * RATIO ** i, this.#max);
    }
    return this.#max;
  }
}
