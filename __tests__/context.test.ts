// Request context: each task runs in the AsyncLocalStorage context of its addTask call, and taskSignal() gives the
// running task its own AbortSignal.
import { AsyncLocalStorage } from 'node:async_hooks';
import request from 'supertest';
import { taskSignal } from '../lib/index.js';
import { appWith, settled } from './helpers.js';

describe('request context (AsyncLocalStorage)', () => {
  it('runs each task in the context of its addTask call', async () => {
    const als = new AsyncLocalStorage<string>();
    const { bg, app } = appWith();
    const seen: Array<[string, string | undefined]> = [];
    app.use((req, _res, next) => als.run(`mw:${String(req.query.id)}`, next));
    app.use((_req, res, next) => {
      res.locals.background.addTask(() => seen.push(['middleware', als.getStore()]));
      next();
    });
    app.get('/', (req, res, next) => {
      als.run(`handler:${String(req.query.id)}`, () => {
        res.locals.background.addTask(() => seen.push(['handler', als.getStore()]));
        setImmediate(() => {
          res.locals.background.addTask(() => seen.push(['later', als.getStore()]));
          res.end();
        });
      });
      void next;
    });
    await Promise.all([request(app).get('/?id=1'), request(app).get('/?id=2')]);
    await settled(bg);
    const sorted = seen.map(([where, store]) => `${where}=${store}`).sort();
    expect(sorted).toEqual([
      'handler=handler:1',
      'handler=handler:2',
      'later=handler:1',
      'later=handler:2',
      'middleware=mw:1',
      'middleware=mw:2',
    ]);
  });
});

describe('taskSignal()', () => {
  it('throws a clear Error outside a task', () => {
    expect(() => taskSignal()).toThrow(/taskSignal\(\) was called outside a background task/);
  });

  it("returns the running task's own signal, also after an await and inside a request context", async () => {
    const als = new AsyncLocalStorage<string>();
    const signals: AbortSignal[] = [];
    const stores: Array<string | undefined> = [];
    const { app, bg } = appWith({}, (_req, res) => {
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
