// Scenario 5: memory held per pending task: N requests whose tasks wait on a gate that stays shut while measured.
import { startServer } from '../lib/child.mjs';
import { load } from '../lib/load.mjs';
import { figure } from '../lib/result.mjs';
import { count, fixed } from '../lib/stats.mjs';

export const id = 'memory';
export const title = 'Memory per pending task';

const PATH = '/register?email=user%40example.com';

export async function run(ctx) {
  const { pendingTasks: n, connections } = ctx.settings;
  const systems = [
    { name: 'bare', label: 'bare Express 5, task called fire-and-forget', mechanism: 'none' },
    { name: 'finish', label: "hand-rolled res.on('finish') loop", mechanism: 'finish' },
    { name: 'middleware', label: 'backgroundTasks()', mechanism: 'middleware' },
  ];
  const rows = [];
  const figures = [];
  for (const system of systems) {
    const server = await ctx.start(startServer({ mechanism: system.mechanism, task: 'gate' }));
    // Warm up (code compiled, pools grown), let those tasks finish, then take the baseline.
    await load(server, { path: PATH, method: 'POST', connections, amount: Math.min(n, 2000) });
    await server.request('settle');
    const before = await server.request('memory');
    await load(server, { path: PATH, method: 'POST', connections, amount: n });
    const after = await server.request('memory');
    if (after.pending !== n) throw new Error(`${system.name}: ${after.pending} tasks pending, expected ${n}`);
    if (after.connections !== 0) throw new Error(`${system.name}: ${after.connections} connections still open`);
    const done = await server.request('settle');
    if (done.pending !== 0) throw new Error(`${system.name}: ${done.pending} tasks still pending after the gate opened`);
    const heapKb = (after.heapUsed - before.heapUsed) / n / 1024;
    const rssKb = (after.rss - before.rss) / n / 1024;
    ctx.log(`  ${system.name}: heap ${fixed(heapKb)} KB, RSS ${fixed(rssKb)} KB per pending task`);
    rows.push([system.label, count(n), fixed(heapKb), fixed(rssKb)]);
    figures.push(
      figure(`Memory: heap per pending task, ${system.name}`, heapKb, {
        decimals: 2,
        unit: ' KB',
        ...(system.name === 'middleware' ? { target: 2, op: '<=' } : {}),
      }),
      figure(`Memory: RSS per pending task, ${system.name}`, rssKb, { decimals: 2, unit: ' KB' }),
    );
  }
  return {
    id,
    title,
    about:
      `${count(n)} \`POST /register\` requests (${connections} connections) whose task awaits a gate that opens only after ` +
      'the measurement. Heap used (after forced garbage collections, once every connection has closed) and RSS, each ' +
      'compared with the same server after a warm-up, divided by the number of pending tasks. RSS rarely shrinks, so it ' +
      'is the rougher figure.',
    table: { head: ['system', 'pending tasks', 'heap KB per task', 'RSS KB per task'], rows },
    figures,
  };
}
