// The express-background-tasks.task TracingChannel: events in TracingChannel's order for every attempt, the context's fields, never the arguments.
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import request from 'supertest';
import { defineTask, TaskTimeoutError, taskSignal } from '../lib/index.js';
import { tracingTasks } from '../lib/tracing.js';
import { appWith, collectErrors, settled } from './helpers.js';
import { allText, recordChannel } from './tracing-support.js';

const SECRET = 'secret-argument-value-42';

describe('the task TracingChannel', () => {
  let recorder: ReturnType<typeof recordChannel>;
  beforeEach(() => {
    recorder = recordChannel('express-background-tasks.task');
  });
  afterEach(() => recorder.unsubscribe());

  it('a sync task: start, end, with the documented fields and never an argument', async () => {
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(function syncTask(_email: string, _options: { token: string }) {}, SECRET, { token: SECRET });
      res.end();
    });
    await request(app).post(`/?email=${SECRET}`).expect(200);
    await settled(bg);
    expect(recorder.events.map((e) => e.event)).toEqual(['start', 'end']);
    const [start, end] = recorder.events;
    expect(start?.context).toBe(end?.context);
    expect(start?.fields).toEqual({
      name: 'syncTask',
      attempt: 1,
      method: 'POST',
      path: '/',
      taskId: undefined,
      where: 'process',
      traceparent: undefined,
      async: false,
      error: undefined,
    });
    expect(allText(end?.context)).not.toContain(SECRET);
  });

  it('an async task: start, end, then asyncStart and asyncEnd once it settles', async () => {
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(async function asyncTask(_secret: string) {
        await Promise.resolve();
      }, SECRET);
      res.end();
    });
    await request(app).get('/?page=1').expect(200);
    await settled(bg);
    expect(recorder.events.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(recorder.events[1]?.fields).toMatchObject({ name: 'asyncTask', method: 'GET', async: true, error: undefined });
    expect(allText(recorder.events[3]?.context)).not.toContain(SECRET);
  });

  it('failing tasks: error before end when sync, error before asyncStart when a promise rejects', async () => {
    const syncError = new Error('sync boom');
    const asyncError = new Error('async boom');
    const { onError, failures } = collectErrors();
    const { app, bg } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(function throws(_secret: string) {
        throw syncError;
      }, SECRET);
      res.locals.background.addTask(async function rejects(_secret: string) {
        throw asyncError;
      }, SECRET);
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(failures).toHaveLength(2);
    const [sync, async] = recorder.byAttempt();
    expect(sync?.map((e) => e.event)).toEqual(['start', 'error', 'end']);
    expect(sync?.[1]?.fields).toMatchObject({ name: 'throws', error: syncError, async: false });
    expect(async?.map((e) => e.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(async?.[2]?.fields).toMatchObject({ name: 'rejects', error: asyncError, async: true });
    for (const event of recorder.events) expect(allText(event.fields)).not.toContain(SECRET);
  });

  it('a retried task: one start (one context) per attempt, numbered from 1', async () => {
    let calls = 0;
    const flaky = defineTask(
      'flaky',
      async (_secret: string) => {
        calls++;
        if (calls < 3) throw new Error(`failure ${calls}`);
      },
      { retries: 2 },
    );
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(flaky, SECRET);
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    const attempts = recorder.byAttempt();
    expect(attempts.map((events) => events.map((e) => e.event))).toEqual([
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    ]);
    expect(attempts.map((events) => events[0]?.fields.attempt)).toEqual([1, 2, 3]);
    expect(attempts.map((events) => events[0]?.fields.name)).toEqual(['flaky', 'flaky', 'flaky']);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('a timed-out attempt ends its trace at the timeout, with the TaskTimeoutError', async () => {
    const { onError, failures } = collectErrors();
    const { app, bg } = appWith({ onError, timeout: 20 }, (_req, res) => {
      res.locals.background.addTask(function slow() {
        // Settles only once its signal aborts: after the timeout, so its late outcome is ignored.
        const signal = taskSignal();
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      });
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(failures.map((f) => f.error)).toEqual([expect.any(TaskTimeoutError)]);
    expect(recorder.events.map((e) => e.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(recorder.events[2]?.fields.error).toBeInstanceOf(TaskTimeoutError);
  });

  it('events are published in the context of the addTask that added the task (each task its own)', async () => {
    const als = new AsyncLocalStorage<string>();
    recorder.unsubscribe();
    const seen: Array<string | undefined> = [];
    recorder = recordChannel('express-background-tasks.task', () => seen.push(als.getStore()));
    const { app, bg } = appWith(undefined, (_req, res) => {
      als.run('first', () => res.locals.background.addTask(function one() {}));
      als.run('second', () => res.locals.background.addTask(function two() {}));
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(seen).toEqual(['first', 'second']);
  });

  it('a store bound to start is current inside the task code (bindStore), for every task of a list', async () => {
    const store = new AsyncLocalStorage<string>();
    const start = tracingChannel<unknown, { name: string }>('express-background-tasks.task').start;
    start.bindStore(store, (context) => `span of ${context.name}`);
    try {
      const inside: Array<string | undefined> = [];
      const { app, bg } = appWith(undefined, (_req, res) => {
        res.locals.background.addTask(function one() {
          inside.push(store.getStore());
        });
        res.locals.background.addTask(async function two() {
          await Promise.resolve();
          inside.push(store.getStore());
        });
        res.end();
      });
      await request(app).post('/').expect(200);
      await settled(bg);
      expect(inside).toEqual(['span of one', 'span of two']);
    } finally {
      start.unbindStore(store);
    }
  });

  it('nobody listening: nothing is published and the fast path is taken', async () => {
    recorder.unsubscribe();
    expect(tracingTasks()).toBe(false);
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(function quiet() {});
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(recorder.events).toEqual([]);
    expect(bg.stats()).toMatchObject({ succeeded: 1 });
  });
});
