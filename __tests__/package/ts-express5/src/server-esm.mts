// The same consumer as server.ts, compiled as an ES module (.mts): serve one real request whose handler adds a task,
// with no cast anywhere, and check that the task ran after the response had finished.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type BackgroundTasks, backgroundTasks } from 'express-background-tasks';

const seen: Array<{ finished: boolean; length: number }> = [];
function recordTask(email: string, res: { writableFinished: boolean }): Promise<void> {
  return Promise.resolve().then(() => {
    seen.push({ finished: res.writableFinished, length: email.length });
  });
}

const background = backgroundTasks();
const app = express();
app.use(background);
app.post('/register', (req, res) => {
  // No cast: the package's Express.Locals augmentation types res.locals.background.
  const list: BackgroundTasks = res.locals.background;
  list.addTask(recordTask, String(req.query.email), res);
  // Type-checked, never run: if res.locals.background were any, the unused @ts-expect-error would fail tsc.
  const typeOnly = (): void => {
    // @ts-expect-error: addTask checks the arguments against the task's parameters
    res.locals.background.addTask(recordTask, 42, res);
  };
  void typeOnly;
  res.json({ registered: true });
});

const watchdog = setTimeout(() => {
  console.error('consumer: timed out');
  process.exit(1);
}, 15000);
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const address = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${address.port}/register?email=a@example.com`, { method: 'POST' });
    const body = (await response.json()) as { registered?: unknown };
    const drained = await background.drain();
    const stats = background.stats();
    const ok =
      response.status === 200 &&
      body.registered === true &&
      drained.drained &&
      stats.succeeded === 1 &&
      seen.length === 1 &&
      seen[0]!.finished === true &&
      seen[0]!.length === 13;
    if (!ok) throw new Error(`unexpected: ${JSON.stringify({ status: response.status, body, drained, stats, seen })}`);
    console.log('task ran after the response: response finished before the task started');
    clearTimeout(watchdog);
    server.closeAllConnections();
    server.close();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
