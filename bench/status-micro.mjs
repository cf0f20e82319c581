// Micro-benchmark of the status option on the built package (dist/): extra CPU per task and bytes per record, on against off.
//
// npm run build && node --expose-gc bench/status-micro.mjs [--rounds=9] [--requests=200] [--records=20000] [--max=10000]
// (npm run bench runs it as its scenario 9, bench/scenarios/status.mjs)
//
// CPU: one process serves POST / (each request adds TASKS synchronous tasks) to its own keep-alive client, with the
// status option off and on in interleaved rounds; a round's CPU time (process.cpuUsage, client included: the same in
// both) divided by its tasks gives ns per task, and the extra per task is the median of the rounds' differences.
// Memory: RECORDS tasks run with status on (max and ttl above them, so every record stays) and off; the heap after a
// forced GC, on minus off, divided by RECORDS gives the bytes one kept record takes.
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const express = require('express');
const { backgroundTasks, taskProgress } = require('../dist/index.js');

/** The value of `--name=N` on the command line, or the fallback. */
function arg(name, fallback) {
  const value = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]);
  return value > 0 ? value : fallback;
}

const TASKS = 500;
const REQUESTS = arg('requests', 200);
const RECORDS = Math.ceil(arg('records', 20_000) / TASKS) * TASKS;
const rounds = arg('rounds', 9);
/** The status option's max for the CPU rounds (records kept): the default, 10,000. */
const MAX = arg('max', 10_000);

if (typeof globalThis.gc !== 'function') {
  console.error('status-micro: run it with node --expose-gc');
  process.exit(1);
}

/** A server whose POST / adds TASKS trivial tasks, and a client that sends `count` requests one after another. */
async function serve(options) {
  const background = backgroundTasks(options);
  const app = express();
  app.use(background);
  let ran = 0;
  const task = () => {
    ran++;
  };
  app.post('/', (_req, res) => {
    for (let i = 0; i < TASKS; i++) res.locals.background.addTask(task);
    res.end('ok');
  });
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { port } = server.address();
  const post = () =>
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    background,
    async send(count) {
      for (let i = 0; i < count; i++) await post();
      await background.drain();
    },
    get ran() {
      return ran;
    },
    async close() {
      agent.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function cpuRound(options) {
  const app = await serve(options);
  await app.send(20); // warm-up: JIT, sockets, and with status on a store already at its steady state
  gc();
  const before = cpuMicros();
  await app.send(REQUESTS);
  const micros = cpuMicros() - before;
  await app.close();
  return (micros * 1000) / (REQUESTS * TASKS); // ns per task
}

async function heapAfter(options) {
  gc();
  const base = process.memoryUsage().heapUsed;
  const app = await serve(options);
  await app.send(RECORDS / TASKS);
  gc();
  gc();
  const used = process.memoryUsage().heapUsed - base;
  await app.close();
  return { used, app };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const off = [];
const on = [];
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so that a drift in the machine's load falls on both.
  if (round % 2 === 0) {
    off.push(await cpuRound({}));
    on.push(await cpuRound({ status: { max: MAX } }));
  } else {
    on.push(await cpuRound({ status: { max: MAX } }));
    off.push(await cpuRound({}));
  }
  process.stderr.write(`round ${round + 1}/${rounds}: off ${off.at(-1).toFixed(0)} ns/task, on ${on.at(-1).toFixed(0)} ns/task\n`);
}
const extra = median(on.map((value, i) => value - off[i]));

const memoryOff = [];
const memoryOn = [];
for (let i = 0; i < 3; i++) {
  memoryOff.push((await heapAfter({})).used);
  // The records are kept while the middleware is: hold it until measured.
  const kept = await heapAfter({ status: { max: RECORDS * 2, ttl: 3_600_000 } });
  memoryOn.push(kept.used);
}
const bytesPerRecord = (median(memoryOn) - median(memoryOff)) / RECORDS;

/** ns per taskProgress() call in a tight loop inside one task, with status on (passed on at most 4 times a second). */
async function progressLoop(calls) {
  const background = backgroundTasks({ status: true });
  let ns = 0;
  const loop = () => {
    const started = process.hrtime.bigint();
    for (let i = 1; i <= calls; i++) taskProgress(i / calls);
    ns = Number(process.hrtime.bigint() - started) / calls;
  };
  const app = express();
  app.use(background);
  app.post('/', (_req, res) => {
    res.locals.background.addTask(loop);
    res.end();
  });
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  await new Promise((resolve) => {
    http
      .request({ host: '127.0.0.1', port: server.address().port, method: 'POST', path: '/' }, (res) => res.resume().on('end', resolve))
      .end();
  });
  await background.drain();
  server.close();
  return ns;
}
const progressNs = [];
for (let i = 0; i < 3; i++) progressNs.push(await progressLoop(1_000_000));

const result = {
  node: process.version,
  rounds,
  tasksPerRound: REQUESTS * TASKS,
  max: MAX,
  nsPerTaskOff: Math.round(median(off)),
  nsPerTaskOn: Math.round(median(on)),
  extraNsPerTask: Math.round(extra),
  records: RECORDS,
  bytesPerRecord: Math.round(bytesPerRecord),
  nsPerProgressCall: Math.round(median(progressNs)),
};
console.log(JSON.stringify(result, null, 2));
