// Named tasks in process: callable as before, retries with backoff, their own timeout, and the checkArgs option.
import { format } from 'node:util';
import createDebug from 'debug';
import request from 'supertest';
import { type TaskInfo, backgroundTasks, defineTask, taskSignal } from '../lib/index.js';
import { loadExpress, settled } from './helpers.js';

const express = loadExpress();

function run(options: Parameters<typeof backgroundTasks>[0], route: (background: import('../lib/index.js').BackgroundTasks) => void) {
  const bg = backgroundTasks(options);
  const app = express();
  app.use(bg);
  app.get('/', (_req, res) => {
    route(res.locals.background);
    res.end();
  });
  return { bg, app };
}

describe('defineTask()', () => {
  it('returns a task that can still be called directly like fn', () => {
    const add = defineTask('add', (a: number, b: number) => a + b);
    expect(add(2, 3)).toBe(5);
    expect(add.taskName).toBe('add');
    expect(add.name).toBe('add');
    expect(add.taskDefinition).toEqual({ name: 'add', retries: 0, backoff: undefined, timeout: undefined });
  });

  it('is reported under its name', async () => {
    const failures: TaskInfo[] = [];
    const task = defineTask('send-welcome-email', () => {
      throw new Error('no');
    });
    const { bg, app } = run({ onError: (_e, info) => failures.push(info) }, (background) => background.addTask(task));
    await request(app).get('/');
    await settled(bg);
    expect(failures.map((f) => f.name)).toEqual(['send-welcome-email']);
  });

  it('retries a failing task, then succeeds without calling onError', async () => {
    let calls = 0;
    const failures: unknown[] = [];
    const flaky = defineTask(
      'flaky',
      async (_email: string) => {
        calls++;
        if (calls < 3) throw new Error(`attempt ${calls} failed`);
      },
      { retries: 2, backoff: { type: 'exponential', delay: 1 } },
    );
    const { bg, app } = run({ onError: (e) => failures.push(e) }, (background) => background.addTask(flaky, 'a@example.com'));
    await request(app).get('/');
    await settled(bg);
    expect(calls).toBe(3);
    expect(failures).toEqual([]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('calls onError once, for the final failure, with the attempt count; each attempt is in debug output', async () => {
    const lines: string[] = [];
    const previousLog = createDebug.log;
    const previous = createDebug.disable();
    createDebug.enable('express-background-tasks');
    createDebug.log = (...args: unknown[]) => lines.push(format(...args));
    let calls = 0;
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    try {
      const broken = defineTask(
        'broken',
        () => {
          calls++;
          throw new Error(`attempt ${calls}`);
        },
        { retries: 2, backoff: { type: 'fixed', delay: 1 } },
      );
      const { bg, app } = run({ onError: (error, info) => failures.push({ error, info }) }, (background) => background.addTask(broken));
      await request(app).get('/');
      await settled(bg);
      expect(bg.stats()).toMatchObject({ failed: 1, succeeded: 0 });
    } finally {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previous) createDebug.enable(previous);
    }
    expect(calls).toBe(3);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'broken', attempts: 3 });
    expect((failures[0]?.error as Error).message).toBe('attempt 3');
    const attempts = lines.filter((line) => /task broken attempt \d failed/.test(line));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatch(/attempt 1 failed .*retrying in 1ms/);
  });

  it("its own timeout overrides the middleware's, and a timed-out attempt is retried", async () => {
    let calls = 0;
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    const hangsOnce = defineTask(
      'hangsOnce',
      async () => {
        calls++;
        if (calls === 1) {
          const signal = taskSignal();
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
        }
      },
      { timeout: 5, retries: 1 },
    );
    const neverEnds = defineTask('neverEnds', () => new Promise(() => undefined), { timeout: 5 });
    const { bg, app } = run({ timeout: 60_000, onError: (error, info) => failures.push({ error, info }) }, (background) => {
      background.addTask(hangsOnce);
      background.addTask(neverEnds);
    });
    await request(app).get('/');
    await settled(bg);
    expect(calls).toBe(2);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'neverEnds', attempts: 1 });
    expect(failures[0]?.error).toMatchObject({ name: 'TimeoutError' });
    expect(bg.stats()).toMatchObject({ succeeded: 1, timedOut: 1 });
  });

  it('a drain deadline during the wait between attempts ends the retries', async () => {
    let calls = 0;
    const failures: unknown[] = [];
    const retriesForever = defineTask(
      'retriesForever',
      () => {
        calls++;
        throw new Error('down');
      },
      { retries: 5, backoff: { type: 'fixed', delay: 60_000 } },
    );
    const { bg, app } = run({ onError: (error) => failures.push(error) }, (background) => background.addTask(retriesForever));
    await request(app).get('/');
    expect(await bg.drain({ timeout: 5 })).toEqual({ drained: false, pending: 1 });
    await settled(bg);
    expect(calls).toBe(1);
    expect(failures).toEqual([expect.objectContaining({ name: 'AbortError' })]);
    expect(bg.stats()).toMatchObject({ failed: 1 });
  });
});

describe('checkArgs', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const refused: Array<[string, unknown[], RegExp]> = [
    ['undefined', ['a', undefined], /args\[1\] is undefined/],
    ['a function', [() => 1], /args\[0\] is a function/],
    ['a BigInt', [10n], /args\[0\] is a BigInt/],
    ['NaN', [{ n: Number.NaN }], /args\[0\]\.n is NaN/],
    ['Infinity', [[1, Number.POSITIVE_INFINITY]], /args\[0\]\[1\] is Infinity/],
    ['a Date', ['x', { when: new Date(0) }], /args\[1\]\.when is a Date instance/],
    ['a Map', [new Map()], /args\[0\] is a Map instance/],
    ['a class instance', [{ 'odd key': new Point(1, 2) }], /args\[0\]\["odd key"\] is a Point instance/],
    ['a cycle', [cycle], /args\[0\]\.self refers back to itself/],
    ['a symbol', [Symbol('s')], /args\[0\] is a symbol/],
  ];

  it.each(refused)('refuses %s at addTask, synchronously, naming the task and the path', async (_what, args, message) => {
    let thrown: unknown;
    function sendEmail(..._args: unknown[]): void {}
    const { bg, app } = run({ checkArgs: true }, (background) => {
      try {
        background.addTask(sendEmail, ...args);
      } catch (error) {
        thrown = error;
      }
    });
    await request(app).get('/');
    await settled(bg);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/addTask\(\): task "sendEmail": /);
    expect((thrown as Error).message).toMatch(message);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0 });
  });

  it('accepts JSON-safe arguments, shared (non-cyclic) references included', async () => {
    const shared = { id: 1 };
    const received: unknown[] = [];
    const { bg, app } = run({ checkArgs: true }, (background) =>
      background.addTask((...args: unknown[]) => received.push(...args), 'a', 1.5, true, null, [1, { b: 'c' }], Object.create(null), {
        one: shared,
        two: shared,
      }),
    );
    await request(app).get('/');
    await settled(bg);
    expect(received).toHaveLength(7);
    expect(bg.stats().succeeded).toBe(1);
  });

  it('is off by default: in process, any argument is passed as given', async () => {
    const when = new Date(0);
    const received: unknown[] = [];
    const { bg, app } = run({}, (background) => background.addTask((value: Date) => received.push(value), when));
    await request(app).get('/');
    await settled(bg);
    expect(received[0]).toBe(when);
  });
});
