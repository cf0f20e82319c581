// Starts the demo on PORT (default 3000) and shuts down gracefully: stop accepting, drain, report, exit 0.
// With REDIS_URL set, the emails go to a BullMQ queue instead, for `npm run demo:worker` to send.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { QUEUE_NAME } from './tasks.js';

/** A whole number from the environment, or the fallback; anything else stops the demo with a clear message. */
function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`demo: ${name} must be a whole number >= 0; got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}

const port = numberFromEnv('PORT', 3000);
const emailDelayMs = numberFromEnv('EMAIL_DELAY_MS', 5000);
const drainTimeoutMs = numberFromEnv('DRAIN_TIMEOUT_MS', 10_000);
const redisUrl = process.env.REDIS_URL || undefined;

async function main(): Promise<void> {
  // Loaded only when asked for: the in-process demo needs neither bullmq nor Redis.
  const runner = redisUrl
    ? (await import('../lib/bullmq/index.js')).bullmqRunner({ connection: redisUrl, queueName: QUEUE_NAME })
    : undefined;
  const { app, background } = createApp({ emailDelayMs, runner });
  const server = app.listen(port, () => {
    // PORT=0 picks a free port: print the one we got.
    const { port } = server.address() as AddressInfo;
    console.log(`Demo listening on http://localhost:${port}`);
    if (runner !== undefined)
      console.log(`Tasks go to the BullMQ queue "${QUEUE_NAME}" (REDIS_URL); run \`npm run demo:worker\` to send the emails`);
    console.log(`Try: curl -X POST "http://localhost:${port}/register?email=you@example.com"`);
  });

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: no new connections; draining background tasks (deadline ${drainTimeoutMs} ms)`);
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
    const finished = after.succeeded + after.failed + after.timedOut - (before.succeeded + before.failed + before.timedOut);
    console.log(`Shutdown: ${finished} tasks finished while draining, ${result.pending} abandoned`);
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('demo: failed to start:', error);
  process.exit(1);
});
