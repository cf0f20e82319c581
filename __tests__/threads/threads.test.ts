// Thread tasks over real HTTP and real worker threads: order across places, failures, timeouts, drain, arguments, close().
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId as mainThreadId } from 'node:worker_threads';
import request from 'supertest';
import {
  type BackgroundTasksOptions,
  DrainDeadlineError,
  defineTask,
  InvalidArgumentError,
  type TaskInfo,
  TaskTimeoutError,
  ThreadPoolClosedError,
  ThreadPoolCloseTimeoutError,
  ThreadTaskNotFoundError,
} from '../../lib/index.js';
import { feedOf, type TaskEntry } from '../../lib/task-events.js';
import { type ThreadPool, threadPool, transfer } from '../../lib/threads/index.js';
import { appWith, Child, collectErrors, killChildren } from '../helpers.js';
import { allText, recordChannel } from '../tracing-support.js';
import {
  asksLater,
  blockUntilReleased,
  failsWithError,
  flaky,
  heedsSignal,
  progressLoop,
  receives,
  receivesArrayBuffer,
  recordThread,
  reportsProgress,
  returnsHostileThenable,
  runaway,
  SLOT,
  shared,
  spinsForever,
  throwsCodeFunction,
  throwsString,
  throwsUnreadableMessage,
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
  await killChildren();
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

  it('retryAfter(ms) thrown in a thread waits that long, not the backoff', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => background.addTask(asksLater, slots));
    await request(app).get('/').expect(200);
    // With the 10-minute backoff, this drain would outlast the test's timeout.
    await bg.drain();
    expect(failures).toEqual([]);
    expect(Atomics.load(slots, SLOT.attempts)).toBe(2);
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
    const closing = threads.close().then((result) => {
      closed = true;
      return result;
    });
    await request(app).get('/probe-while-closing').expect(404);
    expect(closed).toBe(false);
    Atomics.store(slots, SLOT.gate, 1);
    await expect(closing).resolves.toEqual({ drained: true, pending: 0 });
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => f.error)).toEqual([expect.any(ThreadPoolClosedError)]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 1 });
  });
});

describe('close({ timeout })', () => {
  it('terminates a task still running at the deadline: counted timed out, reported, and close() resolves with what it stopped', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const threads = threadPool({ module: TASKS, maxThreads: 1 });
    const { app, bg } = threadApp({ threads, onError }, (background) => background.addTask(spinsForever, slots));
    await request(app).get('/').expect(200);
    await started(slots);
    await expect(threads.close({ timeout: 30 })).resolves.toEqual({ drained: false, pending: 1 });
    await bg.drain();
    expect(failures.map((f) => f.error)).toEqual([expect.any(ThreadPoolCloseTimeoutError)]);
    const error = failures[0]?.error as ThreadPoolCloseTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'ERR_BACKGROUND_TASKS_TIMEOUT', timeout: 30 });
    expect(error.message).toBe(
      'Thread task "spinsForever" was stopped by threadPool().close(): its deadline of 30 ms was reached, and its thread terminated',
    );
    expect(bg.stats()).toMatchObject({ timedOut: 1, failed: 0, running: 0, queued: 0 });
    // Called again, close() answers the same; later thread tasks fail with ThreadPoolClosedError.
    await expect(threads.close()).resolves.toEqual({ drained: false, pending: 1 });
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => f.error)).toEqual([expect.any(ThreadPoolCloseTimeoutError), expect.any(ThreadPoolClosedError)]);
  });

  it('resolves { drained: true, pending: 0 } when nothing is in flight', async () => {
    const threads = threadPool({ module: TASKS, maxThreads: 1 });
    await expect(threads.close({ timeout: 1000 })).resolves.toEqual({ drained: true, pending: 0 });
  });

  it('refuses bad options at once, naming the option', () => {
    const threads = pool();
    expect(() => threads.close({ timeout: -1 })).toThrow(
      /^threadPool\(\)\.close\(\): option "timeout" must be a number of milliseconds above 0/,
    );
    expect(() => threads.close({ timeout: '5s' } as never)).toThrow(InvalidArgumentError);
    expect(() => threads.close({ force: true } as never)).toThrow(/^threadPool\(\)\.close\(\): unknown option "force"/);
  });

  it.each([
    ["the README's recipe: drain({ timeout }), then close()", 'recipe'],
    ['close({ timeout }) alone', 'close-timeout'],
  ])(
    '%s, with a task that ignores its signal: the code after the await runs, no handle is left, the process ends by itself',
    async (_name, mode) => {
      const child = new Child(path.join(__dirname, 'fixtures', 'shutdown.ts'), { SHUTDOWN: mode });
      const closed = await child.message('closed');
      const exit = await child.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      const errors = child.lines.filter((line) => line.includes('"event":"error"')).map((line) => JSON.parse(line));
      if (mode === 'recipe') {
        expect(child.lines.map((line) => JSON.parse(line).event)).toEqual(['started', 'drained', 'error', 'closed']);
        // drain() gave up at its deadline (the task's signal aborted); the task ignored it, so its thread was terminated.
        expect(errors).toEqual([{ event: 'error', task: 'spinsForever', name: 'AbortError', code: 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE' }]);
        expect(closed).toMatchObject({ drained: true, pending: 0, stats: { failed: 1, running: 0 }, left: [] });
      } else {
        expect(errors).toEqual([{ event: 'error', task: 'spinsForever', name: 'TimeoutError', code: 'ERR_BACKGROUND_TASKS_TIMEOUT' }]);
        expect(closed).toMatchObject({ drained: false, pending: 1, left: [] });
      }
    },
  );
});

describe('hostile errors from thread tasks', () => {
  it("an Error whose code is a function reaches onError as an Error with the task's name and message (the code left behind)", async () => {
    const { failures, onError } = collectErrors();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => background.addTask(throwsCodeFunction));
    await request(app).get('/').expect(200);
    await bg.drain();
    const error = failures[0]?.error as Error & { code?: unknown };
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.message, error.code]).toEqual(['Error', 'bad code', undefined]);
    expect(error.stack).toMatch(/^Error: bad code\n\s+at /);
    expect(bg.stats()).toMatchObject({ failed: 1 });
  });

  it('a returned value whose then getter throws fails its task with that error, and the list goes on', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => {
      background.addTask(returnsHostileThenable);
      background.addTask(recordThread, slots);
    });
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => [f.info.name, (f.error as Error).name, (f.error as Error).message])).toEqual([
      ['returnsHostileThenable', 'RangeError', 'then getter refused'],
    ]);
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    expect(bg.stats()).toMatchObject({ failed: 1, succeeded: 1 });
  });

  it('an Error whose message getter throws is reported, with the default onError too, and the process goes on', async () => {
    const { failures, onError } = collectErrors();
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool(), onError }, (background) => {
      background.addTask(throwsUnreadableMessage);
      background.addTask(recordThread, slots);
    });
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(failures.map((f) => [f.info.name, (f.error as Error).name, (f.error as Error).message])).toEqual([
      ['throwsUnreadableMessage', 'Error', '(its message could not be read)'],
    ]);
    expect(Atomics.load(slots, SLOT.ran)).toBe(1);
    // The default onError writes its line (console.error): capture it, and check the process is still here.
    const written: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      written.push(args.join(' '));
    });
    try {
      const { app: quiet, bg: quietBg } = threadApp({ threads: pool() }, (background) => background.addTask(throwsUnreadableMessage));
      await request(quiet).get('/').expect(200);
      await quietBg.drain();
      expect(quietBg.stats()).toMatchObject({ failed: 1 });
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/task "throwsUnreadableMessage" \(GET \/\) failed: Error: \(its message could not be read\)/);
  });
});

describe('threadPool({ module }) with a malformed file: URL', () => {
  it.each([
    ['a host', 'file://host/tasks.js', /File URL host must be "localhost" or empty/],
    ['an encoded slash', 'file:///srv/a%2Fb.js', /File URL path must not include encoded \/ characters/],
    ['a malformed escape', 'file:///srv/%E0%A4%A.js', /URI malformed/],
    ['an unparsable URL', 'file://[::1', /is not a valid URL/],
  ])('%s: an InvalidArgumentError naming the option', (_what, module, reason) => {
    let thrown: unknown;
    try {
      threadPool({ module });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(/^threadPool\(\): option "module" is not /);
    expect((thrown as Error).message).toMatch(reason);
  });
});

describe('taskProgress() in a thread task', () => {
  /** Every progress change an observer of `bg` sees, and a promise of the first one matching `value`. */
  function watchProgress(bg: unknown, value: number) {
    const seen: Array<{ state: string; progress: number | undefined; message: string | undefined }> = [];
    let reached!: () => void;
    const reachedValue = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const feed = feedOf(bg);
    if (feed === undefined) throw new Error('no feed');
    const stop = feed.observe({
      changed(entry: TaskEntry) {
        seen.push({ state: entry.state, progress: entry.progress, message: entry.message });
        if (entry.progress === value) reached();
      },
    });
    return { seen, reachedValue, stop };
  }

  it('crosses to the main thread while the task runs, and its last value arrives before the outcome', async () => {
    const slots = shared();
    const { app, bg } = threadApp({ threads: pool() }, (background) => background.addTask(reportsProgress, slots));
    const { seen, reachedValue, stop } = watchProgress(bg, 0.5);
    try {
      await request(app).get('/').expect(200);
      // The thread is blocked right now, past its first report: that report has crossed already.
      await reachedValue;
      expect(seen.at(-1)).toEqual({ state: 'running', progress: 0.5, message: 'half way' });
      Atomics.store(slots, SLOT.gate, 1);
      await bg.drain();
    } finally {
      stop();
    }
    // The last value was on the record when the outcome was: it came with the answer, not after it.
    expect(seen.at(-1)).toEqual({ state: 'succeeded', progress: 1, message: 'done' });
  });

  it('is throttled in the thread: a tight loop sends few messages, and the last value still arrives', async () => {
    const { app, bg } = threadApp({ threads: pool() }, (background) => background.addTask(progressLoop, 100_000));
    const { seen, stop } = watchProgress(bg, 1);
    try {
      await request(app).get('/').expect(200);
      await bg.drain();
    } finally {
      stop();
    }
    const progressed = seen.filter((change) => change.state === 'running' && change.progress !== undefined);
    expect(progressed.length).toBeGreaterThanOrEqual(1);
    expect(progressed.length).toBeLessThan(100);
    expect(seen.at(-1)).toEqual({ state: 'succeeded', progress: 1, message: 'step 100000' });
    expect(bg.stats()).toMatchObject({ succeeded: 1 });
  });
});
