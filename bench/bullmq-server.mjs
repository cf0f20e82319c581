// A benchmark server for bench/scenarios/bullmq.mjs: the demo app's POST /register on the built package, its task run in-process or queued on BullMQ.
import { createRequire } from 'node:module';
import { serveCommands } from './lib/commands.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const { backgroundTasks, defineTask } = require('../dist/index.js');

/** argv[2] is JSON: { mode: 'in-process' | 'bullmq', redisUrl, queueName }. */
const config = JSON.parse(process.argv[2] ?? '{}');

let ran = 0;
const sendEmail = defineTask('sendEmail', async (email) => {
  if (email.length === 0) throw new Error('no email');
  ran++;
});

let runner;
if (config.mode === 'bullmq') {
  const { bullmqRunner } = require('../dist/bullmq/index.js');
  runner = bullmqRunner({ connection: config.redisUrl, queueName: config.queueName });
} else if (config.mode !== 'in-process') {
  throw new TypeError(`bench bullmq-server: unknown mode "${config.mode}"`);
}

const failures = [];
const background = backgroundTasks({
  ...(runner === undefined ? {} : { runner }),
  onError: (error) => {
    if (failures.length < 5) failures.push(String(error?.message ?? error));
  },
});
const app = express();
app.use(background);
app.post('/register', (req, res) => {
  const email = req.query.email;
  if (typeof email !== 'string' || email === '') {
    res.status(400).json({ error: 'email query parameter is required' });
    return;
  }
  res.locals.background.addTask(sendEmail, email);
  res.json({ message: `Registered ${email}; the email will follow` });
});

const server = app.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));

const commands = {
  /** Waits until every task added so far has run (in-process) or is stored in Redis (bullmq). */
  settle: async () => {
    await background.drain();
    return { ran, stats: background.stats(), failures };
  },
  exit: async () => {
    server.close();
    server.closeAllConnections();
    await background.drain({ timeout: 5000 });
    await runner?.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

serveCommands(commands);
