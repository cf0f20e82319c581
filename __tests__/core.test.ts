// The core semantics over real HTTP: when tasks start, their order, sharing, isolation, skip, aborts, context.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createReadStream, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { Readable } from 'node:stream';
import createDebug from 'debug';
import request from 'supertest';
import { BackgroundTasks, type TaskInfo, backgroundTasks } from '../lib/index.js';
import { close, deferred, listen, loadExpress, settled } from './helpers.js';

const express = loadExpress();

/** Requests GET / and returns the message of the error that reached Express's error handling (as a 500). */
async function errorMessageOf(app: import('express').Express): Promise<string> {
  let message = '';
  app.use((err: Error, _req: unknown, res: import('express').Response, _next: unknown) => {
    message = err.message;
    res.status(500).end();
  });
  await request(app).get('/').expect(500);
  return message;
}

/** A fresh app with the middleware mounted, and the middleware itself for stats() and drain(). */
function mounted(options?: Parameters<typeof backgroundTasks>[0]) {
  const bg = backgroundTasks(options);
  const app = express();
  app.use(bg);
  return { bg, app };
}

interface Failure {
  error: unknown;
  info: TaskInfo;
}

function collectErrors(): { failures: Failure[]; onError: (error: unknown, info: TaskInfo) => void } {
  const failures: Failure[] = [];
  return { failures, onError: (error, info) => failures.push({ error, info }) };
}

describe('tasks start once the response is finished', () => {
  const file = join(tmpdir(), `ebt-core-${process.pid}.txt`);
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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

  it('refuses to overwrite a res.locals.background set by something else', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.background = 'taken' as never;
      next();
    });
    app.use(backgroundTasks());
    app.get('/', (_req, res) => res.end());
    const message = await errorMessageOf(app);
    expect(message).toMatch(/res\.locals\.background is already set/);
  });
});

describe('failure isolation', () => {
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('reports every kind of failure to onError, and later tasks still run', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = mounted({ onError });
    const ran: string[] = [];
    const nullProto = Object.create(null) as object;
    function syncThrow(): void {
      throw new Error('sync boom');
    }
    async function asyncReject(): Promise<void> {
      throw new RangeError('async boom');
    }
    app.post('/register', (_req, res) => {
      const background = res.locals.background;
      background.addTask(syncThrow);
      background.addTask(asyncReject);
      background.addTask(() => Promise.reject('a string'));
      background.addTask(() => {
        throw nullProto;
      });
      background.addTask(function last() {
        ran.push('last');
      });
      res.status(201).json({ ok: true });
    });
    await request(app).post('/register?email=x@example.com').expect(201, { ok: true });
    await settled(bg);
    expect(ran).toEqual(['last']);
    expect(failures.map((f) => f.info.name)).toEqual(['syncThrow', 'asyncReject', 'anonymous', 'anonymous']);
    expect(failures[0]?.info).toEqual({ name: 'syncThrow', method: 'POST', url: '/register?email=x@example.com', attempts: 1 });
    expect((failures[1]?.error as Error).message).toBe('async boom');
    expect(failures[2]?.error).toBe('a string');
    expect(failures[3]?.error).toBe(nullProto);
    expect(bg.stats()).toMatchObject({ failed: 4, succeeded: 1, skipped: 0 });
    expect(unhandled).toEqual([]);
  });

  it('stopOnError skips the rest of the list and counts them', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = mounted({ onError, stopOnError: true });
    const ran: string[] = [];
    app.get('/', (_req, res) => {
      res.locals.background.addTask(() => ran.push('first'));
      res.locals.background.addTask(function fails() {
        throw new Error('stop here');
      });
      res.locals.background.addTask(() => ran.push('third'));
      res.locals.background.addTask(() => ran.push('fourth'));
      res.end();
    });
    app.get('/other', (_req, res) => {
      res.locals.background.addTask(() => ran.push('other list'));
      res.end();
    });
    await request(app).get('/');
    await request(app).get('/other');
    await settled(bg);
    expect(ran).toEqual(['first', 'other list']);
    expect(failures).toHaveLength(1);
    expect(bg.stats()).toMatchObject({ succeeded: 2, failed: 1, skipped: 2 });
  });

  it('the default onError writes one line naming the task and the error, never the arguments', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    try {
      const { bg, app } = mounted();
      app.post('/register', (req, res) => {
        res.locals.background.addTask(
          async function sendEmail(_email: string, _token: string) {
            throw new Error('SMTP is down');
          },
          String(req.query.email),
          'secret-token-123',
        );
        res.end();
      });
      await request(app).post('/register?email=alice@example.com');
      await settled(bg);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"sendEmail"');
    expect(lines[0]).toContain('SMTP is down');
    expect(lines[0]).toContain('POST /register');
    expect(lines[0]).not.toContain('alice@example.com');
    expect(lines[0]).not.toContain('secret-token-123');
    expect(lines[0]).not.toContain('\n');
  });

  it('an onError that throws or rejects is reported, and the process carries on', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    let calls = 0;
    try {
      const bg = backgroundTasks({
        onError: (() => {
          calls++;
          if (calls === 1) throw new Error('handler broke');
          return Promise.reject(new Error('handler rejected'));
        }) as () => void,
      });
      const app = express();
      app.use(bg);
      app.get('/', (_req, res) => {
        res.locals.background.addTask(function first() {
          throw new Error('one');
        });
        res.locals.background.addTask(function second() {
          throw new Error('two');
        });
        res.end();
      });
      await request(app).get('/');
      await settled(bg);
      await new Promise((resolve) => setImmediate(resolve)); // let the rejected handler's catch run
      expect(bg.stats().failed).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBe(2);
    expect(lines.some((l) => l.includes('onError threw') && l.includes('"first"') && l.includes('handler broke'))).toBe(true);
    expect(lines.some((l) => l.includes('onError threw') && l.includes('"second"') && l.includes('handler rejected'))).toBe(true);
    expect(unhandled).toEqual([]);
  });
});

describe('skipping the tasks of a failed response', () => {
  it('skips the tasks of a response that ended with status >= 500 (the handler threw)', async () => {
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted({ skip: (req, res) => req.path === '/dry-run' || res.statusCode === 418 });
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
      const bg = backgroundTasks({
        skip: () => {
          throw new Error('bad predicate');
        },
      });
      const app = express();
      app.use(bg);
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
});

describe('client aborts and resets', () => {
  async function abortMidResponse(how: 'close' | 'reset'): Promise<{ finished: boolean }> {
    const { bg, app } = mounted();
    const ran = deferred<{ finished: boolean }>();
    let finishFired = false;
    app.get('/slow', (_req, res) => {
      res.on('finish', () => {
        finishFired = true;
      });
      res.locals.background.addTask(() => ran.resolve({ finished: finishFired || res.writableFinished }));
      res.write('partial ');
      // The rest of the body never comes: the client goes away first.
    });
    const server = createServer(app);
    const port = await listen(server);
    try {
      const socket = connect(port, '127.0.0.1');
      socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
      if (how === 'reset') socket.resetAndDestroy();
      else socket.end();
      const result = await ran.promise;
      await settled(bg);
      expect(bg.stats()).toMatchObject({ succeeded: 1, skipped: 0 });
      return result;
    } finally {
      await close(server);
    }
  }

  it('runs the tasks when the client closes mid-response (res "finish" never fires)', async () => {
    expect(await abortMidResponse('close')).toEqual({ finished: false });
  });

  it('runs the tasks when the client resets the connection', async () => {
    expect(await abortMidResponse('reset')).toEqual({ finished: false });
  });
});

describe('tasks added late', () => {
  it('a task added while its list drains runs after the tasks before it', async () => {
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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
    const { bg, app } = mounted();
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

describe('request context (AsyncLocalStorage)', () => {
  it('runs each task in the context of its addTask call', async () => {
    const als = new AsyncLocalStorage<string>();
    const { bg, app } = mounted();
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

describe('misuse', () => {
  it('app.use(backgroundTasks) fails with a message naming backgroundTasks(), not a hang', async () => {
    const app = express();
    app.use(backgroundTasks as never);
    app.get('/', (_req, res) => res.end());
    const message = await errorMessageOf(app);
    expect(message).toContain('app.use(backgroundTasks())');
  });

  it('addTask with a non-function throws a TypeError at the call site', async () => {
    const app = express();
    app.use(backgroundTasks());
    let thrown: unknown;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.addTask('sendEmail' as never);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/argument "fn" must be a function; received the string "sendEmail"/);
  });

  it('waitUntil with a non-promise throws a TypeError', async () => {
    const app = express();
    app.use(backgroundTasks());
    let thrown: unknown;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.waitUntil(42 as never);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/waitUntil\(promise\): argument "promise" must be a promise/);
  });
});

describe('waitUntil', () => {
  it('counts the promise as running, reports a rejection, and drain() waits for it', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = mounted({ onError });
    const ok = deferred<string>();
    const bad = deferred<string>();
    app.get('/', (_req, res) => {
      res.locals.background.waitUntil(ok.promise);
      res.locals.background.waitUntil(bad.promise);
      res.end();
    });
    await request(app).get('/');
    expect(bg.stats()).toMatchObject({ running: 2 });
    const drained = bg.drain();
    ok.resolve('fine');
    bad.reject(new Error('audit write failed'));
    expect(await drained).toEqual({ drained: true, pending: 0 });
    expect(bg.stats()).toMatchObject({ running: 0, succeeded: 1, failed: 1 });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'waitUntil', method: 'GET', url: '/' });
  });
});

describe('debug output', () => {
  it('logs list start and end and each task name, outcome and duration; never arguments', async () => {
    const lines: string[] = [];
    const previousLog = createDebug.log;
    const previous = createDebug.disable();
    createDebug.enable('express-background-tasks');
    createDebug.log = (...args: unknown[]) => lines.push(format(...args));
    try {
      const { bg, app } = mounted({ onError: () => undefined });
      app.post('/register', (req, res) => {
        res.locals.background.addTask(function sendEmail(_email: string) {}, String(req.query.email));
        res.locals.background.addTask(function audit(_token: string) {
          throw new Error('nope');
        }, 'secret-token-456');
        res.end();
      });
      await request(app).post('/register?email=bob@example.com');
      await settled(bg);
    } finally {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previous) createDebug.enable(previous);
    }
    const text = lines.join('\n');
    expect(text).toMatch(/list start POST \/register: 2 tasks/);
    expect(text).toMatch(/task sendEmail succeeded in [\d.]+ms/);
    expect(text).toMatch(/task audit failed in [\d.]+ms/);
    expect(text).toMatch(/list end POST \/register/);
    expect(text).not.toContain('bob@example.com');
    expect(text).not.toContain('secret-token-456');
  });
});

describe('the hot path', () => {
  it('a response that adds no task gets no listener', async () => {
    const app = express();
    app.use(backgroundTasks());
    const counts: number[] = [];
    app.get('/', (_req, res) => {
      counts.push(res.listenerCount('finish') + res.listenerCount('close'));
      res.end();
    });
    const bare = express();
    bare.get('/', (_req, res) => {
      counts.push(res.listenerCount('finish') + res.listenerCount('close'));
      res.end();
    });
    await request(app).get('/');
    await request(bare).get('/');
    expect(counts[0]).toBe(counts[1]);
  });
});
