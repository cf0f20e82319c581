// Scenario 6: drain rate: many trivial tasks queued on one response, time from its finish to the last task's end.
import { startServer } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { count, fixed, median } from '../lib/stats.mjs';

export const id = 'drain';
export const title = 'Drain rate: trivial tasks queued, then run';

async function flood(server, n) {
  const response = await fetch(`${server.url}/flood?n=${n}`, { method: 'POST' });
  if (!response.ok) throw new Error(`POST /flood answered ${response.status}`);
  await response.arrayBuffer();
  return server.request('flood');
}

export async function run(ctx) {
  const { drainTasks: n, drainRuns: runs } = ctx.settings;
  const systems = [
    { name: 'middleware', label: 'backgroundTasks()', mechanism: 'middleware' },
    { name: 'finish', label: "hand-rolled res.on('finish') loop (reference)", mechanism: 'finish' },
  ];
  const rows = [];
  const figures = [];
  for (const system of systems) {
    const server = await ctx.start(startServer({ mechanism: system.mechanism }));
    await flood(server, Math.min(n, 10_000));
    const results = [];
    for (let i = 0; i < runs; i++) {
      const result = await flood(server, n);
      if (result.stats !== undefined && result.stats.queued + result.stats.running !== 0) {
        throw new Error(`${system.name}: ${result.stats.queued} queued and ${result.stats.running} running after the drain`);
      }
      results.push(result);
    }
    const drainMs = median(results.map((r) => r.drainMs));
    const addMs = median(results.map((r) => r.addMs));
    const rate = n / (drainMs / 1000);
    ctx.log(
      `  ${system.name}: ${count(n)} tasks added in ${fixed(addMs, 1)} ms, drained in ${fixed(drainMs, 1)} ms (${count(rate)} tasks/s)`,
    );
    rows.push([system.label, count(n), fixed(addMs, 1), count(n / (addMs / 1000)), fixed(drainMs, 1), count(rate)]);
    figures.push(figure(`Drain: tasks/s, ${system.name}`, rate, { decimals: 0, unit: ' tasks/s' }));
  }
  return {
    id,
    title,
    about:
      `One \`POST /flood\` handler adds ${count(n)} trivial tasks to its response's list (timed: the add rate), then ` +
      `answers; the drain is timed from the response's 'finish' to the end of the last task. Median of ${runs} runs ` +
      'after a warm-up. Tasks of one list run one after another, so this is the per-task overhead of the loop.',
    table: { head: ['system', 'tasks', 'add ms', 'added/s', 'drain ms', 'tasks/s'], rows },
    figures,
  };
}
