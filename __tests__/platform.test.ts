// platformWaitUntil: a serverless platform is told to wait for each response list, with Vercel's found by itself.
import request from 'supertest';
import { backgroundTasks } from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

const VERCEL = Symbol.for('@vercel/request-context');

function platformApp(bg: ReturnType<typeof backgroundTasks>, order: string[]) {
  const app = express();
  app.use(bg);
  app.get('/tasks', (_req, res) => {
    res.locals.background.addTask(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('task 1');
    });
    res.locals.background.addTask(() => order.push('task 2'));
    res.json({ ok: true });
  });
  app.get('/none', (_req, res) => res.json({ ok: true }));
  app.get('/fails', (_req, res) => {
    res.locals.background.addTask(() => order.push('never'));
    res.status(500).end();
  });
  return app;
}

describe('platformWaitUntil', () => {
  it('is called once per list, with a promise that settles after all its tasks', async () => {
    const order: string[] = [];
    const promises: Promise<void>[] = [];
    const bg = backgroundTasks({ platformWaitUntil: (promise) => promises.push(promise) });
    await request(platformApp(bg, order)).get('/tasks').expect(200);
    expect(promises).toHaveLength(1);
    await promises[0]?.then(() => order.push('platform released'));
    expect(order).toEqual(['task 1', 'task 2', 'platform released']);
  });

  it('settles for a skipped list too, and is not called when no task is added', async () => {
    const order: string[] = [];
    const promises: Promise<void>[] = [];
    const bg = backgroundTasks({ platformWaitUntil: (promise) => promises.push(promise) });
    const app = platformApp(bg, order);
    await request(app).get('/none').expect(200);
    expect(promises).toHaveLength(0);
    await request(app).get('/fails').expect(500);
    expect(promises).toHaveLength(1);
    await promises[0];
    expect(order).toEqual([]);
    expect(bg.stats().skipped).toBe(1);
  });

  it('a platformWaitUntil that throws is reported and the tasks still run', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const order: string[] = [];
      const bg = backgroundTasks({
        platformWaitUntil: () => {
          throw new Error('platform down');
        },
      });
      await request(platformApp(bg, order)).get('/tasks').expect(200);
      await bg.drain();
      expect(order).toEqual(['task 1', 'task 2']);
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
        expect.stringMatching(/^express-background-tasks: platformWaitUntil threw; the tasks run anyway: Error: platform down$/),
      ]);
    } finally {
      errors.mockRestore();
    }
  });

  it("uses Vercel's waitUntil by itself where Vercel's request context is present, unless set to false", async () => {
    const received: Promise<unknown>[] = [];
    const context = {
      waitUntil(this: unknown, promise: Promise<unknown>) {
        expect(this).toBe(context);
        received.push(promise);
      },
    };
    (globalThis as Record<symbol, unknown>)[VERCEL] = { get: () => context };
    try {
      const order: string[] = [];
      await request(platformApp(backgroundTasks(), order)).get('/tasks').expect(200);
      expect(received).toHaveLength(1);
      await received[0];
      expect(order).toEqual(['task 1', 'task 2']);
      const off = backgroundTasks({ platformWaitUntil: false });
      await request(platformApp(off, order)).get('/tasks').expect(200);
      await off.drain();
      expect(received).toHaveLength(1);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[VERCEL];
    }
  });

  it('a Vercel request context whose get() throws is reported once per list, and no task is lost', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {});
    (globalThis as Record<symbol, unknown>)[VERCEL] = {
      get: () => {
        throw new Error('no request context');
      },
    };
    try {
      const order: string[] = [];
      const bg = backgroundTasks();
      await request(platformApp(bg, order)).get('/tasks').expect(200);
      await bg.drain();
      // Both tasks of the list ran: the first addTask did not throw after counting, and the second was not lost.
      expect(order).toEqual(['task 1', 'task 2']);
      expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 2 });
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
        expect.stringMatching(
          /^express-background-tasks: Vercel's request context threw; the tasks run anyway, without waitUntil: Error: no request context$/,
        ),
      ]);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[VERCEL];
      errors.mockRestore();
    }
  });

  it('refuses a platformWaitUntil that is not a function or false', () => {
    expect(() => backgroundTasks({ platformWaitUntil: true as never })).toThrow(
      /backgroundTasks\(\): option "platformWaitUntil" must be a function; received boolean true/,
    );
  });
});
