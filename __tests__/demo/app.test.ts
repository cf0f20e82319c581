// The demo app in this process, tested with the kit (express-background-tasks/testing) instead of waiting for log lines:
// what each route adds, what runs, the README's answers, the queue mode without Redis, the thread tasks without threads.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../../demo/app.js';
import { createTasks } from '../../demo/tasks.js';
import { makeThumbnail, writeNotification } from '../../demo/thread-tasks.js';
import type { QueueRunner } from '../../lib/index.js';
import { recordTasks, runTask, type TaskRecorder, watchTasks } from '../../lib/testing/index.js';
import { threadPool } from '../../lib/threads/index.js';
import { ROOT } from './support.js';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

let tasks: TaskRecorder | undefined;
afterEach(() => tasks?.restore());

function demo(options: Parameters<typeof createApp>[0] = {}) {
  const lines: string[] = [];
  return { lines, ...createApp({ emailDelayMs: 0, log: (line) => lines.push(line), ...options }) };
}

describe('the demo app (in process)', () => {
  it('POST /register answers what the README shows at once, and the email follows', async () => {
    const { app, lines } = demo();
    const watcher = watchTasks();
    try {
      const ok = await request(app).post('/register?email=you@example.com').expect(200);
      expect(readme.replace(/\s+/g, ' ')).toContain(`the client gets \`${JSON.stringify(ok.body)}\` at once`);
      const [sent] = await watcher.settled({ timeout: 5000 });
      expect(sent).toMatchObject({ name: 'sendEmail', state: 'succeeded', url: '/register' });
      expect(lines).toEqual(['Email sent to you@example.com']);
    } finally {
      watcher.restore();
    }
  });

  it('refuses a missing email, as the README says, and adds no task (never sends to "undefined")', async () => {
    const { app } = demo();
    tasks = recordTasks();
    const missing = await request(app).post('/register').expect(400);
    expect(missing.body).toEqual({ error: 'email query parameter is required' });
    expect(readme).toContain(`\`${JSON.stringify(missing.body)}\``);
    expect(tasks.added()).toEqual([]);
  });

  it('with a queue runner (REDIS_URL), the email task is handed off with its address: recorded here without Redis', async () => {
    const noRedis: QueueRunner = { enqueue: () => Promise.reject(new Error('no Redis in this test')) };
    const { app, lines } = demo({ runner: noRedis });
    tasks = recordTasks();
    await request(app).post('/register?email=ada@example.com').expect(200);
    const { sendEmail } = createTasks();
    tasks.assertAdded(sendEmail, 'ada@example.com');
    expect(tasks.added()[0]?.where).toBe('queue');
    expect(lines).toEqual([]);
    await tasks.runAll();
    expect(lines).toEqual(['Email sent to ada@example.com']);
  });

  it('the thread tasks (a TypeScript module) are added with their arguments, and run here in record mode', async () => {
    const threads = threadPool({ module: path.join(ROOT, 'demo', 'thread-tasks.ts'), maxThreads: 1 });
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ebt-demo-')), 'log.txt');
    const previous = process.env.EMAIL_DELAY_MS;
    process.env.EMAIL_DELAY_MS = '0'; // writeNotification blocks its thread that long
    try {
      const { app } = demo({ threads, notificationLog: log });
      tasks = recordTasks();
      await request(app).post('/send-notification/ada@example.com').expect(200);
      tasks.assertAdded(writeNotification, 'ada@example.com', 'some notification', log);
      const outcomes = await tasks.runAll();
      expect(outcomes.map((task) => [task.where, task.state])).toEqual([['thread', 'succeeded']]);
      expect(readFileSync(log, 'utf8')).toBe('notification for ada@example.com: some notification\n');
      // The thumbnail takes seconds of CPU on this thread: asserted, not run (restore() drops it).
      await request(app).post('/avatar?user=grace').expect(202);
      tasks.assertAdded(makeThumbnail, 'grace');
    } finally {
      if (previous === undefined) delete process.env.EMAIL_DELAY_MS;
      else process.env.EMAIL_DELAY_MS = previous;
      await threads.close();
    }
  });

  it("sendEmail as the demo worker runs it: the address survives the queue's JSON round trip", async () => {
    const lines: string[] = [];
    const { sendEmail } = createTasks({ emailDelayMs: 0, log: (line) => lines.push(line) });
    expect(await runTask(sendEmail, 'ada@example.com')).toEqual({ state: 'succeeded', attempts: 1, result: undefined });
    expect(lines).toEqual(['Email sent to ada@example.com']);
  });
});
