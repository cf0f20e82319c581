// Starts the demo on PORT (default 3000) and shuts down gracefully: stop accepting, drain, report, exit 0.
// With REDIS_URL set, the emails go to a BullMQ queue instead, for `npm run demo:worker` to send.
// `npm run demo` runs it as `exec node --import tsx demo/server.ts`, so that signals sent to npm reach this process.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { threadPool } from '../lib/threads/index.js';
import { createApp } from './app.js';
import { numberFromEnv } from './env.js';
import { QUEUE_NAME } from './tasks.js';

const port = numberFromEnv('demo', 'PORT', 3000);
const emailDelayMs = numberFromEnv('demo', 'EMAIL_DELAY_MS', 5000);
const reportStepMs = numberFromEnv('demo', 'REPORT_STEP_MS', 1000);
const drainTimeoutMs = numberFromEnv('demo', 'DRAIN_TIMEOUT_MS', 10_000);
const redisUrl = process.env.REDIS_URL || undefined;

// One Ctrl-C in a terminal under `npm run demo` arrives twice: the terminal signals the whole process group, and npm
// passes on the SIGINT it got too. A SIGINT this soon after the first one is that same Ctrl-C, not a second one.
const SAME_CTRL_C_MS = 300;

async function main(): Promise<void> {
  // Loaded only when asked for: the in-process demo needs neither bullmq nor Redis.
  const runner = redisUrl
    ? (await import('../lib/bullmq/index.js')).bullmqRunner({ connection: redisUrl, queueName: QUEUE_NAME })
    : undefined;
  // The thread tasks run here on a worker thread pool, or, with a queue, on the worker's (demo/worker.ts).
  const threads = runner ? undefined : threadPool({ module: path.join(__dirname, 'thread-tasks.js') });
  const notificationLog = process.env.NOTIFICATION_LOG || undefined;
  const { app, background } = createApp({ emailDelayMs, reportStepMs, runner, threads, notificationLog });
  // Express 5 hands a listen error (such as EADDRINUSE) to this callback instead of throwing it.
  const server = app.listen(port, (error?: Error) => {
    if (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? 'the port is already in use (set PORT to another port, or PORT=0 for any free one)'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : error.message;
      console.error(`demo: cannot listen on port ${port}: ${why}`);
      process.exit(1);
    }
    // PORT=0 picks a free port: print the one we got.
    const { port: actual } = server.address() as AddressInfo;
    console.log(`Demo listening on http://localhost:${actual}`);
    if (runner !== undefined)
      console.log(`Tasks go to the BullMQ queue "${QUEUE_NAME}" (REDIS_URL); run \`npm run demo:worker\` to send the emails`);
    console.log(`Try: curl -X POST "http://localhost:${actual}/register?email=you@example.com"`);
    console.log(`     curl -X POST "http://localhost:${actual}/avatar?user=ada" (a CPU-heavy task on a worker thread)`);
    console.log(`     curl -i -X POST "http://localhost:${actual}/reports" (202, then GET the Location, or add /events to stream it)`);
  });

  let stoppingSince: number | undefined;
  function pending(): number {
    const { queued, running } = background.stats();
    return queued + running;
  }

  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    if (stoppingSince !== undefined) {
      // A second Ctrl-C forces the exit; a repeated SIGTERM (or the echo of the first Ctrl-C) changes nothing.
      if (signal !== 'SIGINT' || performance.now() - stoppingSince < SAME_CTRL_C_MS) return;
      console.log(`Second Ctrl-C: exiting now, without waiting; ${pending()} background tasks abandoned`);
      process.exit(130);
    }
    stoppingSince = performance.now();
    console.log(`${signal}: no new connections; draining background tasks (deadline ${drainTimeoutMs} ms)`);
    if (signal === 'SIGINT') setTimeout(() => console.log('Press Ctrl-C again to exit at once, without waiting'), SAME_CTRL_C_MS).unref();
    // Requests already in flight may still add tasks: drain() counts them too (with a queue: until they are stored).
    server.close();
    server.closeIdleConnections();
    const before = background.stats();
    const result = await background.drain({ timeout: drainTimeoutMs });
    const after = background.stats();
    const closed = await runner?.close();
    if (closed !== undefined && closed.givenUp > 0) {
      const names = Object.entries(closed.tasks).map(([name, n]) => `${name} x${n}`);
      console.log(`Queue: ${closed.givenUp} tasks never stored in Redis (given up): ${names.join(', ')}`);
    }
    await threads?.close();
    const finished = after.succeeded + after.failed + after.timedOut - (before.succeeded + before.failed + before.timedOut);
    console.log(`Shutdown: ${finished} tasks finished while draining, ${result.pending} abandoned`);
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`demo: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
