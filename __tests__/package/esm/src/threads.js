// The threads subpath through import: a task defined with thread: true runs on a worker thread of the built package.
import { threadId } from 'node:worker_threads';
import express from 'express';
import { backgroundTasks } from 'express-background-tasks';
import { threadPool } from 'express-background-tasks/threads';
import { recordThread } from './thread-tasks.js';

const threads = threadPool({ module: new URL('./thread-tasks.js', import.meta.url), maxThreads: 1 });
const background = backgroundTasks({ threads });
const slots = new Int32Array(new SharedArrayBuffer(8));
const app = express();
app.use(background);
app.post('/thread', (_req, res) => {
  res.locals.background.addTask(recordThread, slots);
  res.json({ ok: true });
});

const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const response = await fetch(`http://127.0.0.1:${server.address().port}/thread`, { method: 'POST' });
    await background.drain();
    await threads.close();
    const ran = Atomics.load(slots, 0);
    const thread = Atomics.load(slots, 1);
    if (response.status !== 200 || ran !== 1 || thread === threadId) throw new Error(`unexpected: ${JSON.stringify({ ran, thread })}`);
    console.log(`thread task ran on thread ${thread}`);
    server.close();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
