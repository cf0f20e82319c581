// recordTasks() over real HTTP: tasks are recorded, not run; assertions; runAll() through the real pipeline; skipped lists; queue and thread tasks without Redis or threads; scoping.
import { AssertionError } from 'node:assert';
import path from 'node:path';
import { threadId as mainThreadId } from 'node:worker_threads';
import request from 'supertest';
import {
  defineTask,
  InvalidArgumentError,
  type QueueRunner,
  TaskTimeoutError,
  TestScopeError,
  taskId,
  taskProgress,
  taskSignal,
} from '../../lib/index.js';
import { recordTasks, type TaskRecorder, watchTasks } from '../../lib/testing/index.js';
import { threadPool } from '../../lib/threads/index.js';
import { appWith, collectErrors, deferred, settled } from '../helpers.js';

let recorder: TaskRecorder | undefined;
afterEach(() => recorder?.restore());

function record(): TaskRecorder {
  recorder = recordTasks();
  return recorder;
}

const sent: string[] = [];
const sendWelcome = defineTask('sendWelcome', async (email: string, options: { lang: string }) => {
  sent.push(`${email}/${options.lang}`);
});
beforeEach(() => {
  sent.length = 0;
});

/** A queue runner that must never be reached: record mode hands nothing to the queue. */
const unreachableQueue: QueueRunner = {
  enqueue: () => Promise.reject(new Error('record mode must not hand anything to the queue')),
};

describe('recordTasks()', () => {
  test('a task added by a request is recorded with its arguments and not run; runAll() runs it', async () => {
    const { app, bg } = appWith(undefined, (req, res) => {
      res.locals.background.addTask(sendWelcome, String(req.query.email), { lang: 'en' });
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/?email=ada@example.com').expect(200);
    expect(sent).toEqual([]);
    expect(tasks.added()).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'sendWelcome',
        fn: sendWelcome,
        args: ['ada@example.com', { lang: 'en' }],
        method: 'POST',
        url: '/?email=ada@example.com',
        where: 'process',
        state: 'recorded',
        attempts: 0,
      },
    ]);
    expect(bg.stats()).toMatchObject({ queued: 1, running: 0, succeeded: 0 });
    tasks.assertAdded(sendWelcome, 'ada@example.com', { lang: 'en' });
    tasks.assertAdded(sendWelcome);
    tasks.assertAdded('sendWelcome', 'ada@example.com', { lang: 'en' });
    tasks.assertAdded(sendWelcome.taskDefinition);

    const ran = await tasks.runAll();
    expect(ran.map((task) => [task.name, task.state, task.attempts])).toEqual([['sendWelcome', 'succeeded', 1]]);
    expect(sent).toEqual(['ada@example.com/en']);
    expect(tasks.added()[0]?.state).toBe('succeeded');
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 1 });
    // Already run: a second runAll() runs nothing.
    expect(await tasks.runAll()).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  test('assertAdded() and assertNotAdded() throw AssertionErrors that list what was added instead', async () => {
    const other = defineTask('other', () => {});
    const { app } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(sendWelcome, 'grace@example.com', { lang: 'fr' });
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/?from=signup').expect(200);

    const wrongArgs = catchError(() => tasks.assertAdded(sendWelcome, 'ada@example.com', { lang: 'fr' }));
    expect(wrongArgs).toBeInstanceOf(AssertionError);
    expect(wrongArgs.message).toContain(`expected a task sendWelcome('ada@example.com', { lang: 'fr' }) to be added; added instead:`);
    expect(wrongArgs.message).toContain(`1. sendWelcome('grace@example.com', { lang: 'fr' }) from POST /?from=signup (recorded)`);
    expect(wrongArgs).toMatchObject({ actual: [['grace@example.com', { lang: 'fr' }]], expected: [['ada@example.com', { lang: 'fr' }]] });

    const missing = catchError(() => tasks.assertAdded(other));
    expect(missing).toBeInstanceOf(AssertionError);
    expect(missing.message).toContain('expected a task "other" to be added; added instead:\n  1. sendWelcome(');

    tasks.assertNotAdded(other);
    const present = catchError(() => tasks.assertNotAdded(sendWelcome));
    expect(present).toBeInstanceOf(AssertionError);
    expect(present.message).toContain('expected no task "sendWelcome" to be added; added:\n  1. sendWelcome(\'grace@example.com\'');

    tasks.clear();
    expect(tasks.added()).toEqual([]);
    expect(catchError(() => tasks.assertAdded(sendWelcome)).message).toContain('added instead:\n  (nothing)');
    expect(() => tasks.assertAdded(42 as never)).toThrow(InvalidArgumentError);
    expect(() => tasks.added(null as never)).toThrow(/added\(task\?\): argument "task" must be a task function/);
  });

  test('added(task) filters by function, definition or name, in the order added', async () => {
    function audit(_what: string) {}
    const { app } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(audit, 'first');
      res.locals.background.addTask(sendWelcome, 'ada@example.com', { lang: 'en' });
      res.locals.background.addTask(audit, 'second');
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').expect(200);
    expect(tasks.added().map((task) => task.name)).toEqual(['audit', 'sendWelcome', 'audit']);
    expect(tasks.added(audit).map((task) => task.args)).toEqual([['first'], ['second']]);
    expect(tasks.added('sendWelcome')).toHaveLength(1);
    expect(tasks.added(sendWelcome.taskDefinition)).toHaveLength(1);
    // Another function of the same name is another task.
    expect(tasks.added(function audit() {})).toEqual([]);
  });

  test('the tasks of a 5xx response are recorded as skipped, exactly as the middleware decides, and never run', async () => {
    const { app, bg } = appWith(undefined, (req, res) => {
      res.locals.background.addTask(sendWelcome, 'ada@example.com', { lang: 'en' });
      res.status(Number(req.query.status)).send('done');
    });
    const tasks = record();
    await request(app).post('/?status=503').expect(503);
    await request(app).post('/?status=404').expect(404);
    expect(tasks.added().map((task) => [task.url, task.state])).toEqual([
      ['/?status=503', 'skipped'],
      ['/?status=404', 'recorded'],
    ]);
    expect(bg.stats()).toMatchObject({ skipped: 1, queued: 1 });
    const ran = await tasks.runAll();
    expect(ran.map((task) => task.url)).toEqual(['/?status=404']);
    expect(sent).toEqual(['ada@example.com/en']);
    expect(tasks.added().map((task) => task.state)).toEqual(['skipped', 'succeeded']);
  });

  test('a skip() predicate decides what is skipped in record mode too', async () => {
    const { app } = appWith({ skip: (req) => req.get('x-dry-run') === '1' }, (_req, res) => {
      res.locals.background.addTask(sendWelcome, 'ada@example.com', { lang: 'en' });
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').set('x-dry-run', '1').expect(200);
    await request(app).post('/').expect(200);
    expect(tasks.added().map((task) => task.state)).toEqual(['skipped', 'recorded']);
  });

  test('runAll() goes through the real pipeline: retries, taskSignal(), taskId(), taskProgress(), onError, stopOnError', async () => {
    const seen: string[] = [];
    let calls = 0;
    const flaky = defineTask(
      'flaky',
      () => {
        calls++;
        seen.push(`flaky attempt ${calls}, signal ${taskSignal().aborted ? 'aborted' : 'live'}, id ${String(taskId())}`);
        taskProgress(0.5, 'half');
        if (calls < 3) throw new Error(`flaky ${calls}`);
      },
      { retries: 2 },
    );
    const broken = defineTask('broken', () => {
      throw new Error('always');
    });
    const after = defineTask('after', () => {
      seen.push('after ran');
    });
    const { onError, failures } = collectErrors();
    const handles: string[] = [];
    const { app, bg } = appWith({ onError, stopOnError: true }, (_req, res) => {
      handles.push(res.locals.background.addTask(flaky).id);
      res.locals.background.addTask(broken);
      res.locals.background.addTask(after);
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').expect(200);
    const ran = await tasks.runAll();
    expect(ran.map((task) => [task.name, task.state, task.attempts])).toEqual([
      ['flaky', 'succeeded', 3],
      ['broken', 'failed', 1],
      ['after', 'skipped', 0],
    ]);
    // taskId() is the handle's id (what addTask returned), the same on every attempt.
    const id = tasks.added(flaky)[0]?.id;
    expect(seen).toEqual([1, 2, 3].map((n) => `flaky attempt ${n}, signal live, id ${id}`));
    expect(handles).toEqual([id]);
    expect((ran[1]?.error as Error).message).toBe('always');
    expect(failures.map((failure) => [failure.info.name, (failure.error as Error).message])).toEqual([['broken', 'always']]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 1, skipped: 1, queued: 0, running: 0 });
  });

  test('runAll({ timeout: 20 }) ends a task defined with timeout: 2000 (ms); backoff: false skips the retry waits', async () => {
    const slow = defineTask(
      'slow',
      () =>
        new Promise<void>((_resolve, reject) => {
          const signal = taskSignal();
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { timeout: 2000 },
    );
    let attempts = 0;
    const patient = defineTask(
      'patient',
      () => {
        attempts++;
        if (attempts < 3) throw new Error('not yet');
      },
      { retries: 2, backoff: { type: 'fixed', delay: 600_000 } },
    );
    const { onError, failures } = collectErrors();
    const { app } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(slow);
      res.locals.background.addTask(patient);
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').expect(200);
    const ran = await tasks.runAll({ timeout: 20, backoff: false });
    expect(ran.map((task) => [task.name, task.state, task.attempts])).toEqual([
      ['slow', 'timedOut', 1],
      ['patient', 'succeeded', 3],
    ]);
    expect(ran[0]?.error).toBeInstanceOf(TaskTimeoutError);
    expect((ran[0]?.error as TaskTimeoutError).timeout).toBe(20);
    expect(failures.map((failure) => failure.info.name)).toEqual(['slow']);
    await expect(tasks.runAll({ timeout: -1 })).rejects.toThrow('runAll(): option "timeout" must be a number of milliseconds');
    await expect(tasks.runAll({ backoff: 'no' } as never)).rejects.toThrow('runAll(): option "backoff" must be true or false');
  });

  test('a queue-runner middleware: nothing reaches the queue (no Redis), arguments go through the queue encoding, taskId() is set', async () => {
    const ids: Array<string | undefined> = [];
    const received: unknown[] = [];
    const charge = defineTask('charge', (order: Record<string, unknown>) => {
      ids.push(taskId());
      received.push(order);
    });
    const { app, bg } = appWith({ runner: unreachableQueue }, (req, res) => {
      const order: Record<string, unknown> = { id: String(req.query.id) };
      res.locals.background.addTask(charge, order);
      // Changed after addTask's check: the queue stores the list when the response has finished.
      order.placedAt = new Date(0);
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/?id=o-1').expect(200);
    const [added] = tasks.added();
    expect(added).toMatchObject({ name: 'charge', where: 'queue', state: 'recorded' });
    expect(added?.args).toEqual([{ id: 'o-1', placedAt: new Date(0) }]);
    await tasks.runAll();
    // What a worker would get from Redis: a copy, the Date still a Date (the queue's encoding keeps it).
    expect(received).toEqual([{ id: 'o-1', placedAt: new Date(0) }]);
    expect(received[0]).not.toBe(added?.args[0]);
    expect(ids).toEqual([added?.id]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, queued: 0 });
  });

  test('a queue-runner middleware still refuses, at addTask, an argument a queue cannot carry (the request fails)', async () => {
    const remind = defineTask('remind', (_when: unknown) => {});
    const { app } = appWith({ runner: unreachableQueue }, (_req, res) => {
      res.locals.background.addTask(remind, { onDone: () => {} });
      res.send('ok');
    });
    const tasks = record();
    const reply = await request(app).post('/');
    expect(reply.status).toBe(500);
    expect(tasks.added()).toEqual([]);
  });

  test('what the queue encoding cannot write fails the queue task in runAll(), reported to onError, as the hand-off would fail', async () => {
    const ship = defineTask('ship', (_parcel: unknown) => {});
    const { onError, failures } = collectErrors();
    const { app } = appWith({ runner: unreachableQueue, onError }, (_req, res) => {
      const parcel: Record<string, unknown> = { to: 'ada' };
      res.locals.background.addTask(ship, parcel);
      parcel.onArrive = () => 'secret source'; // after addTask's check: the encoding refuses it at the hand-off
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').expect(200);
    const [ran] = await tasks.runAll();
    expect(ran).toMatchObject({ name: 'ship', state: 'failed', where: 'queue', attempts: 1 });
    expect((ran?.error as Error).message).toMatch(/^args\[0\] cannot go through a queue/);
    expect((ran?.error as Error).message).not.toContain('secret source');
    expect(failures.map((failure) => [failure.info.name, failure.info.where])).toEqual([['ship', 'queue']]);
  });

  test('a thread task whose module is TypeScript is recorded, then runs on the main thread with a structured clone of its arguments', async () => {
    const threads = threadPool({ module: path.join(__dirname, 'fixtures', 'thread-tasks.ts'), maxThreads: 1 });
    try {
      const { resize, resized } = await import('./fixtures/thread-tasks.js');
      const { app } = appWith({ threads }, (_req, res) => {
        res.locals.background.addTask(resize, { user: 'ada', size: 64, when: new Date(0), bytes: Buffer.from('png') });
        res.send('ok');
      });
      const tasks = record();
      await request(app).post('/').expect(200);
      tasks.assertAdded(resize, { user: 'ada', size: 64, when: new Date(0), bytes: Buffer.from('png') });
      expect(tasks.added()[0]?.where).toBe('thread');
      const [ran] = await tasks.runAll();
      expect(ran?.state).toBe('succeeded');
      expect(resized).toHaveLength(1);
      const [call] = resized;
      expect(call?.threadId).toBe(mainThreadId);
      expect(call?.input).toEqual({ user: 'ada', size: 64, when: new Date(0), bytes: Buffer.from('png') });
      // A clone, as a thread would get: not the object the route passed.
      expect(call?.input).not.toBe(tasks.added()[0]?.args[0]);
    } finally {
      await threads.close();
    }
  });

  test('a thread task whose argument stopped being cloneable after addTask fails in runAll(), as the thread hand-off would', async () => {
    const threads = threadPool({ module: path.join(__dirname, 'fixtures', 'thread-tasks.ts'), maxThreads: 1 });
    try {
      const { resize } = await import('./fixtures/thread-tasks.js');
      const { onError, failures } = collectErrors();
      const { app } = appWith({ threads, onError }, (_req, res) => {
        const input = { user: 'ada', size: 64, when: new Date(0), bytes: Buffer.from('png') };
        res.locals.background.addTask(resize, input);
        Object.assign(input, { onDone: () => {} }); // a function cannot cross to a thread
        res.send('ok');
      });
      const tasks = record();
      await request(app).post('/').expect(200);
      const [ran] = await tasks.runAll();
      expect(ran).toMatchObject({ name: 'resize', where: 'thread', state: 'failed' });
      expect((ran?.error as Error).name).toBe('DataCloneError');
      expect(failures.map((failure) => [failure.info.name, failure.info.where])).toEqual([['resize', 'thread']]);
    } finally {
      await threads.close();
    }
  });

  test('a task added once its list is done (a list of its own) is recorded too', async () => {
    const late = deferred();
    const { app } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(sendWelcome, 'first@example.com', { lang: 'en' });
      // 'close' comes after on-finished's listener, which handed the first list over.
      res.on('close', () => {
        res.locals.background.addTask(sendWelcome, 'late@example.com', { lang: 'en' });
        late.resolve();
      });
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/').expect(200);
    await late.promise; // the new list starts on a microtask queued before this one resumes
    expect(tasks.added().map((task) => [task.args[0], task.state])).toEqual([
      ['first@example.com', 'recorded'],
      ['late@example.com', 'recorded'],
    ]);
    expect(sent).toEqual([]);
  });

  test('runAll() runs each list in its request context, its first task included, as the drain would', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const requestId = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const note = defineTask('note', () => {
      seen.push(requestId.getStore());
    });
    const { app } = appWith(undefined, (req, res) => {
      requestId.run(String(req.query.id), () => {
        res.locals.background.addTask(note);
        res.locals.background.addTask(note);
        res.send('ok');
      });
    });
    const tasks = record();
    await request(app).post('/?id=r1').expect(200);
    await request(app).post('/?id=r2').expect(200);
    await tasks.runAll();
    expect(seen).toEqual(['r1', 'r1', 'r2', 'r2']);
  });

  test('restore() ends the recording: later tasks run; tasks never run are dropped and counted as skipped', async () => {
    const { app, bg } = appWith(undefined, (req, res) => {
      res.locals.background.addTask(sendWelcome, String(req.query.email), { lang: 'en' });
      res.send('ok');
    });
    const tasks = record();
    await request(app).post('/?email=a@example.com').expect(200);
    tasks.restore();
    tasks.restore(); // idempotent
    expect(tasks.added().map((task) => task.state)).toEqual(['skipped']);
    expect(bg.stats()).toMatchObject({ queued: 0, skipped: 1 });
    await request(app).post('/?email=b@example.com').expect(200);
    await settled(bg);
    expect(sent).toEqual(['b@example.com/en']);
    expect(tasks.added()).toHaveLength(1);
  });

  test('two recorders in sequence do not leak into each other; a middleware made before the recording is recorded too', async () => {
    const { app } = appWith(undefined, (req, res) => {
      res.locals.background.addTask(sendWelcome, String(req.query.email), { lang: 'en' });
      res.send('ok');
    });
    const first = recordTasks();
    await request(app).post('/?email=first@example.com').expect(200);
    first.restore();
    const second = record();
    expect(second.added()).toEqual([]);
    await request(app).post('/?email=second@example.com').expect(200);
    expect(second.added().map((task) => task.args[0])).toEqual(['second@example.com']);
    expect(first.added().map((task) => task.args[0])).toEqual(['first@example.com']);
    expect(await first.runAll()).toEqual([]);
    expect(sent).toEqual([]);
  });

  test('Symbol.dispose restores (what `using tasks = recordTasks()` calls)', async () => {
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(sendWelcome, 'x@example.com', { lang: 'en' });
      res.send('ok');
    });
    {
      const tasks = recordTasks();
      try {
        await request(app).post('/').expect(200);
        expect(tasks.added()).toHaveLength(1);
      } finally {
        tasks[Symbol.dispose]();
      }
    }
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(sent).toEqual(['x@example.com/en']);
  });

  test('nesting throws a clear error naming the active scope; one recorder at a time', () => {
    const tasks = record();
    const nested = catchError(() => watchTasks());
    expect(nested).toBeInstanceOf(TestScopeError);
    expect(nested).toMatchObject({ code: 'ERR_BACKGROUND_TASKS_TEST_SCOPE' });
    expect(nested.message).toMatch(
      /^watchTasks\(\) cannot start: recordTasks\(\) is still active \(started at .*record\.test\.ts:\d+:\d+\)\)?\. Call its restore\(\) first/,
    );
    expect(() => recordTasks()).toThrow(TestScopeError);
    tasks.restore();
    const watcher = watchTasks();
    expect(() => recordTasks()).toThrow('recordTasks() cannot start: watchTasks() is still active');
    watcher.restore();
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
