// Micro-benchmark of thread dispatch without HTTP: 200 lists of 100 trivial thread tasks through the middleware, against raw piscina.
//
// npm run build && node bench/dispatch-micro.mjs [--rounds=7] [--chains=200] [--tasks=100]
//
// The dispatch scenario of bench/scenarios/isolation.mjs does the same over HTTP (200 POST /trivial requests at once);
// here the lists are made on real IncomingMessage/ServerResponse objects (no socket) and 'finish' is emitted on each, so
// the figure is the package's dispatch alone. Raw piscina gets the same chains (each chain's run() calls one after
// another, all chains at once), with as many threads. Rounds alternate; the ratio is the median of per-round ratios.
import http from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

const require = createRequire(import.meta.url);
const { Piscina } = require('piscina');
const { backgroundTasks } = require('../dist/index.js');
const { threadPool } = require('../dist/threads/index.js');
const tasks = require('./isolation-tasks.cjs');

function arg(name, fallback) {
  const value = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]);
  return value > 0 ? value : fallback;
}
const ROUNDS = arg('rounds', 7);
const CHAINS = arg('chains', 200);
const TASKS = arg('tasks', 100);
const maxThreads = Math.max(availableParallelism() - 1, 1);

const threads = threadPool({ module: require.resolve('./isolation-tasks.cjs'), maxThreads });
const background = backgroundTasks({ threads });
const raw = new Piscina({ filename: require.resolve('./raw-piscina-task.cjs'), maxThreads, minThreads: 1 });

/** CPU µs per task of the last round (process.cpuUsage: every thread of this process). */
let cpuPerTask = 0;

async function ours() {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let c = 0; c < CHAINS; c++) {
    const req = new http.IncomingMessage(null);
    req.method = 'POST';
    req.url = '/trivial';
    const res = new http.ServerResponse(req);
    res.locals = Object.create(null);
    background(req, res, () => {});
    for (let i = 0; i < TASKS; i++) res.locals.background.addTask(tasks.trivialThreadTask, 'user@example.com');
    res.emit('finish');
  }
  const { drained } = await background.drain();
  if (!drained) throw new Error('dispatch-micro: not drained');
  const used = process.cpuUsage(cpu);
  cpuPerTask = (used.user + used.system) / (CHAINS * TASKS);
  return (CHAINS * TASKS) / ((performance.now() - started) / 1000);
}

async function piscina() {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CHAINS }, async () => {
      for (let i = 0; i < TASKS; i++) await raw.run('user@example.com');
    }),
  );
  const used = process.cpuUsage(cpu);
  cpuPerTask = (used.user + used.system) / (CHAINS * TASKS);
  return (CHAINS * TASKS) / ((performance.now() - started) / 1000);
}

await ours();
await piscina();
const ratios = [];
for (let r = 0; r < ROUNDS; r++) {
  // Alternating which goes first, so that neither always follows the other's garbage.
  let a;
  let aCpu;
  if (r % 2 === 0) {
    a = await ours();
    aCpu = cpuPerTask;
  }
  const b = await piscina();
  const bCpu = cpuPerTask;
  if (a === undefined) {
    a = await ours();
    aCpu = cpuPerTask;
  }
  ratios.push(a / b);
  console.log(
    `round ${r + 1}: ours ${Math.round(a)} tasks/s (${aCpu.toFixed(1)} µs CPU/task), raw piscina ${Math.round(b)} tasks/s (${bCpu.toFixed(1)} µs CPU/task): ${(a / b).toFixed(3)}`,
  );
}
ratios.sort((x, y) => x - y);
console.log(`${process.version}: median ours ÷ raw piscina ${ratios[ratios.length >> 1].toFixed(3)}`);
const { failed, timedOut } = background.stats();
if (failed + timedOut > 0) throw new Error(`dispatch-micro: ${failed} failed, ${timedOut} timed out`);
await threads.close();
await raw.destroy();
