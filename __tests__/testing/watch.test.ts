// watchTasks() over real HTTP: tasks run as usual and the watcher sees their live states; settled() and its timeout; restore().
import path from 'node:path';
import request from 'supertest';
import { defineTask, type QueueRunner, TasksNotSettledError, taskProgress } from '../../lib/index.js';
import { type TaskWatcher, watchTasks } from '../../lib/testing/index.js';
import { threadPool } from '../../lib/threads/index.js';
import { appWith, collectErrors, deferred } from '../helpers.js';

let watcher: TaskWatcher | undefined;
afterEach(() => watcher?.restore());

function watch(): TaskWatcher {
  watcher = watchTasks();
  return watcher;
}

describe('watchTasks()', () => {
  test('tasks run as usual; added() shows them with live states; settled() waits until every one is final', async () => {
    const gate = deferred();
    const done: string[] = [];
    const report = defineTask('report', async (month: string) => {
      taskProgress(0.5, 'half');
      await gate.promise;
      done.push(month);
    });
    const { onError } = collectErrors();
    const { app } = appWith({ onError }, (req, res) => {
      res.locals.background.addTask(report, String(req.query.month));
      res.locals.background.addTask(function fails() {
        throw new Error('nope');
      });
      res.status(202).send('ok');
    });
    const tasks = watch();
    await request(app).post('/?month=2026-11&token=secret').expect(202);
    expect(tasks.added()).toEqual([
      {
        id: expect.any(String),
        name: 'report',
        where: 'process',
        method: 'POST',
        url: '/',
        state: 'running',
        stored: false,
        attempts: 1,
        progress: 0.5,
        message: 'half',
      },
      expect.objectContaining({ name: 'fails', state: 'queued' }),
    ]);
    const settling = tasks.settled();
    gate.resolve();
    const final = await settling;
    expect(final.map((task) => [task.name, task.state])).toEqual([
      ['report', 'succeeded'],
      ['fails', 'failed'],
    ]);
    expect((final[1]?.error as Error).message).toBe('nope');
    expect(done).toEqual(['2026-11']);
    expect(tasks.added('report')).toHaveLength(1);
    expect(tasks.added(report)).toHaveLength(1);
    // A watcher holds no functions: a plain function names its tasks by its name.
    expect(tasks.added(function fails() {})).toHaveLength(1);
    expect(JSON.stringify(tasks.added())).not.toContain('2026-11');
    // Nothing pending: resolves at once.
    expect(await tasks.settled({ timeout: 10 })).toHaveLength(2);
  });

  test('settled({ timeout }) rejects with a TasksNotSettledError that lists the tasks still pending', async () => {
    const gate = deferred();
    const stuck = defineTask('stuck', () => gate.promise);
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(stuck);
      res.send('ok');
    });
    const tasks = watch();
    await request(app).post('/?x=1').expect(200);
    const error = await tasks.settled({ timeout: 20 }).then(
      () => undefined,
      (thrown: unknown) => thrown as TasksNotSettledError,
    );
    expect(error).toBeInstanceOf(TasksNotSettledError);
    expect(error?.code).toBe('ERR_BACKGROUND_TASKS_NOT_SETTLED');
    expect(error?.message).toBe(
      'settled({ timeout: 20 }) reached its timeout with 1 task(s) still pending:\n  1. stuck from POST / (running)',
    );
    expect(error?.pending).toEqual([expect.objectContaining({ name: 'stuck', state: 'running' })]);
    gate.resolve();
    await bg.drain();
    expect(() => tasks.settled({ timeout: 0 })).toThrow('settled(): option "timeout" must be a number of milliseconds');
  });

  test('the tasks of a 5xx settle as skipped; a thread task settles when its thread is done', async () => {
    const threads = threadPool({ module: path.join(__dirname, 'fixtures', 'thread-tasks.ts'), maxThreads: 1 });
    try {
      const { resize } = await import('./fixtures/thread-tasks.js');
      const { app } = appWith({ threads }, (req, res) => {
        res.locals.background.addTask(resize, { user: 'ada', size: 8, when: new Date(0), bytes: Buffer.from('x') });
        res.status(Number(req.query.status)).send('done');
      });
      const tasks = watch();
      await request(app).post('/?status=500').expect(500);
      await request(app).post('/?status=200').expect(200);
      const final = await tasks.settled();
      expect(final.map((task) => [task.where, task.state])).toEqual([
        ['thread', 'skipped'],
        ['thread', 'succeeded'],
      ]);
    } finally {
      await threads.close();
    }
  });

  test('with a queue runner, a task counts as settled once its list is stored', async () => {
    const stored = deferred();
    const lists: string[][] = [];
    const runner: QueueRunner = {
      enqueue: async (tasks) => {
        await stored.promise;
        lists.push(tasks.map((task) => task.definition.name));
      },
    };
    const invoice = defineTask('invoice', (_id: string) => {});
    const { app } = appWith({ runner }, (_req, res) => {
      res.locals.background.addTask(invoice, 'i-1');
      res.send('ok');
    });
    const tasks = watch();
    await request(app).post('/').expect(200);
    expect(tasks.added()[0]).toMatchObject({ where: 'queue', state: 'queued', stored: false });
    const settling = tasks.settled();
    stored.resolve();
    expect(await settling).toEqual([expect.objectContaining({ name: 'invoice', state: 'queued', stored: true })]);
    expect(lists).toEqual([['invoice']]);
  });

  test('restore() stops watching and rejects a settled() still waiting; Symbol.dispose restores', async () => {
    const gate = deferred();
    const { app, bg } = appWith(undefined, (_req, res) => {
      res.locals.background.addTask(function waits() {
        return gate.promise;
      });
      res.send('ok');
    });
    const tasks = watch();
    await request(app).post('/').expect(200);
    const waiting = tasks.settled();
    tasks.restore();
    await expect(waiting).rejects.toThrow('the watcher was restored with 1 task(s) still pending:\n  1. waits from POST / (running)');
    await request(app).post('/').expect(200);
    expect(tasks.added()).toHaveLength(1);
    gate.resolve();
    await bg.drain();

    const second = watchTasks();
    second[Symbol.dispose]();
    // Disposed: a new scope may start.
    watch();
  });
});
