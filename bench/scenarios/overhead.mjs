// Scenario 2b (after unused and register): the middleware's own ns per request over the on-finished floor (bench/request-micro.mjs), and as a ratio.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, serverSettings } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { fixed } from '../lib/stats.mjs';

export const id = 'overhead';
export const title = 'Overhead: the middleware’s own ns per request over the on-finished floor';

/** (floor's whole request + what the middleware adds over it) ÷ the floor's request; NaN without that scenario's floor. */
function ratioOver(sections, scenario, overNs) {
  const floorUs = sections.find((section) => section.id === scenario)?.floorCpuPerRequestUs;
  return floorUs === undefined ? Number.NaN : (floorUs * 1000 + overNs) / (floorUs * 1000);
}

export async function run(ctx) {
  const rounds = ctx.quick ? 5 : 41;
  const script = path.join(BENCH_DIR, 'request-micro.mjs');
  const output = execFileSync(serverSettings.nodePath, [script, `--rounds=${rounds}`, '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(output);
  const overUnused = result.unused.builds[0].addedNs - result.unused.floorNs;
  const overRegister = result.register.builds[0].addedNs - result.register.floorNs;
  ctx.log(
    `  overhead: unused +${fixed(overUnused, 0)} ns, register ${overRegister >= 0 ? '+' : ''}${fixed(overRegister, 0)} ns over the floor`,
  );
  const row = (name, part) => [name, fixed(part.baseNs, 0), fixed(part.floorNs, 0), fixed(part.builds[0].addedNs, 0)];
  return {
    id,
    title,
    about:
      'The HTTP scenarios measure a whole request (tens of µs), where the part this package adds is a few hundred ns: ' +
      'their rounds move by more than that on a shared machine. Here one process (on the servers’ Node) makes real ' +
      '`IncomingMessage`/`ServerResponse` objects without a socket, runs the middleware (or the floor: the lazy ' +
      '`onFinished()` list of the register scenario) on them, adds one trivial task for register, and emits `finish`, so ' +
      `that on-finished calls the listener as after a real response; ${result.rounds} interleaved rounds of ` +
      `${result.batch} requests, medians, minus the objects alone. The ratios add that difference to the floor’s whole ` +
      'request as the unused and register scenarios measured it in this run (NaN when they did not run).',
    table: {
      head: ['request', 'objects alone, ns', 'on-finished floor adds, ns', 'backgroundTasks() adds, ns'],
      rows: [row('GET /, no task', result.unused), row('POST /register, one task', result.register)],
    },
    figures: [
      figure('Overhead: unused, ns over the on-finished floor', overUnused, { decimals: 0, unit: ' ns' }),
      figure('Overhead: register, ns over the on-finished floor', overRegister, { decimals: 0, unit: ' ns' }),
      figure('Overhead: unused, CPU/request ÷ the floor’s', ratioOver(ctx.sections, 'unused', overUnused), {
        target: 1.01,
        op: '<=',
      }),
      figure('Overhead: register, CPU/request ÷ the floor’s', ratioOver(ctx.sections, 'register', overRegister), {
        target: 1.02,
        op: '<=',
      }),
    ],
  };
}
