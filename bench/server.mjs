// A benchmark server in its own process: the demo app (POST /register, GET /) on the built package (dist/), tasks run one of four ways.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveCommands } from './lib/commands.mjs';
import { onFinishedLoop } from './lib/floor.mjs';
import { percentiles } from './lib/stats.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
// What users get from `npm install`, not the TypeScript sources.
const { backgroundTasks } = require('../dist/index.js');

/**
 * argv[2] is JSON:
 * - mechanism: 'none' (bare Express, the task called fire-and-forget), 'empty' (bare plus a middleware that only calls next()),
 *   'middleware' (ours),
 *   'finish' (a hand-rolled middleware with an eager res.on('finish') loop), 'on-finished' (the same, lazy, on on-finished),
 *   'on-finished-als' (the same, each task run inside AsyncLocalStorage.run(), as anything with a per-task store does)
 * - task: 'trivial' | 'sleep' (sleepMs) | 'gate' (waits until the parent opens it) | 'mark' (records its start delay)
 */
const config = JSON.parse(process.argv[2] ?? '{}');
const mechanism = config.mechanism ?? 'none';

let started = 0;
let finished = 0;
let openGate;
let gate;
function closeGate() {
  gate = new Promise((resolve) => {
    openGate = resolve;
  });
}
closeGate();

const delays = [];
const flood = { target: 0, done: 0, finishedAt: 0, drainedAt: 0, addMs: 0, resolve: undefined };

// The demo app's task is sendEmail(email); each variant below keeps that shape.
const tasks = {
  trivial: async function sendEmail(email) {
    started++;
    if (email.length === 0) throw new Error('no email');
    finished++;
  },
  sleep: async function sendEmail(email) {
    started++;
    await sleep(config.sleepMs ?? 0, email);
    finished++;
  },
  gate: async function sendEmail(email) {
    started++;
    await gate;
    if (email.length === 0) throw new Error('no email');
    finished++;
  },
  mark: function sendEmail(mark) {
    started++;
    delays.push(performance.now() - mark.finishedAt);
    finished++;
  },
};
const task = tasks[config.task ?? 'trivial'];
if (task === undefined) throw new TypeError(`bench server: unknown task "${config.task}"`);

function touch(i) {
  if (++flood.done === flood.target) {
    flood.drainedAt = performance.now();
    flood.resolve?.();
  }
  return i;
}

function reportFailure(error) {
  console.error(`bench server: task failed: ${error?.message ?? error}`);
}

/** A hand-rolled FastAPI-style list, as one would write it without the package: a loop on 'finish'. */
function finishLoop(_req, res, next) {
  const list = [];
  res.locals.background = { addTask: (fn, ...args) => list.push([fn, args]) };
  res.on('finish', async () => {
    for (const [fn, args] of list) {
      try {
        await fn(...args);
      } catch (error) {
        reportFailure(error);
      }
    }
  });
  next();
}

const app = express();
const background = mechanism === 'middleware' ? backgroundTasks() : undefined;

if (config.task === 'mark') {
  // First of all, so that 'finish' is timed before any mechanism's own listener runs the task.
  app.use((req, res, next) => {
    const mark = { finishedAt: 0 };
    res.once('finish', () => {
      mark.finishedAt = performance.now();
    });
    req.benchMark = mark;
    next();
  });
}
if (mechanism === 'middleware') app.use(background);
else if (mechanism === 'finish') app.use(finishLoop);
else if (mechanism === 'on-finished') app.use(onFinishedLoop(reportFailure));
else if (mechanism === 'on-finished-als') app.use(onFinishedLoop(reportFailure, new AsyncLocalStorage()));
else if (mechanism === 'empty') app.use((_req, _res, next) => next());
else if (mechanism !== 'none') throw new TypeError(`bench server: unknown mechanism "${mechanism}"`);

app.get('/', (_req, res) => {
  res.json({ message: 'Welcome to express-background-tasks: POST /register?email=you@example.com' });
});

app.post('/register', (req, res) => {
  const email = req.query.email;
  if (typeof email !== 'string' || email === '') {
    res.status(400).json({ error: 'email query parameter is required' });
    return;
  }
  const arg = config.task === 'mark' ? req.benchMark : email;
  if (mechanism === 'none' || mechanism === 'empty') {
    res.json({ message: `Registered ${email}; the email will follow` });
    Promise.resolve(task(arg)).catch(reportFailure);
    return;
  }
  res.locals.background.addTask(task, arg);
  res.json({ message: `Registered ${email}; the email will follow` });
});

// Queues n trivial tasks on one response; the drain is timed from its 'finish' to the last task's end.
app.post('/flood', (req, res) => {
  const n = Number(req.query.n);
  flood.target = n;
  flood.done = 0;
  res.once('finish', () => {
    flood.finishedAt = performance.now();
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) res.locals.background.addTask(touch, i);
  flood.addMs = performance.now() - t0;
  res.json({ queued: n });
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send({ ready: true, port: server.address().port });
});

function connections() {
  return new Promise((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
}

async function settled() {
  for (;;) {
    const stats = background?.stats();
    const idle = stats === undefined || stats.queued + stats.running === 0;
    if (idle && started === finished) return;
    await sleep(5);
  }
}

function counters() {
  return { started, finished, pending: started - finished, stats: background?.stats() };
}

const commands = {
  counters: async () => counters(),
  /** Opens the gate (a new one closes behind it) and waits until every task has finished. */
  settle: async () => {
    openGate();
    closeGate();
    await settled();
    return counters();
  },
  /** Heap and RSS once the load generator's sockets are gone and garbage is collected. */
  memory: async () => {
    for (let i = 0; i < 200 && (await connections()) > 0; i++) await sleep(10);
    for (let i = 0; i < 4; i++) {
      globalThis.gc();
      await sleep(20);
    }
    const { heapUsed, rss } = process.memoryUsage();
    return { heapUsed, rss, connections: await connections(), ...counters() };
  },
  /** Start delays recorded since the last call, in microseconds. */
  delays: async () => {
    const result = percentiles(delays.map((ms) => ms * 1000));
    delays.length = 0;
    return result;
  },
  flood: async () => {
    if (flood.done < flood.target) await new Promise((resolve) => (flood.resolve = resolve));
    const drainMs = flood.drainedAt - flood.finishedAt;
    return { tasks: flood.target, addMs: flood.addMs, drainMs, stats: background?.stats() };
  },
  exit: async () => {
    server.close();
    server.closeAllConnections();
    setImmediate(() => process.exit(0));
    return {};
  },
};

serveCommands(commands);
