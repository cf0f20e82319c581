// Production controls in one process: drain(), taskSignal(), timeout, concurrency and maxQueued.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent, createServer, get as httpGet } from 'node:http';
import request from 'supertest';
import { BackgroundTasksFullError, type TaskInfo, backgroundTasks, taskSignal } from '../lib/index.js';
import { close, type Deferred, deferred, listen, loadExpress, settled } from './helpers.js';

const express = loadExpress();

function appWith(bg: ReturnType<typeof backgroundTasks>, route: (res: import('express').Response, req: import('express').Request) => void) {
  const app = express();
  app.use(bg);
  app.all('/', (req, res) => route(res, req));
  return app;
}

describe('drain()', () => {
  it('resolves at once when nothing is queued or running', async () => {
    await expect(backgroundTasks().drain()).resolves.toEqual({ drained: true, pending: 0 });
  });

  it('waits for running tasks and for tasks added while it waits', async () => {
    const bg = backgroundTasks();
    const gate = deferred();
    const started = deferred();
    const order: string[] = [];
    const app = appWith(bg, (res) => {
      const background = res.locals.background;
      background.addTask(async () => {
        started.resolve();
        await gate.promise;
        order.push('first');
        background.addTask(() => order.push('added while draining'));
      });
      res.end();
    });
    await request(app).get('/');
    await started.promise;
    let resolved = false;
    const drained = bg.drain().then((result) => {
      resolved = true;
      return result;
    });
    // A request still in flight during shutdown adds a task; drain() accepts and waits for it.
    await request(app).get('/');
    expect(resolved).toBe(false);
    gate.resolve();
    expect(await drained).toEqual({ drained: true, pending: 0 });
    expect(order).toEqual(['first', 'first', 'added while draining', 'added while draining']);
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 4 });
  });

  it('with a timeout, resolves { drained: false, pending } at the deadline and aborts running tasks', async () => {
    const bg = backgroundTasks({ onError: () => undefined });
    const reasons: unknown[] = [];
    const started = deferred();
    const app = appWith(bg, (res) => {
      res.locals.background.addTask(async function waitsForAbort() {
        const signal = taskSignal();
        started.resolve();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        reasons.push(signal.reason);
      });
      res.locals.background.addTask(() => undefined);
      res.end();
    });
    await request(app).get('/');
    await started.promise;
    expect(await bg.drain({ timeout: 5 })).toEqual({ drained: false, pending: 2 });
    await settled(bg);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ name: 'AbortError' });
    expect(bg.stats()).toMatchObject({ succeeded: 2, queued: 0, running: 0 });
  });

  it('rejects bad options with a TypeError naming them', () => {
    const bg = backgroundTasks();
    expect(() => bg.drain({ timeout: -1 })).toThrow(/drain\(\): option "timeout" must be a number of milliseconds/);
    expect(() => bg.drain({ timeout: '5' } as never)).toThrow(TypeError);
    expect(() => bg.drain({ deadline: 5 } as never)).toThrow(/drain\(\): unknown option "deadline"/);
  });
});

describe('taskSignal()', () => {
  it('throws a clear Error outside a task', () => {
    expect(() => taskSignal()).toThrow(/taskSignal\(\) was called outside a background task/);
  });

  it("returns the running task's own signal, also after an await and inside a request context", async () => {
    const als = new AsyncLocalStorage<string>();
    const bg = backgroundTasks();
    const signals: AbortSignal[] = [];
    const stores: Array<string | undefined> = [];
    const app = appWith(bg, (res) => {
      for (const id of ['one', 'two']) {
        als.run(id, () =>
          res.locals.background.addTask(async () => {
            await Promise.resolve();
            signals.push(taskSignal());
            stores.push(als.getStore());
          }),
        );
      }
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(signals).toHaveLength(2);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals[0]?.aborted).toBe(false);
    expect(stores).toEqual(['one', 'two']);
  });
});

describe('timeout', () => {
  it("aborts the task's signal with a TimeoutError, reports it, counts it and moves on", async () => {
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    const bg = backgroundTasks({ timeout: 10, onError: (error, info) => failures.push({ error, info }) });
    const reasons: unknown[] = [];
    const ran: string[] = [];
    const app = appWith(bg, (res) => {
      res.locals.background.addTask(async function slowTask() {
        const signal = taskSignal();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        reasons.push(signal.reason);
      });
      res.locals.background.addTask(function next() {
        ran.push('next');
      });
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(ran).toEqual(['next']);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toMatchObject({ name: 'TimeoutError', message: 'Background task "slowTask" timed out after 10 ms' });
    expect(failures[0]?.info.name).toBe('slowTask');
    expect(reasons[0]).toBe(failures[0]?.error);
    expect(bg.stats()).toMatchObject({ timedOut: 1, failed: 0, succeeded: 1 });
  });

  it('a task that asks for its signal after the timeout gets an aborted one', async () => {
    const bg = backgroundTasks({ timeout: 1, onError: () => undefined });
    const late = deferred<AbortSignal>();
    const release = deferred();
    const app = appWith(bg, (res) => {
      res.locals.background.addTask(async () => {
        await release.promise;
        late.resolve(taskSignal());
      });
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(bg.stats().timedOut).toBe(1);
    release.resolve();
    const signal = await late.promise;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ name: 'TimeoutError' });
  });

  it('does not apply to a synchronous task that returns at once', async () => {
    const bg = backgroundTasks({ timeout: 1 });
    const app = appWith(bg, (res) => {
      res.locals.background.addTask(() => 'done');
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(bg.stats()).toMatchObject({ succeeded: 1, timedOut: 0 });
  });
});

describe('concurrency', () => {
  it('runs at most `concurrency` tasks at once across responses; lists wait in arrival order', async () => {
    const bg = backgroundTasks({ concurrency: 1 });
    const gates = new Map<string, Deferred>();
    const started: string[] = [];
    const firstStarted = deferred();
    const app = appWith(bg, (res, req) => {
      const name = String(req.query.name);
      const gate = deferred();
      gates.set(name, gate);
      res.locals.background.addTask(async () => {
        started.push(name);
        firstStarted.resolve();
        await gate.promise;
      });
      res.end();
    });
    await request(app).get('/?name=a');
    await firstStarted.promise;
    await request(app).get('/?name=b');
    await request(app).get('/?name=c');
    expect(bg.stats()).toMatchObject({ running: 1, queued: 2 });
    expect(started).toEqual(['a']);
    for (const name of ['a', 'b', 'c']) gates.get(name)?.resolve();
    await settled(bg);
    expect(started).toEqual(['a', 'b', 'c']);
    expect(bg.stats()).toMatchObject({ running: 0, queued: 0, succeeded: 3 });
  });

  it('hands a freed slot on without nesting: thousands of waiting lists of synchronous tasks run without a stack overflow', async () => {
    const bg = backgroundTasks({ concurrency: 1 });
    const gate = deferred();
    const holding = deferred();
    let ran = 0;
    const app = appWith(bg, (res, req) => {
      if (req.query.hold === '1') {
        res.locals.background.addTask(async () => {
          holding.resolve();
          await gate.promise;
        });
      } else {
        res.locals.background.addTask(() => {
          ran++;
        });
      }
      res.end();
    });
    const server = createServer(app);
    const port = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    try {
      const get = (path: string): Promise<void> =>
        new Promise((resolve, reject) => {
          httpGet({ port, host: '127.0.0.1', path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
      await get('/?hold=1');
      await holding.promise;
      const lists = 5000;
      for (let sent = 0; sent < lists; sent += 250) await Promise.all(Array.from({ length: 250 }, () => get('/')));
      expect(bg.stats()).toMatchObject({ running: 1, queued: lists });
      gate.resolve();
      await settled(bg);
      expect(ran).toBe(lists);
      expect(bg.stats()).toMatchObject({ running: 0, queued: 0, succeeded: lists + 1, failed: 0 });
    } finally {
      agent.destroy();
      await close(server);
    }
  });
});

describe('maxQueued', () => {
  it('addTask throws BackgroundTasksFullError beyond it, Express answers 503, accepted tasks all run', async () => {
    const bg = backgroundTasks({ concurrency: 1, maxQueued: 1 });
    const gate = deferred();
    const started = deferred();
    let runs = 0;
    const app = appWith(bg, (res) => {
      res.locals.background.addTask(async () => {
        runs++;
        started.resolve();
        await gate.promise;
      });
      res.end();
    });
    await request(app).get('/').expect(200); // starts at once: running, not queued
    await started.promise;
    await request(app).get('/').expect(200); // waits for the slot: queued 1
    const refused = await request(app).get('/');
    expect(refused.status).toBe(503);
    expect(bg.stats()).toMatchObject({ running: 1, queued: 1 });
    gate.resolve();
    await settled(bg);
    expect(runs).toBe(2);
    expect(bg.stats()).toMatchObject({ succeeded: 2, failed: 0, skipped: 0 });
  });

  it('maxQueued: 0 refuses every task (each one is queued until it starts)', async () => {
    const bg = backgroundTasks({ maxQueued: 0 });
    let thrown: unknown;
    const app = appWith(bg, (res) => {
      try {
        res.locals.background.addTask(() => undefined);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(BackgroundTasksFullError);
    expect(thrown).toMatchObject({ status: 503, statusCode: 503, expose: true, maxQueued: 0, name: 'BackgroundTasksFullError' });
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0 });
  });
});
