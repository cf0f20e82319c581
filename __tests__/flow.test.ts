// Flow control in-process: dedupe (drop, debounce), rateLimit per key with order kept, concurrency per key, retryAfter, bad keys, drain.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import request from 'supertest';
import { defineTask, parseRetryAfter, RetryAfterError, retryAfter, type TaskHandle } from '../lib/index.js';
import { appWith, byStatus, captureDebug, close, collectErrors, type Deferred, deferred, listen, sendAll, settled } from './helpers.js';

/** A real server for bursts of concurrent requests; closed by the test. */
async function serve(app: import('express').Express): Promise<{ port: number; stop(): Promise<void> }> {
  const server = createServer(app);
  const port = await listen(server);
  return { port, stop: () => close(server) };
}

/**
 * The scheduler records a start just before it calls the task, which records its own: on a loaded machine the process
 * can be put aside between the two. The window is checked on the tasks' records with this much slack.
 */
const START_SLACK_MS = 15;

/** Checks the sliding-window property on recorded starts: no `limit + 1` starts within `per` ms (less the slack). */
function slidingWindowHolds(starts: readonly number[], limit: number, per: number): boolean {
  for (let i = 0; i + limit < starts.length; i++) {
    if ((starts[i + limit] as number) - (starts[i] as number) < per - START_SLACK_MS) return false;
  }
  return true;
}

describe('dedupe: drop', () => {
  it('a burst of 50 adds with one key runs once; another key runs separately; the later adds are counted', async () => {
    const runs: string[] = [];
    const reindex = defineTask(
      'reindex-drop',
      async (userId: string) => {
        runs.push(userId);
      },
      { dedupe: { key: (userId) => userId, ttl: 60_000 } },
    );
    const { app, bg } = appWith({}, (req, res) => {
      res.locals.background.addTask(reindex, String(req.query.user));
      res.end();
    });
    const server = await serve(app);
    try {
      const replies = await sendAll(server.port, [...Array.from({ length: 50 }, () => '/?user=u1'), '/?user=u2']);
      expect(byStatus(replies)).toEqual({ 200: 51 });
      await settled(bg);
      expect(runs.sort()).toEqual(['u1', 'u2']);
      expect(bg.stats()).toMatchObject({ succeeded: 2, deduplicated: 49, queued: 0, running: 0 });
      // Within the ttl, even once it ran, an add of u1 is still dropped.
      await request(app).post('/?user=u1');
      await settled(bg);
      expect(runs).toHaveLength(2);
      expect(bg.stats().deduplicated).toBe(50);
    } finally {
      await server.stop();
    }
  });

  it('while the first task is still running, later adds are dropped onto it whatever the ttl', async () => {
    const gate = deferred();
    const started = deferred();
    let runs = 0;
    const slow = defineTask(
      'slow-drop',
      async (_id: string) => {
        runs++;
        started.resolve();
        await gate.promise;
      },
      { dedupe: { key: (id) => id, ttl: 1 } },
    );
    const { app, bg } = appWith({}, (_req, res) => {
      res.locals.background.addTask(slow, 'same');
      res.end();
    });
    await request(app).post('/');
    await started.promise;
    for (let i = 0; i < 5; i++) await request(app).post('/');
    expect(bg.stats()).toMatchObject({ running: 1, deduplicated: 5 });
    gate.resolve();
    await settled(bg);
    expect(runs).toBe(1);
  });

  it("a deduplicated add returns the first task's handle: deduplicated, with its id and its status", async () => {
    const gate = deferred();
    const handles: TaskHandle[] = [];
    const task = defineTask(
      'status-drop',
      async (_id: string) => {
        await gate.promise;
      },
      { dedupe: { key: (id) => id, ttl: 60_000 } },
    );
    const { app, bg } = appWith({ status: true }, (_req, res) => {
      handles.push(res.locals.background.addTask(task, 'k'));
      res.end();
    });
    await request(app).post('/');
    await request(app).post('/');
    const [first, second] = handles as [TaskHandle, TaskHandle];
    expect(first.deduplicated).toBe(false);
    expect(second.deduplicated).toBe(true);
    expect(second.id).toBe(first.id);
    expect((await second.status())?.state).toMatch(/queued|running/);
    gate.resolve();
    expect((await second.settled()).state).toBe('succeeded');
    await settled(bg);
    expect(bg.stats()).toMatchObject({ succeeded: 1, deduplicated: 1 });
  });

  it('after the ttl, a new add of the key runs again', async () => {
    const ran: number[] = [];
    const ttl = 30;
    const ping = defineTask(
      'ping-drop',
      (_id: string) => {
        ran.push(performance.now());
      },
      { dedupe: { key: (id) => id, ttl } },
    );
    const { app, bg } = appWith({}, (_req, res) => {
      res.locals.background.addTask(ping, 'k');
      res.end();
    });
    const first = performance.now();
    await request(app).post('/');
    await settled(bg);
    // Adds keep coming (each a real request) until one is let through: that can only be once the ttl has passed.
    while (ran.length < 2) {
      await request(app).post('/');
      await settled(bg);
    }
    expect((ran[1] as number) - first).toBeGreaterThanOrEqual(ttl - 1);
    expect(bg.stats().succeeded).toBe(2);
  });

  it('publishes each deduplicated add on its own channel, with the name and mode, never the key or arguments', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown): void => {
      published.push(message);
    };
    subscribe('express-background-tasks.deduplicated', listener);
    const debugged = captureDebug();
    try {
      const mail = defineTask('mail-drop', (_email: string) => {}, { dedupe: { key: (email) => email, ttl: 60_000 } });
      const { app, bg } = appWith({}, (_req, res) => {
        res.locals.background.addTask(mail, 'secret-person@example.com');
        res.end();
      });
      await request(app).post('/?token=abc');
      await request(app).post('/?token=abc');
      await settled(bg);
      expect(published).toEqual([{ name: 'mail-drop', mode: 'drop', method: 'POST', path: '/' }]);
      expect(JSON.stringify(published)).not.toContain('secret-person');
      expect(debugged.lines.some((line) => line.includes('mail-drop deduplicated'))).toBe(true);
      expect(debugged.lines.join('\n')).not.toContain('secret-person');
    } finally {
      debugged.restore();
      unsubscribe('express-background-tasks.deduplicated', listener);
    }
  });
});

describe('dedupe: debounce', () => {
  it('a burst becomes one run with the last arguments, apart from the list; another key runs separately; later, a new burst runs again', async () => {
    const runs: Array<[string, number]> = [];
    const done = new Map<string, Deferred>([
      ['a', deferred()],
      ['b', deferred()],
    ]);
    const reindex = defineTask(
      'reindex-debounce',
      (user: string, edit: number) => {
        runs.push([user, edit]);
        done.get(user)?.resolve();
      },
      { dedupe: { key: (user) => user, ttl: 40, mode: 'debounce' } },
    );
    const order: string[] = [];
    const handles: Array<{ id: string; deduplicated: boolean }> = [];
    const { app, bg } = appWith({}, (req, res) => {
      // A burst: `count` adds within one handler, so that all come within the ttl however loaded the machine is.
      for (let i = 0; i < Number(req.query.count ?? 1); i++) {
        handles.push(res.locals.background.addTask(reindex, String(req.query.user), Number(req.query.edit) + i));
      }
      res.locals.background.addTask(() => {
        order.push(`list ${String(req.query.edit)}`);
      });
      res.end();
    });
    await request(app).post('/?user=a&edit=0&count=50');
    // The first add's handle is the pending task's; the 49 later ones are deduplicated onto it.
    expect(handles.filter((h) => !h.deduplicated)).toHaveLength(1);
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    await request(app).post('/?user=b&edit=7');
    await done.get('a')?.promise;
    await done.get('b')?.promise;
    await settled(bg);
    expect(runs.sort()).toEqual([
      ['a', 49],
      ['b', 7],
    ]);
    // The other task of each list ran, without waiting for the debounce.
    expect(order).toHaveLength(2);
    expect(bg.stats()).toMatchObject({ succeeded: 2 + 2, deduplicated: 49, queued: 0 });
    // A new burst after the run is a new run.
    done.set('a', deferred());
    await request(app).post('/?user=a&edit=100');
    await done.get('a')?.promise;
    expect(runs.filter(([user]) => user === 'a')).toEqual([
      ['a', 49],
      ['a', 100],
    ]);
  });

  it('drain() runs a pending debounced task at once rather than wait for quiet, and counts it as queued until then', async () => {
    const runs: string[] = [];
    const task = defineTask(
      'debounce-drain',
      (v: string) => {
        runs.push(v);
      },
      { dedupe: { key: () => 'one', ttl: 600_000, mode: 'debounce' } },
    );
    const { app, bg } = appWith({}, (req, res) => {
      res.locals.background.addTask(task, String(req.query.v));
      res.end();
    });
    await request(app).post('/?v=1');
    await request(app).post('/?v=2');
    expect(bg.stats()).toMatchObject({ queued: 1, deduplicated: 1 });
    expect(await bg.drain()).toEqual({ drained: true, pending: 0 });
    expect(runs).toEqual(['2']);
  });
});

describe('rateLimit', () => {
  it('holds a sliding window per key and keeps each key order; waiting tasks hold no slot of the middleware', async () => {
    const limit = 3;
    const per = 120;
    const starts = new Map<string, number[]>();
    const order = new Map<string, number[]>();
    const send = defineTask(
      'mail-rate',
      (customer: string, n: number) => {
        const now = performance.now();
        starts.set(customer, [...(starts.get(customer) ?? []), now]);
        order.set(customer, [...(order.get(customer) ?? []), n]);
      },
      { rateLimit: { limit, per, key: (customer) => customer } },
    );
    const other: string[] = [];
    const { app, bg } = appWith({ concurrency: 1 }, (req, res) => {
      const customer = String(req.query.c);
      if (customer === 'plain') {
        res.locals.background.addTask(() => {
          other.push('ran');
        });
      } else {
        for (let n = 0; n < 10; n++) res.locals.background.addTask(send, customer, n);
      }
      res.end();
    });
    await request(app).post('/?c=a');
    await request(app).post('/?c=b');
    // A plain task runs while the rate-limited ones wait for their windows: the single slot is not held by them.
    await request(app).post('/?c=plain');
    await new Promise<void>((resolve) => {
      const check = (): void => (other.length === 1 ? resolve() : void setImmediate(check));
      check();
    });
    expect(bg.stats().queued).toBeGreaterThan(0);
    await settled(bg);
    for (const customer of ['a', 'b']) {
      expect(order.get(customer)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(slidingWindowHolds(starts.get(customer) ?? [], limit, per)).toBe(true);
    }
    expect(bg.stats()).toMatchObject({ succeeded: 21, queued: 0 });
  });

  it('without a key, one window for the task kind', async () => {
    const starts: number[] = [];
    const t = defineTask(
      'rate-kind',
      () => {
        starts.push(performance.now());
      },
      { rateLimit: { limit: 2, per: 150 } },
    );
    const { app, bg } = appWith({}, (_req, res) => {
      for (let i = 0; i < 3; i++) res.locals.background.addTask(t);
      res.end();
    });
    await Promise.all([request(app).post('/'), request(app).post('/'), request(app).post('/')]);
    await settled(bg);
    expect(starts).toHaveLength(9);
    expect(slidingWindowHolds(starts, 2, 150)).toBe(true);
  });

  it('the wait is queued time: a task timeout starts with the attempt, and a skipped response skips its waiting tasks', async () => {
    const ran: number[] = [];
    const t = defineTask(
      'rate-timeout',
      async (n: number) => {
        ran.push(n);
      },
      // Each task waits up to 300 ms for its window, far past its 100 ms timeout: only the attempt is timed.
      { rateLimit: { limit: 1, per: 150 }, timeout: 100 },
    );
    const { app, bg } = appWith({}, (req, res) => {
      for (let n = 0; n < 3; n++) res.locals.background.addTask(t, n);
      res.status(Number(req.query.status ?? 200)).end();
    });
    await request(app).post('/');
    await request(app).post('/?status=500');
    await settled(bg);
    expect(ran).toEqual([0, 1, 2]);
    expect(bg.stats()).toMatchObject({ succeeded: 3, timedOut: 0, skipped: 3 });
  });

  it('nothing is dropped under drain(): a deadline leaves the waiting tasks pending, and they all run', async () => {
    const ran: number[] = [];
    const t = defineTask(
      'rate-drain',
      (n: number) => {
        ran.push(n);
      },
      { rateLimit: { limit: 2, per: 40 } },
    );
    const { app, bg } = appWith({}, (_req, res) => {
      for (let n = 0; n < 8; n++) res.locals.background.addTask(t, n);
      res.end();
    });
    await request(app).post('/');
    const cut = await bg.drain({ timeout: 1 });
    expect(cut.drained).toBe(false);
    expect(cut.pending).toBeGreaterThan(0);
    await settled(bg);
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bg.stats()).toMatchObject({ succeeded: 8, failed: 0 });
  });
});

describe('concurrency per key', () => {
  it('never runs more than the limit per key; other keys go on; the middleware concurrency still caps all', async () => {
    const active = new Map<string, number>();
    const most = new Map<string, number>();
    let total = 0;
    let mostTotal = 0;
    const call = defineTask(
      'partner-call',
      async (customer: string) => {
        active.set(customer, (active.get(customer) ?? 0) + 1);
        total++;
        most.set(customer, Math.max(most.get(customer) ?? 0, active.get(customer) as number));
        mostTotal = Math.max(mostTotal, total);
        for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        active.set(customer, (active.get(customer) as number) - 1);
        total--;
      },
      { concurrency: { limit: 2, key: (customer) => customer } },
    );
    const { app, bg } = appWith({ concurrency: 5 }, (req, res) => {
      res.locals.background.addTask(call, String(req.query.c));
      res.end();
    });
    const server = await serve(app);
    try {
      const paths = Array.from({ length: 60 }, (_, i) => `/?c=${['x', 'y', 'z'][i % 3]}`);
      await sendAll(server.port, paths);
      await settled(bg);
      for (const customer of ['x', 'y', 'z']) expect(most.get(customer)).toBeLessThanOrEqual(2);
      expect(Math.max(...most.values())).toBe(2);
      expect(mostTotal).toBeLessThanOrEqual(5);
      expect(mostTotal).toBeGreaterThan(2);
      expect(bg.stats()).toMatchObject({ succeeded: 60, queued: 0, running: 0 });
    } finally {
      await server.stop();
    }
  });

  it('a task waiting for its key slot holds no slot of the middleware; nothing waiting is dropped at a drain() deadline', async () => {
    const gate = deferred();
    const first = deferred();
    const ran: string[] = [];
    const call = defineTask(
      'partner-wait',
      async (customer: string, n: number) => {
        ran.push(`${customer}${n}`);
        if (n === 1 && customer === 'a') {
          first.resolve();
          await gate.promise;
        }
      },
      { concurrency: { limit: 1, key: (customer) => customer } },
    );
    const { app, bg } = appWith({ concurrency: 2 }, (req, res) => {
      res.locals.background.addTask(call, String(req.query.c), Number(req.query.n));
      res.end();
    });
    await request(app).post('/?c=a&n=1');
    await first.promise;
    await request(app).post('/?c=a&n=2');
    await request(app).post('/?c=a&n=3');
    await request(app).post('/?c=b&n=1');
    await new Promise<void>((resolve) => {
      const check = (): void => (ran.includes('b1') ? resolve() : void setImmediate(check));
      check();
    });
    // a1 holds a's slot; a2 and a3 wait for it without holding the middleware's second slot, which b1 used.
    expect(ran).toEqual(['a1', 'b1']);
    const cut = await bg.drain({ timeout: 1 });
    expect(cut).toEqual({ drained: false, pending: 3 });
    gate.resolve();
    await settled(bg);
    expect(ran).toEqual(['a1', 'b1', 'a2', 'a3']);
  });
});

describe('retryAfter', () => {
  it('waits the given time instead of the backoff, counts each as an attempt, and respects retries', async () => {
    const attempts: number[] = [];
    const flaky = defineTask(
      'partner-429',
      () => {
        attempts.push(performance.now());
        if (attempts.length < 3) throw retryAfter(40);
      },
      { retries: 2, backoff: { type: 'fixed', delay: 600_000 } },
    );
    const { app, bg } = appWith({}, (_req, res) => {
      res.locals.background.addTask(flaky);
      res.end();
    });
    await request(app).post('/');
    await settled(bg);
    expect(attempts).toHaveLength(3);
    expect((attempts[1] as number) - (attempts[0] as number)).toBeGreaterThanOrEqual(39);
    expect((attempts[2] as number) - (attempts[1] as number)).toBeGreaterThanOrEqual(39);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('past its retries, a RetryAfterError fails the task and is reported with the attempts', async () => {
    const { failures, onError } = collectErrors();
    const always = defineTask(
      'always-429',
      async () => {
        throw new RetryAfterError(5);
      },
      { retries: 1 },
    );
    const { app, bg } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(always);
      res.end();
    });
    await request(app).post('/');
    await settled(bg);
    expect(bg.stats()).toMatchObject({ failed: 1 });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'always-429', attempts: 2 });
    expect(failures[0]?.error).toBeInstanceOf(RetryAfterError);
    expect((failures[0]?.error as RetryAfterError).code).toBe('ERR_BACKGROUND_TASKS_RETRY_AFTER');
  });

  it('retryAfter() refuses a bad delay', () => {
    expect(() => retryAfter(-1)).toThrow(TypeError);
    expect(() => retryAfter(Number.NaN)).toThrow(/retryAfter\(ms\): argument "ms"/);
  });

  it('parseRetryAfter reads delay-seconds and HTTP dates into ms', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('bad key functions and options', () => {
  it('a key function that throws or returns a non-string is a TypeError at addTask naming the task, never the key', async () => {
    const throws = defineTask('key-throws', (_email: string) => {}, {
      dedupe: {
        key: (email) => {
          throw new Error(`no key for ${email}`);
        },
        ttl: 1000,
      },
    });
    const numeric = defineTask('key-number', (_id: number) => {}, {
      rateLimit: { limit: 1, per: 1000, key: ((id: number) => id) as unknown as (id: number) => string },
    });
    const nothing = defineTask('key-undefined', (_id: number) => {}, {
      concurrency: { limit: 1, key: (() => undefined) as unknown as () => string },
    });
    const caught: unknown[] = [];
    const { app, bg } = appWith({}, (req, res) => {
      try {
        if (req.query.t === 'throws') res.locals.background.addTask(throws, 'secret@example.com');
        else if (req.query.t === 'number') res.locals.background.addTask(numeric, 424242);
        else res.locals.background.addTask(nothing, 1);
      } catch (error) {
        caught.push(error);
      }
      res.end();
    });
    for (const t of ['throws', 'number', 'undefined']) await request(app).post(`/?t=${t}`);
    expect(caught).toHaveLength(3);
    for (const error of caught) expect(error).toBeInstanceOf(TypeError);
    const messages = caught.map((error) => (error as Error).message);
    expect(messages[0]).toMatch(/addTask\(\): the dedupe\.key function of task "key-throws" threw/);
    expect((caught[0] as Error).cause).toBeInstanceOf(Error);
    expect(messages[1]).toMatch(/the rateLimit\.key function of task "key-number" returned a number; it must return a string/);
    expect(messages[2]).toMatch(/the concurrency\.key function of task "key-undefined" returned a undefined/);
    expect(messages.join('\n')).not.toMatch(/secret@example\.com|424242/);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0 });
  });

  it('defineTask refuses bad flow options with the option named', () => {
    const fn = (): void => {};
    expect(() => defineTask('x', fn, { dedupe: { ttl: 10 } as never })).toThrow(/option "dedupe\.key" must be a function/);
    expect(() => defineTask('x', fn, { dedupe: { key: () => '' } as never })).toThrow(/option "dedupe\.ttl"/);
    expect(() => defineTask('x', fn, { dedupe: { key: () => '', ttl: 1, mode: 'skip' as never } })).toThrow(/option "dedupe\.mode"/);
    expect(() => defineTask('x', fn, { dedupe: { key: () => '', ttl: 1, extra: 1 } as never })).toThrow(/unknown key "dedupe\.extra"/);
    expect(() => defineTask('x', fn, { rateLimit: { limit: 0, per: 10 } })).toThrow(/option "rateLimit\.limit" must be an integer >= 1/);
    expect(() => defineTask('x', fn, { rateLimit: { limit: 1 } as never })).toThrow(/option "rateLimit\.per"/);
    expect(() => defineTask('x', fn, { rateLimit: { limit: 1, per: 10, key: 'id' as never } })).toThrow(/option "rateLimit\.key"/);
    expect(() => defineTask('x', fn, { concurrency: { limit: 1.5 } })).toThrow(/option "concurrency\.limit"/);
    expect(() => defineTask('x', fn, { concurrency: 2 as never })).toThrow(/option "concurrency" must be an object/);
    for (const bad of [() => defineTask('x', fn, { concurrency: { limit: -1 } })]) expect(bad).toThrow(TypeError);
  });
});
