// A benchmark server for bench/scenarios/isolation.mjs: GET / answers at once, POST /cpu adds a CPU-heavy task run in-process, on a thread, or not at all.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { serveCommands } from './lib/commands.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const { backgroundTasks } = require('../dist/index.js');
const { threadPool } = require('../dist/threads/index.js');
const { spin, cpuTask, trivialThreadTask } = require('./isolation-tasks.cjs');

/** argv[2] is JSON: { mode: 'none' | 'process' | 'thread', cpuMs }. */
const config = JSON.parse(process.argv[2] ?? '{}');
const cpuMs = config.cpuMs ?? 300;
if (!['none', 'process', 'thread'].includes(config.mode)) throw new TypeError(`bench isolation-server: unknown mode "${config.mode}"`);

const threads = config.mode === 'thread' ? threadPool({ module: require.resolve('./isolation-tasks.cjs') }) : undefined;
const failures = [];
const background = backgroundTasks({
  ...(threads === undefined ? {} : { threads }),
  onError: (error) => {
    if (failures.length < 5) failures.push(String(error?.message ?? error));
  },
});
const app = express();
app.use(background);
app.get('/', (_req, res) => res.json({ message: 'Welcome' }));
app.post('/cpu', (_req, res) => {
  if (config.mode === 'process')
    res.locals.background.addTask(function cpuTask(ms) {
      spin(ms);
    }, cpuMs);
  else if (config.mode === 'thread') res.locals.background.addTask(cpuTask, cpuMs);
  res.json({ accepted: true });
});
app.post('/trivial', (req, res) => {
  const count = Number(req.query.n ?? 1);
  for (let i = 0; i < count; i++) res.locals.background.addTask(trivialThreadTask, 'user@example.com');
  res.json({ accepted: true });
});

/**
 * The reference for the dispatch rate: raw piscina, as many threads as threadPool()'s default, given the same chains
 * (CHAINS lists of TASKS_PER_CHAIN trivial tasks, each list in order, all lists at once). Made on first use.
 */
const CHAINS = 200;
const TASKS_PER_CHAIN = 100;
let rawPool;
async function rawDispatch() {
  const { Piscina } = require('piscina');
  rawPool ??= new Piscina({
    filename: require.resolve('./raw-piscina-task.cjs'),
    maxThreads: Math.max(availableParallelism() - 1, 1),
    minThreads: 1,
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CHAINS }, async () => {
      for (let i = 0; i < TASKS_PER_CHAIN; i++) await rawPool.run('user@example.com');
    }),
  );
  return { tasks: CHAINS * TASKS_PER_CHAIN, ms: performance.now() - started };
}

const server = app.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));

serveCommands({
  counters: () => ({ ...background.stats(), failures }),
  rawDispatch,
  drain: async () => {
    const started = performance.now();
    await background.drain();
    return { ms: performance.now() - started, stats: background.stats() };
  },
  exit: async () => {
    await background.drain();
    await threads?.close();
    await rawPool?.destroy();
    setImmediate(() => process.exit(0));
    return true;
  },
});
