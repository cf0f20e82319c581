// Event-loop isolation: GET / latency while 4 requests each add a 300 ms CPU task, run in-process, on a thread, or absent; and thread dispatch rate.
import http from 'node:http';
import path from 'node:path';
import { BENCH_DIR, startServer } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { fixed, median, percentiles } from '../lib/stats.mjs';

export const id = 'isolation';
export const title = 'Event-loop isolation: GET / while CPU-heavy tasks run';

const SERVER = path.join(BENCH_DIR, 'isolation-server.mjs');
const CPU_TASKS = 4;
const CPU_MS = 300;
/** One probe every PROBE_EVERY_MS (or as soon as the last one answered, when it took longer). */
const PROBE_EVERY_MS = 5;
/** Trivial thread tasks per POST /trivial request in the dispatch measurement (run in order within each list). */
const TASKS_PER_REQUEST = 100;
/** Responses at once in the dispatch measurement (isolation-server.mjs's rawDispatch runs as many chains). */
const CHAINS = 200;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** The dispatch measurement's CHAINS connections, kept alive across rounds: the server's cost is the requests, not TCP handshakes. */
const spread = new http.Agent({ keepAlive: true, maxSockets: CHAINS });

function timedRequest(url, method) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CHAINS requests at once, each adding TASKS_PER_REQUEST trivial thread tasks; the tasks per second until all have run. */
async function dispatchRound(server) {
  const before = (await server.request('counters')).succeeded;
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: CHAINS },
      () =>
        new Promise((resolve, reject) => {
          const req = http.request(`${server.url}/trivial?n=${TASKS_PER_REQUEST}`, { method: 'POST', agent: spread }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  await server.request('drain');
  const ran = (await server.request('counters')).succeeded - before;
  if (ran !== CHAINS * TASKS_PER_REQUEST) throw new Error(`isolation: dispatch ran ${ran} tasks, not ${CHAINS * TASKS_PER_REQUEST}`);
  return ran / ((performance.now() - started) / 1000);
}

/** One round: 4 requests add the CPU tasks, then GET / is probed one request at a time until the tasks are done. */
async function round(server) {
  await Promise.all(Array.from({ length: CPU_TASKS }, () => timedRequest(`${server.url}/cpu`, 'POST')));
  const latencies = [];
  const drained = server.request('drain');
  let done = false;
  drained.then(() => {
    done = true;
  });
  // Without tasks, the probes still run for as long as the tasks would have: the same number of samples.
  const until = performance.now() + CPU_TASKS * CPU_MS;
  while (server.config.mode === 'none' ? performance.now() < until : !done) {
    const next = performance.now() + PROBE_EVERY_MS;
    latencies.push(await timedRequest(`${server.url}/`, 'GET'));
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await drained;
  return latencies;
}

export async function run(ctx) {
  const rounds = ctx.quick ? 1 : 5;
  const systems = [
    { mode: 'none', label: 'no tasks' },
    { mode: 'process', label: `in-process tasks (${CPU_TASKS} x ${CPU_MS} ms CPU)` },
    { mode: 'thread', label: `thread tasks, defineTask({ thread: true }) (${CPU_TASKS} x ${CPU_MS} ms CPU)` },
  ];
  // Not pinned to one CPU: the threads are what is measured, and they need the machine's other core.
  for (const system of systems)
    system.server = await ctx.start(startServer({ mode: system.mode, cpuMs: CPU_MS }, { script: SERVER, pin: false }));
  for (const system of systems) system.latencies = [];
  for (let r = 0; r < rounds; r++) {
    for (const system of systems) {
      const latencies = await round(system.server);
      system.latencies.push(...latencies);
      const { p50, p99 } = percentiles(latencies);
      ctx.log(`  round ${r + 1}/${rounds}: ${system.mode}: ${latencies.length} probes, p50 ${fixed(p50, 2)} ms, p99 ${fixed(p99, 2)} ms`);
    }
  }
  for (const system of systems) {
    const { p50, p99 } = percentiles(system.latencies);
    Object.assign(system, { p50, p99, max: Math.max(...system.latencies) });
    const { failures } = await system.server.request('counters');
    if (failures.length > 0) throw new Error(`isolation: ${system.mode} tasks failed: ${failures.join('; ')}`);
  }
  // Dispatch rate: CHAINS responses at once, each adding TASKS_PER_REQUEST trivial thread tasks (so CHAINS lists, each run
  // in order), counted until the pool has run them all; raw piscina given the same chains in the same server, rounds alternating.
  const thread = systems[2].server;
  const dispatchRounds = ctx.quick ? 1 : 7;
  const ours = [];
  const raw = [];
  // The server's CPU (main thread and threads) per task: what one dispatch costs, whichever cores the threads got.
  const oursCpu = [];
  const rawCpu = [];
  await dispatchRound(thread); // warm-up: the threads' modules loaded, the code paths compiled
  await thread.request('rawDispatch');
  for (let r = 0; r < dispatchRounds; r++) {
    let cpu = thread.cpuSeconds();
    ours.push(await dispatchRound(thread));
    oursCpu.push(((thread.cpuSeconds() - cpu) / (CHAINS * TASKS_PER_REQUEST)) * 1e6);
    cpu = thread.cpuSeconds();
    const { tasks, ms } = await thread.request('rawDispatch');
    rawCpu.push(((thread.cpuSeconds() - cpu) / tasks) * 1e6);
    raw.push(tasks / (ms / 1000));
    const ratio = ours.at(-1) / raw.at(-1);
    ctx.log(
      `  dispatch round ${r + 1}/${dispatchRounds}: ${Math.round(ours.at(-1))} vs raw piscina ${Math.round(raw.at(-1))} tasks/s (${fixed(ratio, 3)}); ` +
        `CPU per task ${fixed(oursCpu.at(-1), 1)} vs ${fixed(rawCpu.at(-1), 1)} µs`,
    );
  }
  const tasksPerSecond = median(ours);
  const rawPerSecond = median(raw);
  const dispatchRatio = median(ours.map((value, i) => value / raw[i]));
  const cpuRatio = median(oursCpu.map((value, i) => rawCpu[i] / value));
  const [none, inProcess, onThreads] = systems;
  return {
    id,
    title,
    about:
      `Each round, ${CPU_TASKS} \`POST /cpu\` requests each add a ${CPU_MS} ms CPU-bound task; then \`GET /\` is probed one request ` +
      'at a time (keep-alive) until the tasks are done, and every probe latency is kept (pooled over the rounds). The servers ' +
      'are not pinned to a CPU here: the thread pool (default: cores - 1 threads) needs the other core. Probes go one at a ' +
      `time, every ${PROBE_EVERY_MS} ms. The dispatch rate: ${CHAINS} \`POST /trivial\` requests at once, each adding ` +
      `${TASKS_PER_REQUEST} trivial thread tasks (${CHAINS} lists, each run in order), counted from the first request until ` +
      `the pool has run them all: what a thread task costs beyond its own work (a structured clone, a round trip to the ` +
      `thread). The reference is raw piscina in the same server, with as many threads, given the same ${CHAINS} chains of ` +
      `${TASKS_PER_REQUEST} \`run()\` calls; the two alternate over ${ctx.quick ? 1 : 7} rounds after a warm-up (medians). ` +
      'Where the OS puts the thread decides the regime: on the main thread\u2019s core, a task costs its CPU (main thread and ' +
      'thread, one after the other) and the rate follows CPU per task; on the other core, each hand-off wakes a sleeping ' +
      'core, and the wake-ups dominate. Server CPU per task is given for both systems.',
    table: {
      head: ['system', 'probes', 'p50 ms', 'p99 ms', 'max ms'],
      rows: systems.map((s) => [s.label, String(s.latencies.length), fixed(s.p50, 2), fixed(s.p99, 2), fixed(s.max, 1)]),
    },
    figures: [
      figure('Isolation: GET / p99, thread tasks ÷ no tasks', onThreads.p99 / none.p99, { target: 1.5, op: '<=', chart: true }),
      figure('Isolation: GET / p99, in-process tasks ÷ no tasks', inProcess.p99 / none.p99, { decimals: 1 }),
      figure('Isolation: GET / p99 with in-process tasks', inProcess.p99, { unit: ' ms', decimals: 1 }),
      figure('Isolation: GET / p99 with thread tasks', onThreads.p99, { unit: ' ms', decimals: 2 }),
      figure('Threads: trivial thread tasks dispatched per second', Math.round(tasksPerSecond), { unit: ' tasks/s', decimals: 0 }),
      figure('Threads: raw piscina, the same chains, tasks per second', Math.round(rawPerSecond), { unit: ' tasks/s', decimals: 0 }),
      figure('Threads: dispatch rate ÷ raw piscina', dispatchRatio, { target: 0.95, op: '>=' }),
      figure('Threads: server CPU per task, our dispatch', median(oursCpu), { unit: ' µs', decimals: 1 }),
      figure('Threads: server CPU per task, raw piscina', median(rawCpu), { unit: ' µs', decimals: 1 }),
      figure('Threads: CPU per task, raw piscina ÷ ours', cpuRatio),
    ],
  };
}
