// A benchmark server for bench/scenarios/isolation.mjs: GET / answers at once, POST /cpu adds a CPU-heavy task run in-process, on a thread, or not at all.
import { createRequire } from 'node:module';
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

const server = app.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));

serveCommands({
  counters: () => ({ ...background.stats(), failures }),
  drain: async () => {
    const started = performance.now();
    await background.drain();
    return { ms: performance.now() - started, stats: background.stats() };
  },
  exit: async () => {
    await background.drain();
    await threads?.close();
    setImmediate(() => process.exit(0));
    return true;
  },
});
