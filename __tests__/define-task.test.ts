// defineTask(): a named task, still callable like fn, reported under its name, retried with backoff, with its own
// timeout; and its arguments' validation.
import request from 'supertest';
import { defineTask, type TaskInfo, taskSignal } from '../lib/index.js';
import { appWith, captureDebug, settled } from './helpers.js';

describe('defineTask()', () => {
  it('returns a task that can still be called directly like fn', () => {
    const add = defineTask('add', (a: number, b: number) => a + b);
    expect(add(2, 3)).toBe(5);
    expect(add.taskName).toBe('add');
    expect(add.name).toBe('add');
    expect(add.taskDefinition).toEqual({ name: 'add', retries: 0, backoff: undefined, timeout: undefined, thread: false, result: false });
  });

  it('is reported under its name', async () => {
    const failures: TaskInfo[] = [];
    const task = defineTask('send-welcome-email', () => {
      throw new Error('no');
    });
    const { bg, app } = appWith({ onError: (_e, info) => failures.push(info) }, (_req, res) => {
      res.locals.background.addTask(task);
      res.end();
    });
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
    const { bg, app } = appWith({ onError: (e) => failures.push(e) }, (_req, res) => {
      res.locals.background.addTask(flaky, 'a@example.com');
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(calls).toBe(3);
    expect(failures).toEqual([]);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('calls onError once, for the final failure, with the attempt count; each attempt is in debug output', async () => {
    const { lines, restore } = captureDebug();
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
      const { bg, app } = appWith({ onError: (error, info) => failures.push({ error, info }) }, (_req, res) => {
        res.locals.background.addTask(broken);
        res.end();
      });
      await request(app).get('/');
      await settled(bg);
      expect(bg.stats()).toMatchObject({ failed: 1, succeeded: 0 });
    } finally {
      restore();
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
    const { bg, app } = appWith({ timeout: 60_000, onError: (error, info) => failures.push({ error, info }) }, (_req, res) => {
      res.locals.background.addTask(hangsOnce);
      res.locals.background.addTask(neverEnds);
      res.end();
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
    const { bg, app } = appWith({ onError: (error) => failures.push(error) }, (_req, res) => {
      res.locals.background.addTask(retriesForever);
      res.end();
    });
    await request(app).get('/');
    expect(await bg.drain({ timeout: 5 })).toEqual({ drained: false, pending: 1 });
    await settled(bg);
    expect(calls).toBe(1);
    expect(failures).toEqual([expect.objectContaining({ name: 'AbortError' })]);
    expect(bg.stats()).toMatchObject({ failed: 1 });
  });
});

describe('defineTask(name, fn, options) validation', () => {
  const fn = (email: string) => email;

  it.each([
    ['', /argument "name" must be a non-empty string; received the string ""/],
    ['  ', /argument "name" must be a non-empty string/],
    [42, /argument "name" must be a non-empty string; received number 42/],
  ])('name %p', (name, message) => {
    expect(() => defineTask(name as never, fn)).toThrow(TypeError);
    expect(() => defineTask(name as never, fn)).toThrow(message);
  });

  it('fn must be a function', () => {
    expect(() => defineTask('sendEmail', 'sendEmail' as never)).toThrow(/defineTask\(\): argument "fn" must be a function/);
  });

  it.each<[object, RegExp]>([
    [{ retries: -1 }, /option "retries" must be an integer >= 0; received number -1/],
    [{ retries: 1.5 }, /option "retries"/],
    [{ retries: Number.POSITIVE_INFINITY }, /option "retries"/],
    [{ backoff: 1000 }, /option "backoff" must be an object like \{ type: 'fixed', delay: 1000 \}/],
    [{ backoff: { type: 'linear', delay: 1 } }, /option "backoff.type" must be 'fixed' or 'exponential'/],
    [{ backoff: { type: 'fixed', delay: -1 } }, /option "backoff.delay" must be an integer >= 0/],
    [{ backoff: { type: 'fixed' } }, /option "backoff.delay"/],
    [{ backoff: { type: 'fixed', delay: 1, jitter: 0.5 } }, /option "backoff": unknown option "jitter"/],
    [{ timeout: 0 }, /option "timeout"/],
    [{ retry: 3 }, /defineTask\(\): unknown option "retry"/],
  ])('options %p', (options, message) => {
    expect(() => defineTask('sendEmail', fn, options as never)).toThrow(TypeError);
    expect(() => defineTask('sendEmail', fn, options as never)).toThrow(message);
  });
});
