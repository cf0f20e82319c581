// Scenario: the BullMQ runner. POST /register enqueuing to Redis vs running in-process, and a worker's jobs per second.
//
// A bench/run.mjs scenario (exports id, title, run(ctx)); also runs alone: `npm run build && node bench/scenarios/bullmq.mjs [--quick]`.
// Needs Debian's redis-server on PATH (started here on a free port, without persistence) or REDIS_URL; without
// either it reports itself skipped. Redis runs on CPU 1 beside autocannon, so that CPU 0 stays the server's.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuSeconds, killAll, pinLoadGenerator, pinning, startServer } from '../lib/child.mjs';
import { load } from '../lib/load.mjs';
import { figure } from '../lib/result.mjs';
import { interleavedRounds, medianCell, medianRatio, ratioCell } from '../lib/rounds.mjs';
import { count, fixed } from '../lib/stats.mjs';

export const id = 'bullmq';
export const title = 'BullMQ runner: POST /register enqueuing to Redis, and worker throughput';

const require = createRequire(import.meta.url);
const SERVER = fileURLToPath(new URL('../bullmq-server.mjs', import.meta.url));

function hasRedisServer() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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

/** A throwaway redis-server (pinned to CPU 1 when pinning works), or REDIS_URL's. */
async function startRedis() {
  if (!hasRedisServer()) {
    if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, pid: undefined, stop: async () => {} };
    return undefined;
  }
  const port = await freePort();
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const [command, args] = pinning.enabled ? ['taskset', ['-c', '1', ...argv]] : [argv[0], argv.slice(1)];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
  });
  child.stdout.resume();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function registerRounds(ctx, redis) {
  const { Redis } = require('ioredis');
  const admin = new Redis(redis.url);
  const systems = [
    { name: 'inProcess', label: 'backgroundTasks(), task run in-process', config: { mode: 'in-process' } },
    {
      name: 'bullmq',
      label: 'backgroundTasks({ runner: bullmqRunner() }), task enqueued',
      config: { mode: 'bullmq', redisUrl: redis.url, queueName: `bench-${randomUUID().slice(0, 8)}` },
    },
  ];
  try {
    await Promise.all(systems.map(async (system) => (system.server = await ctx.start(startServer(system.config, { script: SERVER })))));
    const { rounds, seconds, warmSeconds, connections } = ctx.settings;
    const path = '/register?email=user%40example.com';
    const samples = await interleavedRounds(systems, {
      rounds,
      log: ctx.log,
      warm: (system) => load(system.server, { path, method: 'POST', connections, seconds: warmSeconds }),
      measure: async (system) => {
        // Jobs pile up in Redis while no worker runs: start each round from an empty database.
        await system.server.request('settle');
        await admin.flushdb();
        const redisBefore = redis.pid === undefined ? Number.NaN : cpuSeconds(redis.pid);
        const run = await load(system.server, { path, method: 'POST', connections, seconds });
        await system.server.request('settle'); // the enqueues still in flight belong to this round's cost
        const redisCpu = redis.pid === undefined ? Number.NaN : cpuSeconds(redis.pid) - redisBefore;
        const redisCpuPerRequestUs = (redisCpu / run.responses) * 1e6;
        return { ...run, redisCpuPerRequestUs, summary: `${fixed(run.rps, 0)} req/s ${fixed(run.cpuPerRequestUs, 1)} µs CPU/req` };
      },
    });
    for (const system of systems) {
      const { ran, stats, failures } = await system.server.request('settle');
      if (stats.failed > 0 || stats.succeeded === 0)
        throw new Error(`${system.name}: ${stats.failed} tasks failed (${failures.join('; ')})`);
      if (system.config.mode === 'in-process' && ran !== stats.succeeded)
        throw new Error(`${system.name}: ${ran} ran, ${stats.succeeded} counted`);
    }
    return { systems, samples };
  } finally {
    admin.disconnect();
  }
}

/** Fills a queue with `jobs` no-op tasks in lists of `listLength`, then times a worker running them all. */
async function workerRate(redis, { jobs, listLength, concurrency }) {
  const { bullmqRunner, runWorker } = require('../../dist/bullmq/index.js');
  const { defineTask } = require('../../dist/index.js');
  const queueName = `bench-worker-${randomUUID().slice(0, 8)}`;
  const noop = defineTask('noop', (_n) => undefined);
  const runner = bullmqRunner({ connection: redis.url, queueName });
  // Each task carries its id, as the middleware gives it (the job id; BullMQ's deduplication id for a single task).
  const list = (n) => Array.from({ length: listLength }, () => ({ definition: noop.taskDefinition, args: [n], id: randomUUID() }));
  const options = { stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin: { method: 'POST', url: '/bench' } };
  const lists = Math.ceil(jobs / listLength);
  try {
    for (let i = 0; i < lists; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, lists - i) }, (_, j) => runner.enqueue(list(i + j), options)));
    }
  } finally {
    await runner.close(); // also when an enqueue failed: its connection would keep the bench alive
  }
  const total = lists * listLength;
  let failures = 0;
  const worker = runWorker({ connection: redis.url, queueName, tasks: [noop], concurrency, onError: () => failures++ });
  let done = 0;
  let t0;
  let cpu0;
  await new Promise((resolve) => {
    worker.worker.once('active', () => {
      t0 = process.hrtime.bigint();
      cpu0 = process.cpuUsage();
    });
    worker.worker.on('completed', () => {
      if (++done === total) resolve();
    });
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await worker.close();
  if (failures > 0) throw new Error(`worker: ${failures} jobs failed`);
  return { jobs: total, listLength, concurrency, rate: total / wall, cpuPerJobUs: (cpu.user + cpu.system) / total };
}

export async function run(ctx) {
  const redis = await startRedis();
  if (redis === undefined) {
    return {
      id,
      title,
      about: 'Skipped: redis-server is not on PATH and REDIS_URL is not set.',
      table: { head: ['system'], rows: [] },
      figures: [],
      notes: ["Install Debian's `redis-server` package (or set REDIS_URL) to run this scenario."],
    };
  }
  try {
    const { systems, samples } = await registerRounds(ctx, redis);
    const [inProcess, bullmq] = systems.map((system) => samples[system.name]);
    const rows = systems.map((system) => {
      const own = samples[system.name];
      return [
        system.label,
        medianCell(own, (s) => s.rps, 0),
        medianCell(own, (s) => s.cpuPerRequestUs, 1),
        medianCell(own, (s) => s.redisCpuPerRequestUs, 1),
        ratioCell(own, inProcess, (s) => s.rps, 3),
      ];
    });

    const jobs = ctx.quick ? 2000 : 20_000;
    const workerRuns = [];
    for (const [listLength, concurrency] of [
      [1, 1],
      [1, 10],
      [3, 10],
    ]) {
      const result = await workerRate(redis, { jobs, listLength, concurrency });
      ctx.log(
        `  worker: ${count(result.jobs)} jobs in lists of ${listLength}, concurrency ${concurrency}: ${fixed(result.rate, 0)} jobs/s`,
      );
      workerRuns.push(result);
    }
    const workerTable = [
      '| jobs | tasks per list | worker concurrency | jobs/s | worker CPU µs/job |',
      '| --- | --- | --- | --- | --- |',
      ...workerRuns.map(
        (r) => `| ${count(r.jobs)} | ${r.listLength} | ${r.concurrency} | ${fixed(r.rate, 0)} | ${fixed(r.cpuPerJobUs, 1)} |`,
      ),
    ].join('\n');
    const single = workerRuns.find((r) => r.listLength === 1 && r.concurrency === 10);

    return {
      id,
      title,
      about:
        "The demo app's `POST /register` with one `defineTask` task, in-process and with `bullmqRunner()` (the response's task " +
        'becomes a BullMQ job after the response; no worker runs meanwhile, and Redis is emptied before each round). ' +
        'Server CPU is the web process alone; Redis CPU is the redis-server process, per request. Then a worker (`runWorker`, ' +
        'in the bench process) runs a queue filled beforehand with no-op jobs: single-task lists, and 3-task lists, whose ' +
        'jobs are chained so that each waits for the one before it.',
      table: {
        head: ['system', 'req/s (median)', 'server CPU µs/request', 'Redis CPU µs/request', 'req/s ratio (this ÷ in-process)'],
        rows,
      },
      figures: [
        figure(
          'BullMQ: register req/s, BullMQ runner ÷ in-process',
          medianRatio(bullmq, inProcess, (s) => s.rps),
          { chart: true },
        ),
        figure(
          'BullMQ: register CPU/request, in-process ÷ BullMQ runner',
          medianRatio(inProcess, bullmq, (s) => s.cpuPerRequestUs),
          {
            chart: true,
          },
        ),
        figure('BullMQ: worker jobs/s (single-task lists, concurrency 10)', single?.rate ?? Number.NaN, { decimals: 0, unit: ' jobs/s' }),
      ],
      notes: [`Worker throughput (${ctx.quick ? 'quick run' : 'full run'}):\n\n${workerTable}`],
    };
  } finally {
    await redis.stop();
  }
}

/** Run alone: `node bench/scenarios/bullmq.mjs [--quick]` prints the section. */
async function standalone() {
  const quick = process.argv.includes('--quick');
  const settings = quick
    ? { rounds: 2, seconds: 0.5, warmSeconds: 0.5, connections: 50 }
    : { rounds: 6, seconds: 3, warmSeconds: 2, connections: 50 };
  pinLoadGenerator();
  const servers = [];
  const log = (line) => process.stdout.write(`${line}\n`);
  try {
    const section = await run({
      settings,
      quick,
      log,
      start: async (promise) => {
        const server = await promise;
        servers.push(server);
        return server;
      },
    });
    log(`\n## ${section.title}\n\n${section.about}\n`);
    log(`| ${section.table.head.join(' | ')} |\n| ${section.table.head.map(() => '---').join(' | ')} |`);
    for (const row of section.table.rows) log(`| ${row.join(' | ')} |`);
    for (const note of section.notes ?? []) log(`\n${note}`);
    log('');
    for (const f of section.figures) log(`${f.label}: ${f.display}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  standalone().catch((error) => {
    killAll();
    console.error(error?.stack ?? error);
    process.exit(1);
  });
}
