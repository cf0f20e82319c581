// README "Testing your app" with vitest: the same kit, no jest. Run by frameworks.test.ts (`vitest run`).
import request from 'supertest';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { recordTasks, type TaskRecorder, watchTasks } from '../../lib/testing/index.js';
import { createApp } from './app.js';
import { mailer, sendWelcome } from './tasks.js';

let tasks: TaskRecorder;
beforeEach(() => {
  mailer.sent = [];
  tasks = recordTasks();
});
afterEach(() => tasks.restore());

test('signing up adds the welcome email; runAll() sends it', async () => {
  const { app } = createApp();
  await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
  tasks.assertAdded(sendWelcome, 'ada@example.com');
  expect(mailer.sent).toEqual([]);
  await tasks.runAll();
  expect(mailer.sent).toEqual(['ada@example.com']);
});

test('a 5xx skips the tasks', async () => {
  const { app } = createApp();
  await request(app).post('/signup').send({ email: 'bob@down.example' }).expect(503);
  expect(tasks.added(sendWelcome).map((task) => task.state)).toEqual(['skipped']);
});

test('watchTasks() waits for the real run', async () => {
  tasks.restore();
  const watcher = watchTasks();
  try {
    const { app } = createApp();
    await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
    await watcher.settled({ timeout: 5000 });
    expect(mailer.sent).toEqual(['ada@example.com']);
  } finally {
    watcher.restore();
  }
});
