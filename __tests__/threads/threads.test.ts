// Thread tasks over real HTTP and real worker threads: order across places, failures, timeouts, drain, arguments, close().
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId as mainThreadId } from 'node:worker_threads';
import request from 'supertest';
import {
  type BackgroundTasksOptions,
  DrainDeadlineError,
  defineTask,
  type TaskInfo,
  TaskTimeoutError,
  ThreadPoolClosedError,
  ThreadTaskNotFoundError,
} from '../../lib/index.js';
import { type ThreadPool, threadPool, transfer } from '../../lib/threads/index.js';
import { appWith, collectErrors } from '../helpers.js';
import { allText, recordChannel } from '../tracing-support.js';
import {
  blockUntilReleased,
  failsWithError,
  flaky,
  heedsSignal,
  receives,
  receivesArrayBuffer,
  recordThread,
  runaway,
  SLOT,
  shared,
  throwsString,
} from './fixtures/tasks.js';

const TASKS = path.join(__dirname, 'fixtures', 'tasks.ts');

const pools: ThreadPool[] = [];
function pool(module: string | URL = TASKS, maxThreads = 2): ThreadPool {
  const made = threadPool({ module, maxThreads });
  pools.push(made);
  return made;
}

afterAll(async () => {
  await Promise.all(pools.map((made) => made.close()));
});

function threadApp(options: BackgroundTasksOptions, add: (background: import('../../lib/index.js').BackgroundTasks) => void) {
  return appWith(options, (_req, res) => {
    add(res.locals.background);
    res.json({ ok: true });
  });
}

/** Waits until a thread task says it started (it blocks its own thread, never this one). */
async function started(slots: Int32Array): Promise<void> {
  // Atomics.waitAsync (Node 16+) is missing from the ES2022 typings this project compiles against.
  const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: unknown } })
    .waitAsync;
  const { async, value } = waitAsync(slots, SLOT.started, 0);
  if (async) await value;
}

describe('thread tasks', () => {
  it("keep a response's order across places: a (here), b (thread), c (here)", async () => {
    const slots = shared();
    const order: string[] = [];
    const { app, bg } = threadApp({ threads: pool() }, (background) => {
      background.addTask(() => order.push('a'));
      background.addTask(recordThread, slots);
      background.addTask(() =>
        order.push(`c after b ran ${Atomics.load(slots, SLOT.ran)} time on thread ${Atomics.load(slots, SLOT.threadId)}`),
      );
    });
    await request(app).get('/').expect(200);
    await bg.drain();
    const thread = Atomics.load(slots, SLOT.threadId);
    expect(thread).not.toBe(mainThreadId);
    expect(order).toEqual(['a', `c after b ran 1 time on thread ${thread}`]);
    expect(bg.stats()).toMatchObject({ succeeded: 3, failed: 0, running: 0, queued: 0 });
  });

  it('run on another thread while the event loop keeps answering requests', async () => {
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool() }, (background) => background.addTask(blockUntilReleased, slots));
    app.get('/probe', (_req, res) => res.json({ probe: true }));
    await request(app).get('/').expect(200);
    await started(slots);
    // The task is blocking its thread right now; this process still answers.
    await request(app).get('/probe').expect(200, { probe: true });
    expect(Atomics.load(slots, SLOT.ran)).toBe(0);
    expect(Atomics.load(slots, SLOT.threadId)).not.toBe(mainThreadId);
    Atomics.store(slots, SLOT.gate, 1);
    await bg.drain();
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
  });

  it("report a thrown Error with the task's own name, message and stack, and a thrown non-Error as it was; the next task runs", async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => {
      background.addTask(failsWithError);
      background.addTask(throwsString);
      background.addTask(recordThread, slots);
    });
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => f.info.name)).toEqual(['failsWithError', 'throwsString']);
    expect(failures.map((f) => f.info.where)).toEqual(['thread', 'thread']);
    const [error, thrown] = failures.map((f) => f.error);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'SmtpError', message: 'SMTP down' });
    expect((error as Error).stack).toMatch(/SmtpError: SMTP down\n\s+at .*fixtures[/\\]tasks\.ts/);
    expect(thrown).toBe('plain string');
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 2 });
  });

  it('a runaway task is ended by its timeout (its thread terminated), counted, and the pool serves the next task', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const threads = pool(TASKS, 1);
    const { app, bg } = threadApp({ threads, onError }, (background) => {
      background.addTask(runaway);
      background.addTask(recordThread, slots);
    });
    await request(app).get('/').expect(200);
    await expect(bg.drain()).resolves.toEqual({ drained: true, pending: 0 });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBeInstanceOf(TaskTimeoutError);
    expect(failures[0]?.info.name).toBe('runaway');
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    expect(bg.stats()).toMatchObject({ timedOut: 1, succeeded: 1, failed: 0 });
  });

  it("drain({ timeout }) aborts a thread task's signal, inside the thread", async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => background.addTask(heedsSignal, slots));
    await request(app).get('/').expect(200);
    await started(slots);
    await expect(bg.drain({ timeout: 20 })).resolves.toEqual({ drained: false, pending: 1 });
    await bg.drain();
    expect(Atomics.load(slots, SLOT.ran)).toBe(1); // the thread saw an AbortError
    expect(failures.map((f) => f.error)).toEqual([
      expect.objectContaining({ name: 'AbortError', code: 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE' }),
    ]);
    expect(new DrainDeadlineError(1).code).toBe('ERR_BACKGROUND_TASKS_DRAIN_DEADLINE');
  });

  it('retry like any other task', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => background.addTask(flaky, slots));
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures).toEqual([]);
    expect(Atomics.load(slots, SLOT.attempts)).toBe(3);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('receive structured clones: Buffers as Buffers, Date and Map intact', async () => {
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool() }, (background) =>
      background.addTask(receives, slots, Buffer.from('hi'), new Date(0), new Map([['a', 1]])),
    );
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
  });
});

describe('transfer()', () => {
  it('moves an ArrayBuffer to the thread instead of copying it: detached here, whole there', async () => {
    const moved = new ArrayBuffer(1024);
    new Uint8Array(moved)[0] = 7;
    const copied = new ArrayBuffer(16);
    const [movedSlots, copiedSlots] = [shared(), shared()];
    const { app, bg } = threadApp({ threads: pool() }, (background) => {
      background.addTask(receivesArrayBuffer, movedSlots, transfer(moved));
      background.addTask(receivesArrayBuffer, copiedSlots, copied);
    });
    await request(app).get('/').expect(200);
    await bg.drain();
    expect([Atomics.load(movedSlots, SLOT.ran), Atomics.load(movedSlots, SLOT.attempts)]).toEqual([1024, 7]);
    expect(moved.byteLength).toBe(0);
    expect(Atomics.load(copiedSlots, SLOT.ran)).toBe(16);
    expect(copied.byteLength).toBe(16);
  });
});

describe('thread tasks in traces', () => {
  it("publish each attempt on the task channel with where: 'thread', in TracingChannel's order, without arguments", async () => {
    const recorder = recordChannel('express-background-tasks.task');
    try {
      const { failures, onError } = collectErrors();
      const slots = shared();
      const { app, bg } = threadApp({ threads: pool(), onError }, (background) => {
        background.addTask(recordThread, slots);
        background.addTask(failsWithError);
      });
      await request(app).post('/?token=secret-token-value').expect(200);
      await bg.drain();
      expect(failures).toHaveLength(1);
      const [ok, failed] = recorder.byAttempt();
      expect(ok?.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(ok?.[0]?.fields).toMatchObject({ name: 'recordThread', attempt: 1, where: 'thread', method: 'POST', path: '/' });
      expect(failed?.map((e) => e.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
      expect(failed?.[2]?.fields).toMatchObject({
        name: 'failsWithError',
        where: 'thread',
        error: expect.objectContaining({ name: 'SmtpError' }),
      });
      for (const event of recorder.events) expect(allText(event.fields)).not.toContain('secret-token-value');
    } finally {
      recorder.unsubscribe();
    }
  });
});

describe('thread tasks refused at addTask', () => {
  function added(options: BackgroundTasksOptions, add: (background: import('../../lib/index.js').BackgroundTasks) => void) {
    let thrown: unknown;
    const { app, bg } = threadApp(options, (background) => {
      try {
        add(background);
      } catch (error) {
        thrown = error;
      }
    });
    return request(app)
      .get('/')
      .expect(200)
      .then(() => ({ thrown, stats: bg.stats() }));
  }

  it('arguments that would not arrive intact: a TypeError naming the task and the path', async () => {
    const threads = pool();
    const slots = shared();
    const withCallback = await added({ threads }, (background) =>
      background.addTask(receives as never, slots, { onDone: () => {} } as never, new Date(0), new Map()),
    );
    expect(withCallback.thrown).toBeInstanceOf(TypeError);
    expect((withCallback.thrown as Error).message).toMatch(
      /^addTask\(\): task "receives": args\[1\]\.<key 0> is a function, which is not able to cross to a worker thread intact/,
    );
    class Point {
      x = 1;
    }
    const withInstance = await added({ threads }, (background) => background.addTask(receives as never, slots, new Point() as never));
    expect((withInstance.thrown as Error).message).toMatch(/args\[1\] is a Point instance/);
    expect(withInstance.stats.queued).toBe(0);
  });

  it('a thread task without a threads pool: a TypeError saying which option to set', async () => {
    const { thrown } = await added({}, (background) => background.addTask(recordThread, shared()));
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toBe(
      'addTask(): task "recordThread" is defined with { thread: true }, but no thread pool was given: pass backgroundTasks({ threads }): threadPool({ module }) from express-background-tasks/threads',
    );
  });

  it('threadPool() options are checked', () => {
    expect(() => threadPool({ module: 'relative/tasks.js' })).toThrow(
      /threadPool\(\): option "module" must be an absolute path or a file: URL/,
    );
    expect(() => threadPool({ module: path.join(__dirname, 'missing.js') })).toThrow(/threadPool\(\): option "module": no file at /);
    expect(() => threadPool({ module: TASKS, maxThreads: 0 })).toThrow(/option "maxThreads" must be an integer >= 1/);
    expect(() => threadPool({ module: TASKS, size: 2 } as never)).toThrow(/threadPool\(\): unknown option "size"/);
    expect(() => threadPool({ module: TASKS, idleTimeout: -1 })).toThrow(
      /threadPool\(\): option "idleTimeout" must be a number of milliseconds/,
    );
  });

  it("threadPool() takes './tasks.js' for the tasks.ts beside it when run from TypeScript sources", async () => {
    const threads = pool(pathToFileURL(path.join(__dirname, 'fixtures', 'tasks.js')));
    expect(threads.module).toBe(pathToFileURL(TASKS).href);
  });
});

describe('the threads module', () => {
  const esmSlots = shared();
  it.each([
    ['an ES module', 'tasks.mjs', 'esmRecordThread'],
    ['a CommonJS module (tasks exported under other names)', 'tasks.cjs', 'cjsRecordThread'],
  ])('may be %s', async (_kind, file, name) => {
    const slots = file.endsWith('.mjs') ? esmSlots : shared();
    // This process need not load the module: a stand-in with the same name is enough to add the task.
    const standIn = defineTask(name, (_slots: Int32Array) => {}, { thread: true });
    const { app, bg } = threadApp({ threads: pool(pathToFileURL(path.join(__dirname, 'fixtures', file))) }, (background) =>
      background.addTask(standIn, slots),
    );
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(Atomics.load(slots, 0)).toBe(1);
    expect(Atomics.load(slots, 1)).not.toBe(mainThreadId);
  });

  it('a task the module does not export: refused at addTask when this process can load the module', async () => {
    const missing = defineTask('notThere', () => {}, { thread: true });
    let thrown: unknown;
    const { app, bg } = threadApp({ threads: pool(path.join(__dirname, 'fixtures', 'tasks.cjs')) }, (background) => {
      try {
        background.addTask(missing);
      } catch (error) {
        thrown = error;
      }
    });
    await request(app).get('/').expect(200);
    expect(thrown).toBeInstanceOf(ThreadTaskNotFoundError);
    expect((thrown as Error).message).toMatch(
      /^addTask\(\): thread tasks module file:.*tasks\.cjs exports no task "notThere"; it exports "cjsRecordThread"$/,
    );
    expect(bg.stats().queued).toBe(0);
  });

  it('a task the module does not export: otherwise an error naming the module and the task when it runs', async () => {
    const { failures, onError } = collectErrors();
    const missing = defineTask('notThere', () => {}, { thread: true });
    // This test process cannot load an ES module (jest), so only the thread finds out.
    const { app, bg } = threadApp({ threads: pool(path.join(__dirname, 'fixtures', 'tasks.mjs')), onError }, (background) =>
      background.addTask(missing),
    );
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures).toHaveLength(1);
    const error = failures[0]?.error as Error;
    expect(error).toBeInstanceOf(ThreadTaskNotFoundError);
    expect(error.message).toMatch(/tasks\.mjs exports no task "notThere"; it exports "esmRecordThread"$/);
  });
});

describe('close()', () => {
  it('waits for tasks in flight, then later tasks fail with ThreadPoolClosedError', async () => {
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    const slots = shared();
    const threads = threadPool({ module: TASKS, maxThreads: 1 });
    const { app, bg } = threadApp({ threads, onError: (error, info) => failures.push({ error, info }) }, (background) =>
      background.addTask(blockUntilReleased, slots),
    );
    await request(app).get('/').expect(200);
    await started(slots);
    let closed = false;
    const closing = threads.close().then(() => {
      closed = true;
    });
    await request(app).get('/probe-while-closing').expect(404);
    expect(closed).toBe(false);
    Atomics.store(slots, SLOT.gate, 1);
    await closing;
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => f.error)).toEqual([expect.any(ThreadPoolClosedError)]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 1 });
  });
});
