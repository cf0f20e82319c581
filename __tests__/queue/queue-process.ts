// Child-process fixture for the queue tests: ROLE=web (an app with a BullMQ runner) or ROLE=worker (runWorker), speaking JSON lines on stdout.
// Environment: REDIS_URL, QUEUE_NAME; web: MAX_QUEUED, ENQUEUE_TIMEOUT_MS, DRAIN_TIMEOUT_MS, HAND_OFF ('flush': the route
// awaits flush() and answers 503 if it rejects; 'before-response': that option); worker: LOCK_MS, STALLED_MS, HANG_ARG.
import type { AddressInfo } from 'node:net';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { type BackgroundTasksOptions, backgroundTasks, defineTask, taskId } from '../../lib/index.js';
import { loadExpress } from '../helpers.js';

function print(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function numberFrom(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : Number(value);
}

const connection = process.env.REDIS_URL as string;
const queueName = process.env.QUEUE_NAME as string;
const hangArg = process.env.HANG_ARG;

/** The one task: says that it runs (with its argument, a test token) and finishes at once, unless told to hang. */
const record = defineTask('record', async (arg: string) => {
  print({ event: 'run', arg, id: taskId(), pid: process.pid });
  if (arg === hangArg) await new Promise(() => {}); // holds its job until the process is killed
});

// The test ends the fixture by signal; if the test process dies, stdin ends and so does the fixture.
process.stdin.on('end', () => process.exit(1)).resume();

if (process.env.ROLE === 'worker') {
  const lockDuration = numberFrom('LOCK_MS');
  const stalledInterval = numberFrom('STALLED_MS');
  const worker = runWorker({
    connection,
    queueName,
    tasks: [record],
    concurrency: 4,
    ...(lockDuration === undefined ? {} : { lockDuration }),
    ...(stalledInterval === undefined ? {} : { stalledInterval }),
  });
  // A job whose lock expired, found by this worker's stalled-job check: it is delivered again (at-least-once).
  worker.worker.on('stalled', (id) => print({ event: 'stalled', id }));
  void worker.worker.waitUntilReady().then(() => print({ event: 'ready', pid: process.pid }));
  process.on('SIGTERM', () => {
    void worker.close({ timeout: 2000 }).then((closed) => {
      print({ event: 'closed', closed, stats: worker.stats() });
      process.exit(0);
    });
  });
} else {
  const express = loadExpress();
  const runner = bullmqRunner({ connection, queueName, enqueueTimeout: numberFrom('ENQUEUE_TIMEOUT_MS') ?? 5000 });
  const options: { -readonly [K in keyof BackgroundTasksOptions]: BackgroundTasksOptions[K] } = {
    runner,
    // Never the arguments: the name and the error only.
    onError: (error, info) => print({ event: 'error', name: info.name, error: error instanceof Error ? error.message : String(error) }),
  };
  const maxQueued = numberFrom('MAX_QUEUED');
  if (maxQueued !== undefined) options.maxQueued = maxQueued;
  const handOff = process.env.HAND_OFF;
  if (handOff === 'before-response') options.handOff = handOff;
  const background = backgroundTasks(options);
  const app = express();
  app.use(background);
  app.post('/add', async (req, res) => {
    try {
      res.locals.background.addTask(record, String(req.query.arg));
      if (handOff === 'flush') await res.locals.background.flush();
    } catch (error) {
      res.status(503).json({ error: (error as Error).name });
      return;
    }
    res.json({ ok: true });
  });
  app.get('/stats', (_req, res) => {
    res.json({ stats: background.stats(), runner: runner.stats() });
  });
  const server = app.listen(0, '127.0.0.1', () => print({ event: 'listening', port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    const timeout = numberFrom('DRAIN_TIMEOUT_MS');
    void (async () => {
      const drained = await background.drain(timeout === undefined ? undefined : { timeout });
      const closed = await runner.close();
      print({ event: 'shutdown', drained, closed, stats: background.stats(), runner: runner.stats() });
      process.exit(0);
    })();
  });
}
