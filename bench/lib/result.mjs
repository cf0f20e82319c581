// One reported figure of a scenario: its value, its display, its target if it has one, and whether it is charted.
import { fixed } from './stats.mjs';

/**
 * `op` is '>=' or '<=' when the figure has a target; `chart: true` puts it in results.svg (ratios only,
 * where 1.0 means "the same as the reference").
 */
export function figure(label, value, { target, op = '>=', decimals = 3, unit = '', chart = false } = {}) {
  const met = target === undefined || !Number.isFinite(value) ? undefined : op === '>=' ? value >= target : value <= target;
  return {
    label,
    value,
    display: `${fixed(value, decimals)}${unit}`,
    target: target === undefined ? undefined : { op, value: target, display: `${op === '>=' ? '≥' : '≤'} ${target}${unit}` },
    met,
    chart,
  };
}
