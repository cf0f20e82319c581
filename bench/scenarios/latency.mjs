// Scenario 3: response latency while tasks are pending: 0 ms tasks vs 50 ms tasks, p50 and p99.
import { startServer } from '../lib/child.mjs';
import { load } from '../lib/load.mjs';
import { figure } from '../lib/result.mjs';
import { interleavedRounds, medianCell, medianRatio } from '../lib/rounds.mjs';
import { fixed, percentiles } from '../lib/stats.mjs';

export const id = 'latency';
export const title = 'Latency isolation: responses while 50 ms tasks are pending';

// One client on one connection: the server is never queueing requests, so a response's latency is its own
// cost plus whatever the pending tasks' timers and promises take away from it.
const CONNECTIONS = 1;
const PATH = '/register?email=user%40example.com';

export async function run(ctx) {
  const { rounds, seconds, warmSeconds } = ctx.settings;
  const systems = [
    { name: 'sleep0', label: 'backgroundTasks(), 0 ms tasks', sleepMs: 0, mechanism: 'middleware' },
    { name: 'sleep50', label: 'backgroundTasks(), 50 ms tasks', sleepMs: 50, mechanism: 'middleware' },
    { name: 'bare0', label: 'bare Express, 0 ms tasks fire-and-forget (reference)', sleepMs: 0, mechanism: 'none' },
    { name: 'bare50', label: 'bare Express, 50 ms tasks fire-and-forget (reference)', sleepMs: 50, mechanism: 'none' },
  ];
  await Promise.all(
    systems.map(async (system) => {
      system.server = await ctx.start(startServer({ mechanism: system.mechanism, task: 'sleep', sleepMs: system.sleepMs }));
    }),
  );
  const samples = await interleavedRounds(systems, {
    rounds,
    log: ctx.log,
    warm: (system) => load(system.server, { path: PATH, method: 'POST', connections: CONNECTIONS, seconds: warmSeconds }),
    measure: async (system) => {
      const run = await load(system.server, { path: PATH, method: 'POST', connections: CONNECTIONS, seconds, latencies: true });
      // Read at once: the tasks of the last 50 ms are still pending, which shows how many were in flight.
      const { pending } = await system.server.request('counters');
      const { p50, p99 } = percentiles(run.latencies);
      return {
        p50,
        p99,
        rps: run.rps,
        pending,
        summary: `p50 ${fixed(p50 * 1000, 0)} µs p99 ${fixed(p99 * 1000, 0)} µs, ${pending} pending`,
      };
    },
  });
  const rows = systems.map((system) => {
    const own = samples[system.name];
    return [
      system.label,
      medianCell(own, (s) => s.rps, 0),
      medianCell(own, (s) => s.pending, 0),
      medianCell(own, (s) => s.p50 * 1000, 0),
      medianCell(own, (s) => s.p99 * 1000, 0),
    ];
  });
  const [fast, slow] = [samples.sleep0, samples.sleep50];
  return {
    id,
    title,
    about:
      "The demo app's `POST /register` on the middleware; the task sleeps 0 ms or 50 ms (a timer). One connection, so " +
      "latencies are not queueing; every response time is kept (autocannon's histogram rounds to whole ms). Bare Express " +
      'calling the same tasks fire-and-forget shows what hundreds of pending timers cost any server.',
    table: { head: ['system', 'req/s (median)', 'tasks pending at the end (median)', 'p50 µs (median)', 'p99 µs (median)'], rows },
    figures: [
      figure(
        'Latency: p50, 50 ms tasks ÷ 0 ms tasks',
        medianRatio(slow, fast, (s) => s.p50),
        { chart: true },
      ),
      figure(
        'Latency: p99, 50 ms tasks ÷ 0 ms tasks',
        medianRatio(slow, fast, (s) => s.p99),
        { target: 1.05, op: '<=', chart: true },
      ),
      figure(
        'Latency: p99, bare Express, 50 ms tasks ÷ 0 ms tasks (reference)',
        medianRatio(samples.bare50, samples.bare0, (s) => s.p99),
        { chart: true },
      ),
    ],
  };
}
