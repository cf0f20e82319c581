// Status records of thread tasks: taskId() in the thread is the handle's id, and taskProgress() crosses back to the record.
import path from 'node:path';
import request from 'supertest';
import type { TaskHandle } from '../lib/index.js';
import { threadPool } from '../lib/threads/index.js';
import { GATE, idIn, shared, threadSteps } from './fixtures/status-thread-tasks.js';
import { appWith, settled } from './helpers.js';

const tasksModule = path.join(__dirname, 'fixtures/status-thread-tasks.ts');

function open(slots: Int32Array): void {
  Atomics.store(slots, GATE, 1);
  Atomics.notify(slots, GATE);
}

test('a thread task: taskId() in the thread is the handle id; its record says where it ran', async () => {
  const threads = threadPool({ module: tasksModule, maxThreads: 1 });
  const slots = shared();
  open(slots);
  let handle!: TaskHandle;
  const { app, bg } = appWith({ status: true, threads }, (_req, res) => {
    handle = res.locals.background.addTask(threadSteps, slots);
    res.status(202).json({ id: handle.id });
  });
  try {
    const { body } = await request(app).post('/').expect(202);
    const final = await handle.settled();
    await settled(bg);
    expect(idIn(slots)).toBe(body.id);
    expect(final).toMatchObject({ id: body.id, state: 'succeeded', where: 'thread', attempts: 1 });
  } finally {
    await threads.close();
  }
});
