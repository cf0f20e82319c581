// Does a rate limit of 100 starts a second hold? In process, and across two queue workers (with ours, and with
// rate-limiter-flexible + BullMQ's manual pattern for comparison). Writes bench/results-flow.json and its section of
// bench/results.md (kept by later `npm run bench` runs: bench/lib/report-md.mjs draws it from the json).
//
// npm run build && node bench/flow-rate.mjs [--seconds=10] [--rlf=/path/where/rate-limiter-flexible/is/installed]
// Needs redis-server on PATH for the queue cases (skipped without it). The rlf case runs only with --rlf (the package
// is not a dependency: `npm install --prefix /tmp/rlf rate-limiter-flexible`, then --rlf=/tmp/rlf).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { flowSection, spliceFlowSection } from './lib/flow-section.mjs';

const require = createRequire(import.meta.url);
const BENCH = import.meta.dirname;
const CHILD = path.join(BENCH, 'flow-child.mjs');
const LIMIT = 100;
const PER = 1000;

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const SECONDS = Number(args.seconds ?? 10);
/** More tasks than the window lets through in SECONDS, so that the limit, not the supply, sets the pace. */
const TASKS = LIMIT * (SECONDS + 3);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A child speaking JSON lines; `starts` collects every start it reports. */
function child(env) {
  const proc = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env, LIMIT: String(LIMIT), PER: String(PER) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const starts = [];
  const waiters = [];
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      const message = JSON.parse(line);
      if (message.starts) starts.push(...message.starts);
      for (const waiter of waiters.splice(0)) waiter(message);
    }
  });
  return {
    starts,
    next: () => new Promise((resolve) => waiters.push(resolve)),
    stop: () => {
      proc.kill('SIGKILL');
    },
  };
}

/** Over the first SECONDS from the first start: how many started, the most in any window of PER ms, and the rate. */
function analyse(all) {
  const starts = [...all].sort((a, b) => a - b);
  const t0 = starts[0];
  const inRun = starts.filter((t) => t < t0 + SECONDS * 1000);
  let most = 0;
  let from = 0;
  for (let i = 0; i < inRun.length; i++) {
    while (inRun[i] - inRun[from] >= PER) from++;
    most = Math.max(most, i - from + 1);
  }
  // The steady rate: after the first window's burst of LIMIT, starts per second.
  const steady = (inRun.length - LIMIT) / (SECONDS - PER / 1000);
  // The shortest time in which limit + 1 starts happened: at least `per` when the limit held.
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 0; i + LIMIT < inRun.length; i++) shortest = Math.min(shortest, inRun[i + LIMIT] - inRun[i]);
  const perSecond = Array.from({ length: SECONDS }, (_, k) => inRun.filter((t) => t >= t0 + k * 1000 && t < t0 + (k + 1) * 1000).length);
  return {
    started: inRun.length,
    mostInWindow: most,
    shortestSpan: Math.round(shortest * 10) / 10,
    steadyPerSecond: Math.round(steady * 10) / 10,
    perSecond,
  };
}

async function waitFor(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function inProcess() {
  const server = child({ MODE: 'process' });
  const { port } = await server.next();
  await fetch(`http://127.0.0.1:${port}/burst?n=${TASKS}`, { method: 'POST' });
  await waitFor(SECONDS * 1000 + 500);
  server.stop();
  return { label: 'in process (one middleware)', ...analyse(server.starts) };
}

async function startRedis() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  proc.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

async function acrossWorkers(redis, mode, label) {
  const queueName = `flow-bench-${randomUUID().slice(0, 8)}`;
  const env = { MODE: mode, REDIS_URL: redis.url, QUEUE_NAME: queueName, RLF_PATH: args.rlf ?? '' };
  const workers = [child(env), child(env)];
  await Promise.all(workers.map((w) => w.next()));
  const { Queue } = require('bullmq');
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  // Jobs as the runner makes them (its job data), added directly: the producer is not what is measured.
  const data = { v: 1, id: '', args: [], enqueuedAt: Date.now(), timeout: null, method: 'POST', path: '/bench' };
  const jobs = Array.from({ length: TASKS }, () => {
    const id = randomUUID();
    return { name: 'limited', data: { ...data, id }, opts: { jobId: id, removeOnComplete: true, removeOnFail: true } };
  });
  // Ours records each start it grants in a sorted set that keeps the last `per` ms: sampled often enough, it gives
  // every start as Redis saw it, the clock the limit is kept by.
  const { hashedKey } = require(path.join(BENCH, '..', 'dist/flow/flow-control.js'));
  const { Redis } = require('ioredis');
  const sampler = new Redis(redis.url);
  const startsKey = `bull:${queueName}:ebt:rate:${hashedKey('limited', '')}:starts`;
  const granted = new Map();
  let sampling = mode === 'worker';
  const sample = async () => {
    while (sampling) {
      const flat = await sampler.zrange(startsKey, 0, -1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) granted.set(flat[i], Number(flat[i + 1]));
      await waitFor(200);
    }
  };
  const sampled = sample();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  await waitFor(SECONDS * 1000 + 1500);
  sampling = false;
  await sampled;
  sampler.disconnect();
  for (const w of workers) w.stop();
  await queue.close();
  const result = analyse([...workers[0].starts, ...workers[1].starts]);
  const atRedis = granted.size === 0 ? undefined : analyse([...granted.values()]);
  const redisFigures =
    atRedis === undefined ? {} : { mostInWindowAtRedis: atRedis.mostInWindow, shortestSpanAtRedis: atRedis.shortestSpan };
  return { label, ...result, perWorker: workers.map((w) => w.starts.length), ...redisFigures };
}

const rows = [await inProcess()];
const redis = await startRedis();
if (redis !== undefined) {
  try {
    rows.push(await acrossWorkers(redis, 'worker', 'queue, two workers (runWorker: sliding window in Redis)'));
    if (args.rlf)
      rows.push(await acrossWorkers(redis, 'rlf', 'queue, two workers (rate-limiter-flexible RateLimiterRedis + moveToDelayed)'));
  } finally {
    redis.stop();
  }
}
const load = os.loadavg()[0].toFixed(2);
const result = {
  date: new Date().toISOString().slice(0, 16).replace('T', ' '),
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
  node: process.version,
  loadAverage: load,
  limit: LIMIT,
  per: PER,
  seconds: SECONDS,
  rows,
};
writeFileSync(path.join(BENCH, 'results-flow.json'), `${JSON.stringify(result, null, 2)}\n`);
const resultsMd = path.join(BENCH, 'results.md');
writeFileSync(resultsMd, spliceFlowSection(readFileSync(resultsMd, 'utf8'), flowSection(result)));
console.log(flowSection(result));
