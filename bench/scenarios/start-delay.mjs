// Scenario 4: from the response's 'finish' to the task's first line, under load.
import { startServer } from '../lib/child.mjs';
import { load } from '../lib/load.mjs';
import { figure } from '../lib/result.mjs';
import { count, fixed } from '../lib/stats.mjs';

export const id = 'start-delay';
export const title = "Start delay: from the response's finish to the task's start";

const PATH = '/register?email=user%40example.com';

export async function run(ctx) {
  const { seconds, warmSeconds, connections } = ctx.settings;
  const systems = [
    { name: 'middleware', label: 'backgroundTasks()', mechanism: 'middleware' },
    { name: 'finish', label: "hand-rolled res.on('finish') loop (reference)", mechanism: 'finish' },
  ];
  const rows = [];
  const figures = [];
  for (const system of systems) {
    const server = await ctx.start(startServer({ mechanism: system.mechanism, task: 'mark' }));
    await load(server, { path: PATH, method: 'POST', connections, seconds: warmSeconds });
    await server.request('delays'); // forget the warm-up's
    await load(server, { path: PATH, method: 'POST', connections, seconds });
    const delays = await server.request('delays');
    if (delays.count === 0) throw new Error(`${system.name}: no task start recorded`);
    ctx.log(`  ${system.name}: p50 ${fixed(delays.p50, 1)} µs, p99 ${fixed(delays.p99, 1)} µs over ${delays.count} tasks`);
    rows.push([system.label, count(delays.count), fixed(delays.p50, 1), fixed(delays.p99, 1)]);
    figures.push(
      figure(`Start delay p50, ${system.name}`, delays.p50, { decimals: 1, unit: ' µs' }),
      figure(`Start delay p99, ${system.name}`, delays.p99, { decimals: 1, unit: ' µs' }),
    );
  }
  return {
    id,
    title,
    about:
      `A first middleware stamps \`performance.now()\` on the response's 'finish' event; the task (the demo app's one, on ` +
      `\`POST /register\`) subtracts it from \`performance.now()\` on its first line. ${connections} connections, ${seconds} s.`,
    table: { head: ['system', 'tasks', 'p50 µs', 'p99 µs'], rows },
    figures,
  };
}
