// Scenario 1: GET / on bare Express vs the middleware mounted and no task added.
import { startServer } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { medianOf } from '../lib/rounds.mjs';
import { cpuRatio, rpsRatio, THROUGHPUT_HEAD, throughputRounds, throughputRows } from '../lib/throughput.mjs';

export const id = 'unused';
export const title = 'Unused: GET / with the middleware mounted, no task added';

export async function run(ctx) {
  const systems = [
    { name: 'bare', label: 'bare Express 5', config: { mechanism: 'none' } },
    { name: 'empty', label: 'bare plus an empty middleware (reference)', config: { mechanism: 'empty' } },
    { name: 'onFinished', label: 'hand-rolled, lazy onFinished() list, unused (the floor)', config: { mechanism: 'on-finished' } },
    { name: 'middleware', label: 'backgroundTasks() mounted, unused', config: { mechanism: 'middleware' } },
  ];
  await Promise.all(systems.map(async (system) => (system.server = await ctx.start(startServer(system.config)))));
  const samples = await throughputRounds(ctx, systems, { path: '/' });
  return {
    id,
    title,
    // For the overhead scenario: the floor's whole request, to turn the middleware's own ns into a ratio.
    floorCpuPerRequestUs: medianOf(samples.onFinished, (s) => s.cpuPerRequestUs),
    about:
      "Every server answers `GET /` with the demo app's JSON. The reference has an empty middleware `(req, res, next) => next()` " +
      'in front, to show what any middleware costs in Express; the floor is the hand-rolled lazy `onFinished()` list of the ' +
      'register scenario (a list object in `res.locals` per request, nothing else until a task is added); the last has ' +
      '`app.use(backgroundTasks())`.',
    table: { head: THROUGHPUT_HEAD, rows: throughputRows(systems, samples) },
    figures: [
      figure('Unused: CPU/request, bare ÷ middleware', cpuRatio(samples, 'middleware', 'bare'), { target: 0.98, chart: true }),
      figure('Unused: CPU/request, empty middleware ÷ middleware', cpuRatio(samples, 'middleware', 'empty'), { chart: true }),
      figure('Unused: CPU/request, onFinished() list ÷ middleware', cpuRatio(samples, 'middleware', 'onFinished'), { target: 0.99 }),
      figure('Unused: req/s, middleware ÷ bare', rpsRatio(samples, 'middleware', 'bare'), { chart: true }),
    ],
  };
}
