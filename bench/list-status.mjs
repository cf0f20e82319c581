// What status records cost a long list stored as one job: `node --import tsx bench/list-status.mjs [--rounds=5]`.
// Needs redis-server on PATH (started here on a random port, Redis on CPU 1 when taskset exists). Status off and on
// alternate within each round; the figures are medians, and on ÷ off ratios of the same rounds (the machine's other
// load moves every absolute figure).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { bullmqRunner, runWorker } from '../lib/bullmq/index.ts';
import { definitionOf } from '../lib/define-task.ts';
import { defineTask } from '../lib/index.ts';

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const ROUNDS = Number(args.rounds ?? 5);
const STORED = 10_000;
const RUN = 2_000;
const TTL = 3_600_000;

async function startRedis() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  let hasTaskset = true;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    hasTaskset = false;
  }
  const child = hasTaskset
    ? spawn('taskset', ['-c', '1', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(argv[0], argv.slice(1));
  let output = '';
  for await (const chunk of child.stdout) {
    output += chunk;
    if (output.includes('Ready to accept connections')) break;
  }
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, child };
}

const noop = defineTask('noop', (_i) => {});
const origin = { method: 'POST', url: '/bench' };
const list = (length) => Array.from({ length }, (_, i) => ({ definition: definitionOf(noop), args: [i], id: randomUUID() }));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** ms to store a list of STORED tasks (one job, plus its index with status on), straight through the runner. */
async function store(url, status) {
  const runner = bullmqRunner({ connection: url, queueName: `store-${randomUUID()}` });
  await runner.enqueue(list(1), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin }); // connected
  const tasks = list(STORED);
  const started = performance.now();
  await runner.enqueue(tasks, { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin, ...(status ? { keepFor: TTL } : {}) });
  const ms = performance.now() - started;
  await runner.close();
  return ms;
}

/** ms for a worker to run a stored list of RUN trivial tasks. */
async function run(url, status) {
  const queueName = `run-${randomUUID()}`;
  const runner = bullmqRunner({ connection: url, queueName });
  await runner.enqueue(list(RUN), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin, ...(status ? { keepFor: TTL } : {}) });
  const worker = runWorker({ connection: url, queueName, tasks: [noop] });
  await worker.worker.waitUntilReady();
  const started = performance.now();
  await worker.drain();
  const ms = performance.now() - started;
  await worker.close();
  await runner.close();
  return ms;
}

async function redisBytes(url) {
  const client = new Redis(url);
  const used = async () => Number((await client.info('memory')).match(/used_memory:(\d+)/)[1]);
  const before = await used();
  await store(url, true);
  const withIndex = await used();
  await store(url, false);
  const without = await used();
  await client.quit();
  return (withIndex - before - (without - withIndex)) / STORED;
}

const redis = await startRedis();
try {
  const figures = { store: { off: [], on: [] }, run: { off: [], on: [] } };
  const ratios = { store: [], run: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['store', 'run']) {
      const measure = kind === 'store' ? store : run;
      // off, on, on, off: whatever comes first, or a load that comes and goes, falls on both.
      const a = await measure(redis.url, false);
      const b = await measure(redis.url, true);
      const c = await measure(redis.url, true);
      const d = await measure(redis.url, false);
      figures[kind].off.push(a, d);
      figures[kind].on.push(b, c);
      ratios[kind].push((b + c) / (a + d));
    }
  }
  const line = (label, kind, count) =>
    console.log(
      `${label}: status off ${median(figures[kind].off).toFixed(0)} ms, on ${median(figures[kind].on).toFixed(0)} ms ` +
        `(${((median(figures[kind].on) * 1000) / count).toFixed(1)} us per task); on / off, median of rounds: ${median(ratios[kind]).toFixed(2)}`,
    );
  line(`store a list of ${STORED} tasks`, 'store', STORED);
  line(`a worker runs a list of ${RUN} trivial tasks`, 'run', RUN);
  console.log(`Redis bytes per task for the index (status on): ${(await redisBytes(redis.url)).toFixed(0)}`);
} finally {
  redis.child.kill();
}
process.exit(0);
