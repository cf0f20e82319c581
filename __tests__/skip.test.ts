// Skipping the tasks of a failed response: status >= 500 by default, or the skip(req, res) option.
import request from 'supertest';
import { backgroundTasks } from '../lib/index.js';
import { appWith, settled } from './helpers.js';

describe('skipping the tasks of a failed response', () => {
  it('skips the tasks of a response that ended with status >= 500 (the handler threw)', async () => {
    const { bg, app } = appWith();
    let ran = false;
    app.get('/', (_req, res) => {
      res.locals.background.addTask(() => {
        ran = true;
      });
      throw new Error('handler failed');
    });
    app.use((_err: Error, _req: unknown, res: import('express').Response, _next: unknown) => {
      res.status(500).end();
    });
    await request(app).get('/').expect(500);
    await settled(bg);
    expect(ran).toBe(false);
    expect(bg.stats()).toMatchObject({ skipped: 1, succeeded: 0, queued: 0 });
  });

  it('runs the tasks of a 4xx response', async () => {
    const { bg, app } = appWith();
    let ran = false;
    app.get('/', (_req, res) => {
      res.locals.background.addTask(() => {
        ran = true;
      });
      res.status(404).end();
    });
    await request(app).get('/').expect(404);
    await settled(bg);
    expect(ran).toBe(true);
  });

  it('skip(req, res) replaces the predicate', async () => {
    const { bg, app } = appWith({ skip: (req, res) => req.path === '/dry-run' || res.statusCode === 418 });
    const ran: string[] = [];
    app.get('/:name', (req, res) => {
      res.locals.background.addTask(() => ran.push(String(req.params.name)));
      res.status(req.params.name === 'failed' ? 500 : 200).end();
    });
    await request(app).get('/dry-run');
    await request(app).get('/failed').expect(500);
    await request(app).get('/fine');
    await settled(bg);
    expect(ran.sort()).toEqual(['failed', 'fine']);
    expect(bg.stats()).toMatchObject({ skipped: 1, succeeded: 2 });
  });

  it('a skip() that throws is reported and the tasks still run', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { bg, app } = appWith({
        skip: () => {
          throw new Error('bad predicate');
        },
      });
      let ran = false;
      app.get('/', (_req, res) => {
        res.locals.background.addTask(() => {
          ran = true;
        });
        res.end();
      });
      await request(app).get('/');
      await settled(bg);
      expect(ran).toBe(true);
      expect(spy).toHaveBeenCalledWith(expect.stringContaining('bad predicate'));
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses an async skip at creation: its promise would count as true and skip every task', () => {
    // The type refuses it too; plain JavaScript gets the error.
    // @ts-expect-error a skip returns a boolean, not a promise
    const asyncSkip: Parameters<typeof backgroundTasks>[0] = { skip: async () => false };
    expect(() => backgroundTasks(asyncSkip)).toThrow(TypeError);
    expect(() => backgroundTasks(asyncSkip)).toThrow(
      /backgroundTasks\(\): option "skip" must return true or false synchronously: a promise would count as true/,
    );
  });

  it('a skip that returns a promise is reported at its first call, and the tasks run (never skipped silently)', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { bg, app } = appWith({ skip: (() => Promise.resolve(false)) as never });
      let ran = 0;
      app.get('/', (_req, res) => {
        for (let i = 0; i < 5; i++) {
          res.locals.background.addTask(() => {
            ran++;
          });
        }
        res.end();
      });
      await request(app).get('/');
      await settled(bg);
      expect(ran).toBe(5);
      expect(bg.stats()).toMatchObject({ succeeded: 5, skipped: 0 });
      expect(spy).toHaveBeenCalledWith(expect.stringMatching(/option "skip" must return true or false synchronously/));
    } finally {
      spy.mockRestore();
    }
  });
});
