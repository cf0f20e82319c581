// Bad input, refused at once with a TypeError naming the culprit: addTask with a queue runner, and the options of the bullmq entry.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { format } from 'node:util';
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { type BackgroundTasks, defineTask, type QueueRunner } from '../../lib/index.js';
import { appWith } from '../helpers.js';
import { Closer, deadRedisUrl, uniqueQueueName } from './support.js';

describe('addTask with a queue runner (no Redis needed: nothing reaches the queue)', () => {
  const closer = new Closer();
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    // The runner says once that it cannot reach the Redis that is not there: expected, kept, not printed.
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(format(...args));
    });
  });
  afterEach(async () => {
    await closer.closeAll();
    jest.restoreAllMocks();
    for (const line of lines) expect(line).toMatch(/: cannot reach Redis at start-up \(/);
  });

  /** Runs `add` in a handler whose middleware has a runner: the real one (on a Redis that is not there), or a recording one. */
  async function attempt(add: (background: BackgroundTasks) => void, runner?: QueueRunner) {
    const failures: unknown[] = [];
    const { app, bg } = appWith({
      runner: runner ?? closer.add(bullmqRunner({ connection: await deadRedisUrl(), queueName: uniqueQueueName('inputs') })),
      onError: (error) => failures.push(error),
    });
    app.get('/', (_req, res) => {
      try {
        add(res.locals.background);
        res.json({ thrown: null });
      } catch (error) {
        res.json({ thrown: { name: (error as Error).name, message: (error as Error).message } });
      }
    });
    const { body } = await request(app).get('/').expect(200);
    await bg.drain();
    return { thrown: body.thrown as { name: string; message: string } | null, stats: bg.stats(), failures };
  }

  test('a plain closure is refused, naming the task', async () => {
    const { thrown, stats, failures } = await attempt((background) =>
      background.addTask(function notifySlack(_channel: string) {}, '#general'),
    );
    expect(thrown).toEqual({
      name: 'TypeError',
      message: expect.stringContaining('task "notifySlack" must be made with defineTask(name, fn)'),
    });
    // Not accepted: nothing counted, nothing tried (an enqueue would have failed here, and been reported).
    expect(stats).toMatchObject({ queued: 0, running: 0, succeeded: 0, failed: 0 });
    expect(failures).toEqual([]);
  });

  class Point {
    x = 1;
  }
  test.each([
    ['a class instance', [{ email: 'a@example.com' }, { at: new Point() }], 'args[1].<key 0> is a Point instance'],
    ['a function', [{ callback: () => undefined }], 'args[0].<key 0> is a function'],
    ['a symbol', ['a@example.com', Symbol('s')], 'args[1] is a symbol'],
    ['a Proxy', [new Proxy({}, {})], 'args[0] is a Proxy (a copy would lose its behaviour, and reading it runs its traps)'],
    [
      'a SharedArrayBuffer',
      [{ shared: new SharedArrayBuffer(8) }],
      'args[0].<key 0> is a SharedArrayBuffer (memory cannot be shared through a queue)',
    ],
  ])('arguments with %s are refused, naming the task and the path by position', async (_kind, args, expected) => {
    const remind = defineTask('remind', (..._args: unknown[]) => undefined);
    const { thrown, stats, failures } = await attempt((background) => background.addTask(remind, ...args));
    expect(thrown).toEqual({
      name: 'TypeError',
      message: expect.stringContaining(`task "remind": ${expected}, which is not able to go through a queue intact`),
    });
    expect(stats).toMatchObject({ queued: 0, succeeded: 0, failed: 0 });
    expect(failures).toEqual([]);
  });

  test('what the queue encoding carries passes: a cycle, a Date, a Map, a BigInt, a Buffer, undefined', async () => {
    const remind = defineTask('remind', (..._args: unknown[]) => undefined);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const enqueued: unknown[] = [];
    const recorder: QueueRunner = { enqueue: async (tasks) => void enqueued.push(tasks) };
    const args = [cyclic, new Date(0), new Map([[1, 2]]), 10n, Buffer.from('x'), undefined];
    const { thrown, stats } = await attempt((background) => background.addTask(remind, ...args), recorder);
    expect(thrown).toBeNull();
    expect(enqueued).toEqual([[{ definition: remind.taskDefinition, args, id: expect.any(String) }]]);
    expect(stats).toMatchObject({ succeeded: 1 });
  });

  test('JSON-safe arguments pass and reach the runner as given, with what the runner needs to know', async () => {
    const remind = defineTask(
      'remind',
      (_who: string, _when: { at: string; tries: number[]; nested: { ok: boolean; none: null } }) => undefined,
    );
    const enqueued: unknown[] = [];
    const recorder: QueueRunner = { enqueue: async (tasks, options) => void enqueued.push(tasks, options) };
    const { thrown, stats } = await attempt(
      (background) =>
        background.addTask(remind, 'ada@example.com', { at: '2030-01-01T00:00:00Z', tries: [1, 2.5], nested: { ok: true, none: null } }),
      recorder,
    );
    expect(thrown).toBeNull();
    expect(enqueued[0]).toEqual([
      {
        definition: remind.taskDefinition,
        args: ['ada@example.com', { at: '2030-01-01T00:00:00Z', tries: [1, 2.5], nested: { ok: true, none: null } }],
        // The task's id, made by the middleware: the job id, and what taskId() returns in the worker.
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      },
    ]);
    const { signal, ...options } = enqueued[1] as { signal: AbortSignal };
    expect(options).toEqual({ stopOnError: false, timeout: Number.POSITIVE_INFINITY, origin: { method: 'GET', url: '/' } });
    expect(signal.aborted).toBe(false); // aborted only when drain() gives up
    expect(stats).toMatchObject({ succeeded: 1 });
  });
});

describe('bullmqRunner() and runWorker() options', () => {
  const task = defineTask('task', () => undefined);
  const url = 'redis://127.0.0.1:1';

  test.each([
    [undefined, /bullmqRunner\(\): options are required/],
    [{ queueName: 'q' }, /option "connection" must be a redis:\/\/ URL/],
    [{ connection: 'http://localhost', queueName: 'q' }, /option "connection" must be a redis:\/\/ URL/],
    [{ connection: new (class Client {})(), queueName: 'q' }, /option "connection" must be .*not a client instance/],
    [{ connection: url }, /option "queueName" must be a non-empty string without ':'/],
    [{ connection: url, queueName: 'a:b' }, /option "queueName" must be a non-empty string without ':'/],
    [{ connection: url, queueName: 'q', prefix: '' }, /option "prefix" must be a non-empty string/],
    [{ connection: url, queueName: 'q', enqueueTimeout: 0 }, /option "enqueueTimeout" must be a number of milliseconds above 0/],
    [{ connection: url, queueName: 'q', enqueueTimeout: Number.POSITIVE_INFINITY }, /option "enqueueTimeout" must be a finite number/],
    [{ connection: url, queueName: 'q', removeOnComplete: 'yes' }, /option "removeOnComplete" must be true, false, a count/],
    [{ connection: url, queueName: 'q', removeOnFail: { age: -1 } }, /option "removeOnFail.age" must be an integer >= 0/],
    [{ connection: url, queueName: 'q', removeOnFail: {} }, /option "removeOnFail" must be true, false, a count/],
    [{ connection: url, queueName: 'q', retries: 3 }, /unknown option "retries"/],
  ])('bullmqRunner(%p) throws a TypeError naming the option', (options, message) => {
    expect(() => bullmqRunner(options as never)).toThrow(TypeError);
    expect(() => bullmqRunner(options as never)).toThrow(message);
  });

  test.each([
    [undefined, /runWorker\(\): options are required/],
    [{ connection: url, queueName: 'q' }, /option "tasks" must be a non-empty array of tasks made with defineTask\(\)/],
    [{ connection: url, queueName: 'q', tasks: [() => undefined] }, /option "tasks\[0\]" must be a task made with defineTask/],
    [{ connection: url, queueName: 'q', tasks: [task, defineTask('task', () => 1)] }, /option "tasks" names "task" twice/],
    [{ connection: url, queueName: 'q', tasks: [task], concurrency: 0 }, /option "concurrency" must be an integer >= 1/],
    [{ connection: url, queueName: 'q', tasks: [task], onError: 'log' }, /option "onError" must be a function/],
    [{ connection: 42, queueName: 'q', tasks: [task] }, /option "connection" must be a redis:\/\/ URL/],
    [{ connection: url, queueName: '', tasks: [task] }, /option "queueName" must be a non-empty string/],
  ])('runWorker(%p) throws a TypeError naming the option', (options, message) => {
    expect(() => runWorker(options as never)).toThrow(TypeError);
    expect(() => runWorker(options as never)).toThrow(message);
  });
});

describe('the main entry', () => {
  test('never loads bullmq or ioredis (they are optional peers)', () => {
    const root = path.join(__dirname, '..', '..');
    const script =
      "require('./lib/index.ts'); const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(f));" +
      'process.stdout.write(JSON.stringify(loaded.length));';
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toBe(0);
    // And the check can see them when they are loaded.
    const withEntry = execFileSync(process.execPath, ['--import', 'tsx', '-e', script.replace('./lib/index.ts', './lib/bullmq/index.ts')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(JSON.parse(withEntry)).toBeGreaterThan(0);
  });
});
