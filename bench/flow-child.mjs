// A child of bench/flow-rate.mjs: runs tasks limited to 100 starts a second and prints each start's time (ms since the epoch).
// MODE=process: an Express app with backgroundTasks(); POST /burst?n=N adds N rate-limited tasks, which run here.
// MODE=worker: runWorker() on QUEUE_NAME with the same task; the limit is kept in Redis, across every worker.
// MODE=rlf: a plain BullMQ Worker limited by rate-limiter-flexible's RateLimiterRedis (RLF_PATH: where it is installed),
// with BullMQ's manual pattern (job.moveToDelayed + DelayedError): the alternative measured against ours.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const { backgroundTasks, defineTask } = require(path.join(root, 'dist/index.js'));
const LIMIT = Number(process.env.LIMIT ?? 100);
const PER = Number(process.env.PER ?? 1000);

const starts = [];
function started() {
  starts.push(performance.timeOrigin + performance.now());
}
// Printed in batches, so that printing does not slow the starts it measures.
setInterval(() => {
  if (starts.length === 0) return;
  process.stdout.write(`${JSON.stringify({ starts: starts.splice(0) })}\n`);
}, 100);

const limited = defineTask('limited', () => started(), { rateLimit: { limit: LIMIT, per: PER } });
process.stdin.on('end', () => process.exit(0)).resume();

const mode = process.env.MODE;
if (mode === 'process') {
  const express = require('express');
  const background = backgroundTasks();
  const app = express();
  app.use(background);
  app.post('/burst', (req, res) => {
    for (let i = 0; i < Number(req.query.n); i++) res.locals.background.addTask(limited);
    res.end();
  });
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
} else if (mode === 'worker') {
  const { runWorker } = require(path.join(root, 'dist/bullmq/index.js'));
  const worker = runWorker({ connection: process.env.REDIS_URL, queueName: process.env.QUEUE_NAME, tasks: [limited], concurrency: 10 });
  worker.worker.waitUntilReady().then(() => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
} else if (mode === 'rlf') {
  const { Worker, DelayedError } = require('bullmq');
  const { Redis } = require('ioredis');
  const { RateLimiterRedis } = require(require.resolve('rate-limiter-flexible', { paths: [process.env.RLF_PATH] }));
  const redis = new Redis(process.env.REDIS_URL);
  const limiter = new RateLimiterRedis({ storeClient: redis, points: LIMIT, duration: PER / 1000, keyPrefix: process.env.QUEUE_NAME });
  const worker = new Worker(
    process.env.QUEUE_NAME,
    async (job, token) => {
      try {
        await limiter.consume('limited');
      } catch (rejection) {
        await job.moveToDelayed(Date.now() + Math.max(1, rejection.msBeforeNext ?? PER), token);
        throw new DelayedError();
      }
      started();
    },
    { connection: { url: process.env.REDIS_URL }, concurrency: 10 },
  );
  worker.waitUntilReady().then(() => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
}
