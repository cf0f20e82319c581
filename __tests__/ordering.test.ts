// When and in what order tasks run: after the response has finished, one list per response in the order added,
// shared by every middleware and the handler, and tasks added late.
import { createReadStream, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { BackgroundTasks, backgroundTasks } from '../lib/index.js';
import { appWith, deferred, loadExpress, settled } from './helpers.js';

const express = loadExpress();

describe('tasks start once the response is finished', () => {
  const file = join(tmpdir(), `ebt-ordering-${process.pid}.txt`);
  beforeAll(() => writeFileSync(file, 'hello from a file\n'));

  const kinds: Array<[string, 'get' | 'head', (res: import('express').Response) => void]> = [
    ['json', 'get', (res) => res.json({ ok: true })],
    ['send', 'get', (res) => res.send('text body')],
    ['sendFile', 'get', (res) => res.sendFile(file)],
    ['a piped stream', 'get', (res) => Readable.from(['a', 'b', 'c']).pipe(res)],
    ['a file stream', 'get', (res) => createReadStream(file).pipe(res)],
    ['204', 'get', (res) => res.status(204).end()],
    ['HEAD', 'head', (res) => res.send('not sent for HEAD')],
  ];

  it.each(kinds)('%s', async (_kind, method, respond) => {
    const { bg, app } = appWith();
    const seen: boolean[] = [];
    app.get('/', (_req, res) => {
      res.locals.background.addTask(() => {
        seen.push(res.writableFinished);
      });
      respond(res);
    });
    await request(app)
      [method]('/')
      .expect((r) => expect(r.status).toBeLessThan(300));
    await settled(bg);
    expect(seen).toEqual([true]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, queued: 0, running: 0 });
  });

  it('answers the client while a slow task is still running', async () => {
    const { bg, app } = appWith();
    const gate = deferred();
    const started = deferred();
    app.post('/register', (req, res) => {
      res.locals.background.addTask(async (email: string) => {
        started.resolve();
        await gate.promise;
        return email;
      }, String(req.query.email));
      res.json({ message: 'registered' });
    });
    const response = await request(app).post('/register?email=a@example.com');
    expect(response.body).toEqual({ message: 'registered' });
    await started.promise;
    expect(bg.stats()).toMatchObject({ running: 1, succeeded: 0 });
    gate.resolve();
    await settled(bg);
    expect(bg.stats()).toMatchObject({ running: 0, succeeded: 1 });
  });

  it('passes the arguments exactly as given', async () => {
    const { bg, app } = appWith();
    const object = { nested: [1, 2] };
    const received: unknown[][] = [];
    app.get('/', (_req, res) => {
      res.locals.background.addTask(
        (...args: unknown[]) => {
          received.push(args);
        },
        'a',
        object,
        undefined,
        3,
      );
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(received).toHaveLength(1);
    expect(received[0]).toEqual(['a', object, undefined, 3]);
    expect(received[0]?.[1]).toBe(object);
  });
});

describe('order and sharing', () => {
  it("runs one response's tasks one after another, in the order added", async () => {
    const { bg, app } = appWith();
    const events: string[] = [];
    const step = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`${name} end`);
    };
    app.get('/', (_req, res) => {
      res.locals.background.addTask(step('a'));
      res.locals.background.addTask(step('b'));
      res.locals.background.addTask(() => {
        events.push('c sync');
      });
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end', 'c sync']);
  });

  it("runs different responses' lists concurrently", async () => {
    const { bg, app } = appWith();
    const secondRan = deferred();
    const order: string[] = [];
    app.get('/first', (_req, res) => {
      // Finishes only once the second response's task has run: a deadlock if lists ran one at a time.
      res.locals.background.addTask(async () => {
        await secondRan.promise;
        order.push('first');
      });
      res.end();
    });
    app.get('/second', (_req, res) => {
      res.locals.background.addTask(() => {
        order.push('second');
        secondRan.resolve();
      });
      res.end();
    });
    await request(app).get('/first');
    await request(app).get('/second');
    await settled(bg);
    expect(order).toEqual(['second', 'first']);
  });

  it('shares one list between middleware and handler; earlier middleware tasks run first', async () => {
    const { bg, app } = appWith();
    const order: string[] = [];
    const lists: unknown[] = [];
    app.use((_req, res, next) => {
      lists.push(res.locals.background);
      res.locals.background.addTask(() => order.push('middleware'));
      next();
    });
    app.get('/', (_req, res) => {
      lists.push(res.locals.background);
      res.locals.background.addTask(() => order.push('handler'));
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(order).toEqual(['middleware', 'handler']);
    expect(lists[0]).toBeInstanceOf(BackgroundTasks);
    expect(lists[0]).toBe(lists[1]);
  });

  it.each([
    ['the same middleware', true],
    ['two middleware instances', false],
  ])('mounted twice (app and router, %s): one list, each task runs once', async (_name, same) => {
    const outer = backgroundTasks();
    const inner = same ? outer : backgroundTasks();
    const app = express();
    const router = express.Router();
    app.use(outer);
    const lists: unknown[] = [];
    app.use((_req, res, next) => {
      lists.push(res.locals.background);
      next();
    });
    router.use(inner);
    let runs = 0;
    router.get('/', (_req, res) => {
      lists.push(res.locals.background);
      res.locals.background.addTask(() => {
        runs++;
      });
      res.end();
    });
    app.use('/r', router);
    await request(app).get('/r/');
    await settled(outer);
    await settled(inner);
    expect(lists[0]).toBe(lists[1]);
    expect(runs).toBe(1);
    expect(outer.stats().succeeded).toBe(1);
    if (!same) expect(inner.stats().succeeded).toBe(0);
  });
});

describe('tasks added late', () => {
  it('a task added while its list drains runs after the tasks before it', async () => {
    const { bg, app } = appWith();
    const order: string[] = [];
    app.get('/', (_req, res) => {
      const background = res.locals.background;
      background.addTask(() => {
        order.push('first');
        background.addTask(() => order.push('added by first'));
      });
      background.addTask(() => order.push('second'));
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(order).toEqual(['first', 'second', 'added by first']);
  });

  it('a task added after its list has finished runs at once, in a list of its own', async () => {
    const { bg, app } = appWith();
    let list: BackgroundTasks | undefined;
    app.get('/', (_req, res) => {
      list = res.locals.background;
      res.locals.background.addTask(() => undefined);
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    const late = deferred<string>();
    list?.addTask((value: string) => late.resolve(value), 'late');
    expect(await late.promise).toBe('late');
    await settled(bg);
    expect(bg.stats()).toMatchObject({ succeeded: 2, queued: 0, running: 0 });
  });

  it('a first task added after the response finished still runs', async () => {
    const { bg, app } = appWith();
    const ran = deferred<string>();
    app.get('/', (_req, res) => {
      res.end();
      res.on('finish', () => setImmediate(() => res.locals.background.addTask(() => ran.resolve('after finish'))));
    });
    await request(app).get('/');
    expect(await ran.promise).toBe('after finish');
    await settled(bg);
    expect(bg.stats().succeeded).toBe(1);
  });
});
