// The queue hand-off under load (issue 20) and long lists (issue 17): `node --import tsx bench/handoff.mjs [--seconds=10] [--rounds=3]`.
// Needs redis-server on PATH. The server runs on CPU 0, autocannon and Redis on CPU 1 (taskset), as the main bench does.
// Prints one line per figure for bench/results.md; the machine's other load moves every figure: quote ratios.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FlowProducer } from 'bullmq';
import { bullmqRunner } from '../lib/bullmq/index.ts';
import { defineTask } from '../lib/index.ts';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const SECONDS = Number(args.seconds ?? 10);
const ROUNDS = Number(args.rounds ?? 3);
const SERVER = fileURLToPath(new URL('./handoff-server.mjs', import.meta.url));
const taskset = (cpu, argv) => ['taskset', ['-c', String(cpu), ...argv]];

try {
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
} catch {}

async function startRedis() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const [command, argv] = taskset(1, ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  for await (const chunk of child.stdout) {
    output += chunk;
    if (output.includes('Ready to accept connections')) break;
  }
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function startServer(config) {
  const [command, argv] = taskset(0, [process.execPath, '--import', 'tsx', SERVER, JSON.stringify(config)]);
  const child = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } });
  const [ready] = await once(child, 'message');
  const ask = async (message) => {
    child.send(message);
    return (await once(child, 'message'))[0];
  };
  return { url: `http://127.0.0.1:${ready.port}`, child, ask };
}

function run(url, seconds, connections = 50) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      { url: `${url}/register?email=ada@example.com`, method: 'POST', connections, duration: seconds, sampleInt: 100 },
      (error, result) => (error ? reject(error) : resolve({ result, latencies })),
    );
    instance.on('response', (_c, _s, _b, ms) => latencies.push(ms));
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const pct = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function handOffUnderLoad(redisUrl) {
  const modes = ['bare', 'in-process', 'after-response', 'before-response'];
  const figures = Object.fromEntries(modes.map((mode) => [mode, { rps: [], stored: [], peak: [], p50: [], p99: [], alone: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const server = await startServer({ mode, redisUrl, queueName: `bench-${randomUUID().slice(0, 8)}` });
      await run(server.url, 1); // warm-up
      const before = await server.ask('sample');
      const started = performance.now();
      const { result, latencies } = await run(server.url, SECONDS);
      const during = await server.ask('sample');
      const wall = (performance.now() - started) / 1000;
      // One connection: the response time of a request alone, where the Redis round trip of 'before-response' shows.
      const alone = await run(server.url, Math.max(2, SECONDS / 3), 1);
      const f = figures[mode];
      f.rps.push(result.requests.total / wall);
      f.stored.push((during.stored - before.stored) / wall);
      f.peak.push(during.peak);
      f.p50.push(pct(latencies, 0.5));
      f.p99.push(pct(latencies, 0.99));
      f.alone.push(pct(alone.latencies, 0.5));
      server.child.send('exit');
      await once(server.child, 'exit');
    }
  }
  const bare = median(figures.bare.rps);
  const ms = (value) => `${value.toFixed(2)} ms`;
  for (const mode of modes) {
    const f = figures[mode];
    const what = mode === 'bare' || mode === 'in-process' ? 'tasks run' : 'lists stored';
    console.log(
      `${mode}: ${median(f.rps).toFixed(0)} req/s (${(median(f.rps) / bare).toFixed(2)}x bare), ${what} ${median(f.stored).toFixed(0)}/s, ` +
        `most tasks waiting to be stored ${median(f.peak)}; 50 connections p50 ${ms(median(f.p50))}, p99 ${ms(median(f.p99))}; ` +
        `one connection p50 ${ms(median(f.alone))} (medians of ${ROUNDS} interleaved rounds of ${SECONDS} s)`,
    );
  }
}

async function longLists(redisUrl) {
  const step = defineTask('step', () => {});
  const origin = { method: 'POST', url: '/x' };
  // The runner (one job carrying the list).
  const runner = bullmqRunner({ connection: redisUrl, queueName: `bench-long-${randomUUID().slice(0, 8)}` });
  const { definitionOf } = await import('../lib/define-task.ts');
  const queued = Array.from({ length: 10_000 }, (_, i) => ({ definition: definitionOf(step), args: [i], id: randomUUID() }));
  /** The same tasks with fresh ids: a list sent again with the same ids would be ignored (idempotent resends). */
  const fresh = (tasks) => tasks.map((task) => ({ ...task, id: randomUUID() }));
  await runner.enqueue(fresh([queued[0]]), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin });
  let t = performance.now();
  await runner.enqueue(fresh(queued), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin });
  const oneJob = performance.now() - t;
  // 3,000 one-task lists, after a 10,000-task list and alone (the repro, without HTTP).
  const singles = () =>
    Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        runner.enqueue(fresh([queued[i]]), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin }),
      ),
    );
  await singles(); // warm-up
  t = performance.now();
  await singles();
  const alone = performance.now() - t;
  t = performance.now();
  const big = runner.enqueue(fresh(queued), { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin });
  await Promise.all([big, singles()]);
  const behind = performance.now() - t;
  await runner.close();
  // The same 10,000 tasks as a BullMQ chain (its stack-overflowing validation skipped, as a chunked chain would).
  const producer = new FlowProducer({ connection: { url: redisUrl } });
  producer.validateFlowJobs = () => {};
  const queueName = `bench-chain-${randomUUID().slice(0, 8)}`;
  let node;
  for (let i = 0; i < 10_000; i++) {
    node = {
      name: 'step',
      queueName,
      data: { v: 1, id: randomUUID(), args: [i] },
      opts: { jobId: randomUUID(), removeOnComplete: true, ignoreDependencyOnFailure: true },
      ...(node ? { children: [node] } : {}),
    };
  }
  await producer.waitUntilReady();
  t = performance.now();
  await producer.add(node);
  const chain = performance.now() - t;
  await producer.close();
  console.log(
    `long list of 10,000 tasks: stored as one job in ${oneJob.toFixed(0)} ms, as a BullMQ chain in ${chain.toFixed(0)} ms (${(chain / oneJob).toFixed(0)}x); ` +
      `3,000 one-task lists stored in ${alone.toFixed(0)} ms alone, ${behind.toFixed(0)} ms with a 10,000-task list sent at the same time`,
  );
}

const redis = await startRedis();
try {
  const what = args.only ?? 'all';
  if (what === 'all' || what === 'long') await longLists(redis.url);
  if (what === 'all' || what === 'load') await handOffUnderLoad(redis.url);
} finally {
  redis.child.kill('SIGKILL');
}
process.exit(0);
