// Task events: what observers of a middleware (and of the process) see of each task, and taskProgress().
import request from 'supertest';
import { defineTask, InvalidArgumentError, NotInTaskError, taskProgress } from '../lib/index.js';
import { FEED, feedOf, observeProcess, type TaskEntry, type TaskFeed, type TaskObserver } from '../lib/task-events.js';
import { appWith, collectErrors, settled } from './helpers.js';

/** Records every call as a copy of the entry at that moment. */
function recorder(): { seen: Array<{ event: string } & Omit<TaskEntry, 'abort'>>; observer: TaskObserver } {
  const seen: Array<{ event: string } & Omit<TaskEntry, 'abort'>> = [];
  const copy = (event: string) => (entry: TaskEntry) => {
    const { abort: _abort, ...rest } = entry;
    seen.push({ event, ...rest });
  };
  return { seen, observer: { added: copy('added'), changed: copy('changed') } };
}

function feed(bg: unknown): TaskFeed {
  const found = feedOf(bg);
  if (found === undefined) throw new Error('no feed');
  return found;
}

describe('task events', () => {
  test('an observed task goes queued, running (with progress), succeeded; ids are UUIDs; no arguments are kept', async () => {
    const steps = defineTask('steps', (secret: string) => {
      taskProgress(0.5, 'half way');
      return secret.length;
    });
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(steps, 'alice@example.com');
      res.send('ok');
    });
    const { seen, observer } = recorder();
    const stop = feed(bg).observe(observer);
    await request(app).post('/?token=abc').expect(200);
    await settled(bg);
    stop();
    expect(seen.map((e) => `${e.event}:${e.state}`)).toEqual(['added:queued', 'changed:running', 'changed:running', 'changed:succeeded']);
    const [added, , progressed, done] = seen;
    expect(added?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(added).toMatchObject({ name: 'steps', where: 'process', method: 'POST', path: '/', attempts: 0, stored: false });
    expect(progressed).toMatchObject({ progress: 0.5, message: 'half way' });
    expect(done?.attempts).toBe(1);
    expect(done?.finishedAt).toBeGreaterThanOrEqual(done?.startedAt ?? Number.POSITIVE_INFINITY);
    expect(JSON.stringify(seen)).not.toContain('alice@example.com');
    expect(JSON.stringify(seen)).not.toContain('token');
  });

  test('retries raise attempts while running; the final error is on the entry', async () => {
    let calls = 0;
    const flaky = defineTask(
      'flaky',
      () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      { retries: 2 },
    );
    const { onError } = collectErrors();
    const { app, bg } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(flaky);
      res.send('ok');
    });
    const { seen, observer } = recorder();
    feed(bg).observe(observer);
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(seen.map((e) => `${e.state}/${e.attempts}`)).toEqual(['queued/0', 'running/1', 'running/2', 'running/3', 'failed/3']);
    expect((seen.at(-1)?.error as Error).message).toBe('boom 3');
  });

  test('the tasks of a 500 are skipped; unobserved middlewares make no entries; process observers see every middleware', async () => {
    const plain = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(() => {});
      res.status(500).send('no');
    });
    const other = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(function named() {});
      res.send('ok');
    });
    const { seen, observer } = recorder();
    const stop = observeProcess(observer);
    try {
      await request(plain.app).post('/').expect(500);
      await request(other.app).post('/').expect(200);
      await settled(plain.bg);
      await settled(other.bg);
    } finally {
      stop();
    }
    expect(seen.map((e) => `${e.name}:${e.state}`)).toEqual([
      'anonymous:queued',
      'anonymous:skipped',
      'named:queued',
      'named:running',
      'named:succeeded',
    ]);
    const after = seen.length;
    await request(other.app).post('/').expect(200);
    await settled(other.bg);
    expect(seen).toHaveLength(after);
  });

  test('a running entry can be aborted through its signal', async () => {
    const { onError, failures } = collectErrors();
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { app, bg } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(async function waits() {
        const signal = (await import('../lib/index.js')).taskSignal();
        started();
        await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      });
      res.send('ok');
    });
    let entry: TaskEntry | undefined;
    feed(bg).observe({ changed: (e) => (entry = e) });
    await request(app).post('/').expect(200);
    await running;
    expect(entry?.state).toBe('running');
    entry?.abort?.(new Error('stopped from the dashboard'));
    await settled(bg);
    expect(entry?.state).toBe('failed');
    expect((failures[0]?.error as Error).message).toBe('stopped from the dashboard');
  });

  test('an observer that throws is reported and does not stop the task', async () => {
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(() => {});
      res.send('ok');
    });
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      feed(bg).observe({
        added: () => {
          throw new Error('observer bug');
        },
      });
      await request(app).post('/').expect(200);
      await settled(bg);
    } finally {
      spy.mockRestore();
    }
    expect(bg.stats().succeeded).toBe(1);
    expect(errors.join('\n')).toContain('observer bug');
  });

  test('taskProgress() checks its arguments and works only inside a task', () => {
    expect(() => taskProgress(0.5)).toThrow(NotInTaskError);
    expect(() => taskProgress(1.5)).toThrow(InvalidArgumentError);
    expect(() => taskProgress(Number.NaN)).toThrow(/argument "progress" must be a number from 0 to 1/);
    expect(() => taskProgress(0.1, 42 as unknown as string)).toThrow(/argument "message"/);
  });

  test('feedOf() finds the feed only on a backgroundTasks() middleware', () => {
    const { bg } = appWith();
    expect(feedOf(bg)).toBe((bg as unknown as { [FEED]: TaskFeed })[FEED]);
    expect(feedOf(() => {})).toBeUndefined();
    expect(Object.keys(bg)).not.toContain(String(FEED));
  });
});
