// The demo's worker: sends the emails that `REDIS_URL=... npm run demo` queued, and stops gracefully on a signal.
import path from 'node:path';
import { runWorker } from '../lib/bullmq/index.js';
import { threadPool } from '../lib/threads/index.js';
import { numberFromEnv } from './env.js';
import { createTasks, QUEUE_NAME } from './tasks.js';
import { makeThumbnail, writeNotification } from './thread-tasks.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  console.error('demo:worker needs REDIS_URL, for example: REDIS_URL=redis://127.0.0.1:6379 npm run demo:worker');
  process.exit(1);
}
const emailDelayMs = numberFromEnv('demo:worker', 'EMAIL_DELAY_MS', 5000);
const reportStepMs = numberFromEnv('demo:worker', 'REPORT_STEP_MS', 1000);
const concurrency = numberFromEnv('demo:worker', 'WORKER_CONCURRENCY', 10, 1);
const closeTimeoutMs = numberFromEnv('demo:worker', 'CLOSE_TIMEOUT_MS', 10_000);

const { sendEmail, buildReport } = createTasks({ emailDelayMs, reportStepMs });
// The web demo's thread tasks run on this worker's own threads.
const threads = threadPool({ module: path.join(__dirname, 'thread-tasks.js') });
const worker = runWorker({
  connection: redisUrl,
  queueName: QUEUE_NAME,
  tasks: [sendEmail, buildReport, makeThumbnail, writeNotification],
  concurrency,
  threads,
});
void worker.worker.waitUntilReady().then(
  () => console.log(`Worker running tasks from the BullMQ queue "${QUEUE_NAME}" (concurrency ${concurrency})`),
  () => {}, // connection trouble is reported by the worker itself
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: taking no new jobs; waiting for those in flight (deadline ${closeTimeoutMs} ms)`);
  const { abandoned } = await worker.close({ timeout: closeTimeoutMs });
  await threads.close();
  const stats = worker.stats();
  console.log(
    `Shutdown: ${stats.succeeded} tasks succeeded, ${stats.failed + stats.timedOut} failed, ${abandoned} left for BullMQ to deliver again`,
  );
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
