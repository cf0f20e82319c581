// Scenario 2: the demo app's POST /register with one trivial task, run by bare Express, by hand, and by the middleware.
import { startServer } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { medianOf } from '../lib/rounds.mjs';
import { cpuRatio, rpsRatio, THROUGHPUT_HEAD, throughputRounds, throughputRows } from '../lib/throughput.mjs';

export const id = 'register';
export const title = 'Register: POST /register with one trivial task';

export async function run(ctx) {
  const systems = [
    { name: 'bare', label: 'bare Express 5, task called fire-and-forget', config: { mechanism: 'none' } },
    { name: 'finish', label: "hand-rolled middleware, res.on('finish') loop", config: { mechanism: 'finish' } },
    { name: 'onFinished', label: 'hand-rolled, lazy onFinished() loop (reference)', config: { mechanism: 'on-finished' } },
    {
      name: 'onFinishedAls',
      label: 'the same, each task in AsyncLocalStorage.run() (reference)',
      config: { mechanism: 'on-finished-als' },
    },
    { name: 'middleware', label: 'backgroundTasks()', config: { mechanism: 'middleware' } },
  ];
  await Promise.all(systems.map(async (system) => (system.server = await ctx.start(startServer({ ...system.config, task: 'trivial' })))));
  const samples = await throughputRounds(ctx, systems, { path: '/register?email=user%40example.com', method: 'POST' });
  for (const system of systems) {
    const { started, finished } = await system.server.request('counters');
    if (started !== finished || started === 0) throw new Error(`${system.name}: ${started} tasks started, ${finished} finished`);
  }
  return {
    id,
    title,
    // For the overhead scenario: the floor's whole request, to turn the middleware's own ns into a ratio.
    floorCpuPerRequestUs: medianOf(samples.onFinished, (s) => s.cpuPerRequestUs),
    about:
      "The demo app's handler answers `{ message }` and has `sendEmail(email)` (an async function that only counts) run after the " +
      'response. The hand-rolled middleware is what one writes without the package: a list in `res.locals` and an eager ' +
      "`res.on('finish')` listener that runs it. The lazy `onFinished()` version is the floor for a listener that also " +
      'sees aborted responses, which `finish` never does; with each task in `AsyncLocalStorage.run()`, it is the floor for a ' +
      'task with a store of its own, which `taskSignal()` needs (on Node 20 the first `run()` turns on async hooks for the ' +
      'whole process).',
    table: { head: THROUGHPUT_HEAD, rows: throughputRows(systems, samples) },
    figures: [
      figure('Register: CPU/request, bare ÷ middleware', cpuRatio(samples, 'middleware', 'bare'), { target: 0.95, chart: true }),
      figure("Register: CPU/request, res.on('finish') ÷ middleware", cpuRatio(samples, 'middleware', 'finish'), {
        target: 0.97,
        chart: true,
      }),
      figure('Register: CPU/request, onFinished() ÷ middleware', cpuRatio(samples, 'middleware', 'onFinished'), {
        target: 0.98,
        chart: true,
      }),
      figure('Register: CPU/request, onFinished() + AsyncLocalStorage ÷ middleware', cpuRatio(samples, 'middleware', 'onFinishedAls'), {
        chart: true,
      }),
      figure('Register: CPU/request, bare ÷ onFinished() (the floor on-finished sets)', cpuRatio(samples, 'onFinished', 'bare'), {
        chart: true,
      }),
      figure('Register: req/s, middleware ÷ bare', rpsRatio(samples, 'middleware', 'bare'), { chart: true }),
      figure("Register: req/s, middleware ÷ res.on('finish')", rpsRatio(samples, 'middleware', 'finish'), { chart: true }),
    ],
  };
}
