// Small statistics and number formatting shared by the bench runner, its scenarios and its server child.

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile (q in 0..1) of an already sorted array or typed array. */
export function percentileOfSorted(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** p50 and p99 of samples (copied and sorted here). */
export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: percentileOfSorted(sorted, 0.5), p99: percentileOfSorted(sorted, 0.99) };
}

/** A fixed number of decimals, or a dash for a missing value. */
export function fixed(value, decimals = 2) {
  return Number.isFinite(value) ? value.toFixed(decimals) : '-';
}

/** Thousands separated by a comma, no decimals. */
export function count(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}
