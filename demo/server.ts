// Starts the demo on PORT (default 3000) and shuts down gracefully: stop accepting, drain, report, exit 0.
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const emailDelayMs = Number(process.env.EMAIL_DELAY_MS ?? 5000);
const drainTimeoutMs = Number(process.env.DRAIN_TIMEOUT_MS ?? 10_000);

const { app, background } = createApp({ emailDelayMs });
const server = app.listen(port, () => {
  console.log(`Demo listening on http://localhost:${port}`);
  console.log(`Try: curl -X POST "http://localhost:${port}/register?email=you@example.com"`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: no new connections; draining background tasks (deadline ${drainTimeoutMs} ms)`);
  // Requests already in flight may still add tasks: drain() counts them too.
  server.close();
  server.closeIdleConnections();
  const before = background.stats();
  const result = await background.drain({ timeout: drainTimeoutMs });
  const after = background.stats();
  const finished = after.succeeded + after.failed + after.timedOut - (before.succeeded + before.failed + before.timedOut);
  console.log(`Shutdown: ${finished} tasks finished while draining, ${result.pending} abandoned`);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
