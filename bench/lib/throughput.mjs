// Throughput rounds shared by the scenarios that compare systems on one route: req/s and server CPU per request.
import { load } from './load.mjs';
import { interleavedRounds, medianCell, medianRatio, ratioCell } from './rounds.mjs';
import { fixed } from './stats.mjs';

/**
 * Starts nothing: `systems` are { name, label, server } already listening. Loads each with `connections`
 * for `seconds`, round by round, and returns per-system samples of { rps, cpuPerRequestUs }.
 */
export function throughputRounds(ctx, systems, { path, method = 'GET' }) {
  const { rounds, seconds, warmSeconds, connections } = ctx.settings;
  return interleavedRounds(systems, {
    rounds,
    log: ctx.log,
    warm: (system) => load(system.server, { path, method, connections, seconds: warmSeconds }),
    measure: async (system) => {
      const run = await load(system.server, { path, method, connections, seconds });
      return { ...run, summary: `${fixed(run.rps, 0)} req/s ${fixed(run.cpuPerRequestUs, 1)} µs CPU/req` };
    },
  });
}

/** Table rows: median req/s, median CPU per request, and each system's CPU ratio to the first system, round by round. */
export function throughputRows(systems, samples) {
  const base = samples[systems[0].name];
  return systems.map((system) => {
    const own = samples[system.name];
    return [
      system.label,
      medianCell(own, (s) => s.rps, 0),
      medianCell(own, (s) => s.cpuPerRequestUs, 1),
      ratioCell(base, own, (s) => s.cpuPerRequestUs, 3),
      ratioCell(own, base, (s) => s.rps, 3),
    ];
  });
}

export const THROUGHPUT_HEAD = [
  'system',
  'req/s (median)',
  'server CPU µs/request (median)',
  'CPU ratio (first ÷ this)',
  'req/s ratio (this ÷ first)',
];

/**
 * A result comparing `system` against `reference`: CPU per request, reference ÷ system (higher is better,
 * 1.0 = same cost), median of the per-round ratios.
 */
export function cpuRatio(samples, system, reference) {
  return medianRatio(samples[reference], samples[system], (s) => s.cpuPerRequestUs);
}

/** req/s, system ÷ reference, median of the per-round ratios. */
export function rpsRatio(samples, system, reference) {
  return medianRatio(samples[system], samples[reference], (s) => s.rps);
}
