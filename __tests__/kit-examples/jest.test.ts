// README "Testing your app" with jest + supertest: assert what a request added, run it, the 5xx case, settled(), a queue app, a thread task, retries.
import path from 'node:path';
import request from 'supertest';
import type { QueueRunner } from '../../lib/index.js';
import { recordTasks, runTask, type TaskRecorder, watchTasks } from '../../lib/testing/index.js';
import { threadPool } from '../../lib/threads/index.js';
import { createApp } from './app.js';
import { crm, mailer, sendWelcome, syncCrm } from './tasks.js';
import { makeThumbnail, thumbnails } from './thread-tasks.js';

beforeEach(() => {
  mailer.sent = [];
  crm.contacts = [];
  crm.failures = 0;
});

describe('POST /signup (record mode)', () => {
  let tasks: TaskRecorder;
  beforeEach(() => {
    tasks = recordTasks();
  });
  afterEach(() => tasks.restore());

  test('adds the welcome email, without sending it', async () => {
    const { app } = createApp();
    await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
    tasks.assertAdded(sendWelcome, 'ada@example.com');
    tasks.assertAdded(syncCrm, { email: 'ada@example.com', plan: 'free' });
    expect(mailer.sent).toEqual([]);
  });

  test('runs the tasks and checks their effect', async () => {
    const { app } = createApp();
    await request(app).post('/signup').send({ email: 'ada@example.com', plan: 'pro' }).expect(201);
    const outcomes = await tasks.runAll();
    expect(outcomes.map((task) => task.state)).toEqual(['succeeded', 'succeeded']);
    expect(mailer.sent).toEqual(['ada@example.com']);
    expect(crm.contacts).toEqual(['ada@example.com (pro)']);
  });

  test('a 5xx response skips its tasks, as in production', async () => {
    const { app } = createApp();
    await request(app).post('/signup').send({ email: 'bob@down.example' }).expect(503);
    expect(tasks.added().map((task) => task.state)).toEqual(['skipped', 'skipped']);
    await tasks.runAll();
    expect(mailer.sent).toEqual([]);
  });

  test('a queue-runner app, without Redis: the tasks are recorded, and run through the queue encoding', async () => {
    // Record mode takes every list before it reaches the runner: this one is never called.
    const noRedis: QueueRunner = { enqueue: () => Promise.reject(new Error('no Redis in unit tests')) };
    const { app } = createApp({ runner: noRedis });
    await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
    expect(tasks.added().map((task) => task.where)).toEqual(['queue', 'queue']);
    await tasks.runAll();
    expect(crm.contacts).toEqual(['ada@example.com (free)']);
  });

  test('a thread task from a TypeScript module runs here, on the main thread', async () => {
    const threads = threadPool({ module: path.join(__dirname, 'thread-tasks.ts') });
    try {
      const { app } = createApp({ threads });
      await request(app).post('/avatar/ada').send({ image: 'pixels' }).expect(202);
      tasks.assertAdded(makeThumbnail, 'ada', Buffer.from('pixels'));
      const [outcome] = await tasks.runAll();
      expect(outcome?.state).toBe('succeeded');
      expect(thumbnails).toContain('ada:6ec9c2b0');
    } finally {
      await threads.close();
    }
  });

  test("a task's own timeout and backoff, shortened for the test", async () => {
    crm.failures = 2;
    const { app } = createApp();
    await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
    const outcomes = await tasks.runAll({ timeout: 100, backoff: false });
    expect(outcomes.map((task) => [task.name, task.state, task.attempts])).toEqual([
      ['sendWelcome', 'succeeded', 1],
      ['syncCrm', 'succeeded', 3],
    ]);
  });
});

test('watchTasks(): the tasks really run; settled() waits for them', async () => {
  const { app } = createApp();
  const watcher = watchTasks();
  try {
    await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
    const settled = await watcher.settled({ timeout: 5000 });
    expect(settled.map((task) => task.state)).toEqual(['succeeded', 'succeeded']);
    expect(mailer.sent).toEqual(['ada@example.com']);
  } finally {
    watcher.restore();
  }
});

test("runTask(): syncCrm's retries, as a queue worker would run it", async () => {
  crm.failures = 1;
  const outcome = await runTask(syncCrm, { email: 'ada@example.com', plan: 'free' });
  expect(outcome).toMatchObject({ state: 'succeeded', attempts: 2 });
  expect(crm.contacts).toEqual(['ada@example.com (free)']);
});
