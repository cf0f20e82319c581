// A server for bench/handoff.mjs: POST /register adding one task, run in-process or handed to BullMQ after or before the response; loads lib/ through tsx.

import { createRequire } from 'node:module';
import { bullmqRunner } from '../lib/bullmq/index.ts';
import { backgroundTasks, defineTask } from '../lib/index.ts';

const require = createRequire(import.meta.url);
const express = require('express');
/** argv[2] is JSON: { mode: 'bare' | 'in-process' | 'after-response' | 'before-response', redisUrl, queueName }; bare: no middleware, the task called fire-and-forget. */
const config = JSON.parse(process.argv[2] ?? '{}');
const sendEmail = defineTask('sendEmail', async (email) => {
  if (email.length === 0) throw new Error('no email');
});
const bare = config.mode === 'bare';
const runner =
  bare || config.mode === 'in-process' ? undefined : bullmqRunner({ connection: config.redisUrl, queueName: config.queueName });
const background = backgroundTasks({
  ...(runner === undefined ? {} : { runner, handOff: config.mode }),
  maxQueued: Number.POSITIVE_INFINITY, // measure the buffer, do not bound it
  onError: () => {},
});
const app = express();
let ran = 0;
if (!bare) app.use(background);
app.post('/register', (req, res) => {
  if (bare) {
    void sendEmail(String(req.query.email)).then(() => ran++);
  } else {
    res.locals.background.addTask(sendEmail, String(req.query.email));
  }
  res.json({ ok: true });
});
// The largest number of tasks waiting to be stored (queued), sampled every 50 ms.
let peak = 0;
setInterval(() => {
  peak = Math.max(peak, background.stats().queued);
}, 50).unref();
const server = app.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('message', async (message) => {
  if (message === 'sample') {
    const stats = background.stats();
    process.send({ peak, queued: stats.queued, stored: bare ? ran : (runner?.stats().enqueued ?? stats.succeeded) });
    peak = 0;
  } else if (message === 'exit') {
    server.close();
    server.closeAllConnections();
    await background.drain({ timeout: 5000 });
    await runner?.close();
    process.exit(0);
  }
});
