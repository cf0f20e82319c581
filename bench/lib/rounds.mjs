// Interleaved rounds: every system warmed, then measured A B A B ... so that drift hits them all alike.
import { fixed, median } from './stats.mjs';

/**
 * Runs `measure(system)` for each system in turn, `rounds` times, after one `warm(system)` each.
 * Returns, per system name, the list of what measure() returned, one entry per round.
 */
export async function interleavedRounds(systems, { rounds, warm, measure, log }) {
  for (const system of systems) await warm(system);
  const samples = Object.fromEntries(systems.map((system) => [system.name, []]));
  for (let round = 1; round <= rounds; round++) {
    const line = [];
    for (const system of systems) {
      const sample = await measure(system);
      samples[system.name].push(sample);
      line.push(`${system.name} ${sample.summary}`);
    }
    log(`  round ${round}/${rounds}: ${line.join(' | ')}`);
  }
  return samples;
}

/** The median over rounds of a per-round ratio between two systems' samples (same round, same index). */
export function medianRatio(numerators, denominators, pick) {
  return median(numerators.map((sample, i) => pick(sample) / pick(denominators[i])));
}

/** The median over rounds of one measure of a system. */
export function medianOf(samples, pick) {
  return median(samples.map(pick));
}

/** A table cell: the median over rounds of one measure, with `digits` decimals. */
export function medianCell(samples, pick, digits) {
  return fixed(medianOf(samples, pick), digits);
}

/** A table cell: the median per-round ratio between two systems, with `digits` decimals. */
export function ratioCell(numerators, denominators, pick, digits) {
  return fixed(medianRatio(numerators, denominators, pick), digits);
}
