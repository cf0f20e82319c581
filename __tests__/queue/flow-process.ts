// Child-process fixture for the queue flow-control tests: ROLE=web (an app with a BullMQ runner) or ROLE=worker, speaking JSON lines.
// Environment: REDIS_URL, QUEUE_NAME.
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { backgroundTasks, defineTask, retryAfter, taskId } from '../../lib/index.js';
import { loadExpress } from '../helpers.js';

function print(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Wall-clock ms with a fraction: the two workers share the machine's clock. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

const connection = process.env.REDIS_URL as string;
const queueName = process.env.QUEUE_NAME as string;
let redis: Redis | undefined;

const tasks = [
  defineTask('reindex', (user: string) => print({ event: 'run', task: 'reindex', arg: user, pid: process.pid }), {
    dedupe: { key: (user) => user, ttl: 60_000 },
  }),
  defineTask('reindex-short', (user: string) => print({ event: 'run', task: 'reindex-short', arg: user, at: now() }), {
    dedupe: { key: (user) => user, ttl: 300 },
  }),
  defineTask('reindex-debounced', (user: string, edit: number) => print({ event: 'run', task: 'reindex-debounced', arg: user, edit }), {
    dedupe: { key: (user) => user, ttl: 400, mode: 'debounce' },
  }),
  defineTask(
    'mail',
    (customer: string, n: number) => print({ event: 'run', task: 'mail', arg: customer, n, at: now(), pid: process.pid }),
    {
      rateLimit: { limit: 5, per: 400, key: (customer) => customer },
    },
  ),
  defineTask(
    'partner',
    async (customer: string) => {
      print({ event: 'start', task: 'partner', arg: customer, at: now(), pid: process.pid });
      await new Promise((resolve) => setTimeout(resolve, 30));
      print({ event: 'end', task: 'partner', arg: customer, at: now(), pid: process.pid });
    },
    { concurrency: { limit: 2, key: (customer) => customer } },
  ),
  defineTask(
    'flaky',
    async (token: string) => {
      redis ??= new Redis(connection);
      const attempt = await redis.incr(`flow-test:${token}`);
      print({ event: 'attempt', task: 'flaky', arg: token, attempt, at: now(), id: taskId() });
      if (attempt < 3) throw retryAfter(300);
    },
    { retries: 2, backoff: { type: 'fixed', delay: 600_000 } },
  ),
];
const byName = new Map(tasks.map((task) => [task.taskName, task]));

process.stdin.on('end', () => process.exit(1)).resume();

if (process.env.ROLE === 'worker') {
  const worker = runWorker({ connection, queueName, tasks, concurrency: 4 });
  void worker.worker.waitUntilReady().then(() => print({ event: 'ready', pid: process.pid }));
  process.on('SIGTERM', () => {
    void worker.close({ timeout: 2000 }).then((closed) => {
      print({ event: 'closed', closed, stats: worker.stats() });
      redis?.disconnect();
      process.exit(0);
    });
  });
} else {
  const express = loadExpress();
  const runner = bullmqRunner({ connection, queueName });
  const background = backgroundTasks({
    runner,
    onError: (error, info) => print({ event: 'error', name: info.name, error: String(error) }),
  });
  const app = express();
  app.use(background);
  app.post('/add', (req, res) => {
    const task = byName.get(String(req.query.task));
    const args = JSON.parse(String(req.query.args)) as unknown[];
    // biome-ignore lint/suspicious/noExplicitAny: the fixture adds whichever task the test names.
    res.locals.background.addTask(task as any, ...args);
    res.json({ ok: true });
  });
  app.get('/stats', (_req, res) => {
    res.json({ stats: background.stats(), runner: runner.stats() });
  });
  const server = app.listen(0, '127.0.0.1', () => print({ event: 'listening', port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    void (async () => {
      const drained = await background.drain();
      const closed = await runner.close();
      print({ event: 'shutdown', drained, closed, stats: background.stats() });
      process.exit(0);
    })();
  });
}
