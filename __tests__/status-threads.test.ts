// Status records of thread tasks: taskId() in the thread is the handle's id, and taskProgress() crosses back to the record.
import path from 'node:path';
import request from 'supertest';
import type { TaskHandle, TaskRecord } from '../lib/index.js';
import { threadPool } from '../lib/threads/index.js';
import { GATE, idIn, shared, threadSteps, threadSummary, threadUnkeptResult } from './fixtures/status-thread-tasks.js';
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

test("a thread task's taskProgress() crosses back to its record; the final value is kept", async () => {
  const threads = threadPool({ module: tasksModule, maxThreads: 1 });
  const slots = shared();
  let handle!: TaskHandle;
  const { app, bg } = appWith({ status: true, threads }, (_req, res) => {
    handle = res.locals.background.addTask(threadSteps, slots);
    res.status(202).json({ id: handle.id });
  });
  try {
    const { body } = await request(app).post('/').expect(202);
    // The thread reports half way, then blocks on the gate until the record has shown it.
    const halfWay = await new Promise<TaskRecord>((resolve, reject) => {
      const check = (): void => {
        handle.status().then((record) => (record?.progress === 0.5 ? resolve(record) : setImmediate(check)), reject);
      };
      check();
    });
    expect(halfWay).toMatchObject({ id: body.id, state: 'running', message: 'half way', where: 'thread', attempts: 1 });
    open(slots);
    const final = await handle.settled();
    await settled(bg);
    expect(final).toMatchObject({ state: 'succeeded', progress: 1, message: 'done', where: 'thread' });
  } finally {
    open(slots);
    await threads.close();
  }
}, 20_000);

test("a { result: true } thread task's return value reaches its record as JSON; one that JSON cannot hold is said, not kept", async () => {
  const threads = threadPool({ module: tasksModule, maxThreads: 1 });
  const handles: TaskHandle[] = [];
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
  const { app, bg } = appWith({ status: true, threads }, (_req, res) => {
    handles.push(res.locals.background.addTask(threadSummary, 3));
    handles.push(res.locals.background.addTask(threadUnkeptResult));
    res.sendStatus(202);
  });
  try {
    await request(app).post('/').expect(202);
    const [summary, unkept] = await Promise.all(handles.map((handle) => handle.settled()));
    await settled(bg);
    expect(summary).toMatchObject({ state: 'succeeded', where: 'thread', result: { rows: 3, at: '1970-01-01T00:00:00.000Z' } });
    expect(unkept?.state).toBe('succeeded');
    expect(unkept?.result).toBeUndefined();
    expect(lines.join('\n')).toMatch(
      /task "threadUnkeptResult" is defined with \{ result: true \}, but its result is not kept: it is not JSON-serializable/,
    );
  } finally {
    spy.mockRestore();
    await threads.close();
  }
});
