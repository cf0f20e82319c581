// A/B in one process: this dist/ against another build's dist/ (such as the commit before a change), status off, on
// the unused and register paths: CPU per request in interleaved rounds, and heap per pending task.
//
// npm run build && node --expose-gc bench/status-ab.mjs /path/to/other/dist [--rounds=10]
//
// Both builds serve the same Express app in this process, A B B A within each round (so that whatever comes first,
// or a load that comes and goes on a shared machine, falls on both); the figure is the geometric mean of the rounds'
// ratios, other ÷ this (above 1: this build is cheaper).
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const express = require('express');

const other = process.argv[2];
if (other === undefined || other.startsWith('--') || typeof globalThis.gc !== 'function') {
  console.error('usage: node --expose-gc bench/status-ab.mjs /path/to/other/dist [--rounds=10]');
  process.exit(1);
}
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 10);
const builds = {
  this: require('../dist/index.js'),
  other: require(path.resolve(other, 'index.js')),
};
const REQUESTS = 3000;

async function serve(build, gate) {
  const background = build.backgroundTasks();
  const app = express();
  app.use(background);
  let ran = 0;
  const task = gate === undefined ? async () => void ran++ : () => gate;
  app.get('/', (_req, res) => res.end('hello'));
  app.post('/register', (_req, res) => {
    res.locals.background.addTask(task, 'user@example.com');
    res.json({ message: 'ok' });
  });
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const { port } = server.address();
  const one = (method, pathname) =>
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: '127.0.0.1', port, method, path: pathname }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    background,
    async send(method, pathname, count) {
      let next = 0;
      const worker = async () => {
        while (next++ < count) await one(method, pathname);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    },
    async close() {
      agent.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function cpu() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function cpuPerRequest(build, method, pathname) {
  const app = await serve(build);
  await app.send(method, pathname, 300);
  await app.background.drain();
  const before = cpu();
  await app.send(method, pathname, REQUESTS);
  await app.background.drain();
  const micros = (cpu() - before) / REQUESTS;
  await app.close();
  return micros;
}

async function heapPerPending(build) {
  let open;
  const gate = new Promise((resolve) => {
    open = resolve;
  });
  const app = await serve(build, gate);
  await app.send('POST', '/register', 300);
  gc();
  const before = process.memoryUsage().heapUsed;
  await app.send('POST', '/register', 5000);
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / 5000;
  open();
  await app.background.drain();
  await app.close();
  return bytes;
}

function geomean(values) {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const ratios = { unused: [], register: [] };
const heap = { this: [], other: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['this', 'other'] : ['other', 'this'];
  for (const [scenario, method, pathname] of [
    ['unused', 'GET', '/'],
    ['register', 'POST', '/register'],
  ]) {
    const micros = { this: 0, other: 0 };
    for (const name of [...order, ...order.slice().reverse()]) micros[name] += await cpuPerRequest(builds[name], method, pathname);
    ratios[scenario].push(micros.other / micros.this);
  }
  for (const name of order) heap[name].push(await heapPerPending(builds[name]));
  process.stderr.write(
    `round ${round + 1}/${rounds}: unused other÷this ${ratios.unused.at(-1).toFixed(3)}, register ${ratios.register.at(-1).toFixed(3)}\n`,
  );
}
console.log(
  JSON.stringify(
    {
      node: process.version,
      rounds,
      unusedCpuOtherOverThis: Number(geomean(ratios.unused).toFixed(3)),
      registerCpuOtherOverThis: Number(geomean(ratios.register).toFixed(3)),
      heapBytesPerPendingTaskThis: Math.round(median(heap.this)),
      heapBytesPerPendingTaskOther: Math.round(median(heap.other)),
    },
    null,
    2,
  ),
);
