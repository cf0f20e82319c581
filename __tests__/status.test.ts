// Task handles and status records in process: ids, taskId(), the status option, records through every state, ttl and max.
import type { Server } from 'node:http';
import request from 'supertest';
import {
  type BackgroundTasksOptions,
  backgroundTasks,
  defineTask,
  InvalidArgumentError,
  type TaskHandle,
  type TaskRecord,
  taskId,
  taskProgress,
} from '../lib/index.js';
import { statusOf } from '../lib/status-store.js';
import { appWith, close, collectErrors, deferred, loadExpress, sendAll, settled } from './helpers.js';
import { clockPast, UUID } from './status-support.js';

const express = loadExpress();

/** An app whose POST / adds `fn` (with the arguments the test gives) and answers the handle's id. */
function statusApp(options: BackgroundTasksOptions, add: (bg: import('../lib/index.js').BackgroundTasks) => TaskHandle, code = 202) {
  const bg = backgroundTasks(options);
  const app = express();
  app.use(bg);
  const handles: TaskHandle[] = [];
  app.post('/', (_req, res) => {
    const handle = add(res.locals.background);
    handles.push(handle);
    res.status(code).json({ id: handle.id });
  });
  return { app, bg, handles };
}

describe('task handles', () => {
  test('addTask returns a handle whose id is a UUID, distinct per task, and what taskId() returns inside the task (status off)', async () => {
    const seen: string[] = [];
    const handles: TaskHandle[] = [];
    const { app, bg } = appWith(undefined, (_req, res) => {
      for (let i = 0; i < 3; i++) handles.push(res.locals.background.addTask(() => void seen.push(taskId())));
      res.send('ok');
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    const ids = handles.map((h) => h.id);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(3);
    expect(seen).toEqual(ids);
  });

  test('the id is the same whether the task or the handle asks first', async () => {
    let inside: string | undefined;
    let handle!: TaskHandle;
    const { app, bg } = appWith(undefined, (_req, res) => {
      handle = res.locals.background.addTask(async () => {
        inside = taskId();
      });
      res.send('ok');
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(inside).toMatch(UUID);
    expect(handle.id).toBe(inside);
    expect(JSON.stringify(handle)).toBe(JSON.stringify({ id: inside }));
  });

  test('with status off, status() and settled() reject with a TypeError that names the option', async () => {
    let handle!: TaskHandle;
    const { app, bg } = appWith(undefined, (_req, res) => {
      handle = res.locals.background.addTask(() => {});
      res.send('ok');
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    await expect(handle.status()).rejects.toThrow(InvalidArgumentError);
    await expect(handle.status()).rejects.toThrow(/"status" option, backgroundTasks\(\{ status: true \}\)/);
    await expect(handle.settled()).rejects.toThrow(/handle\.settled\(\) needs task status records/);
  });

  test('the status option is checked', () => {
    expect(() => backgroundTasks({ status: 'yes' as unknown as boolean })).toThrow(/option "status" must be true, false, or an object/);
    expect(() => backgroundTasks({ status: { ttl: 0 } })).toThrow(/option "status.ttl" must be a number of milliseconds above 0/);
    expect(() => backgroundTasks({ status: { max: 0 } })).toThrow(/option "status.max" must be an integer >= 1/);
    expect(() => backgroundTasks({ status: { owner: 'me' as unknown as () => string } })).toThrow(
      /option "status.owner" must be a function/,
    );
    expect(() => backgroundTasks({ status: { exposeErrors: 1 as unknown as boolean } })).toThrow(
      /"status.exposeErrors" must be true or false/,
    );
    expect(() => backgroundTasks({ status: { maxAge: 1 } as never })).toThrow(/option "status": unknown option "maxAge"/);
    expect(() => backgroundTasks({ status: false })).not.toThrow();
    expect(() => defineTask('r', () => 1, { result: 'yes' as unknown as boolean })).toThrow(/option "result" must be true or false/);
  });
});

describe('status records in process', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server !== undefined) await close(server);
    server = undefined;
  });

  test('a record goes queued, running (progress, message, attempts), succeeded with its result; never the arguments', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const report = defineTask(
      'report',
      async (email: string) => {
        taskProgress(0.25, 'reading');
        await gates[1]!.promise;
        taskProgress(0.75, 'writing');
        await gates[2]!.promise;
        return { rows: email.length };
      },
      { result: true },
    );
    // One slot, held by a blocker, so that the report stays queued until the test lets it go.
    const { app, bg, handles } = statusApp({ status: true, concurrency: 1 }, (background) =>
      background.addTask(report, 'alice@example.com'),
    );
    app.post('/block', (_req, res) => {
      res.locals.background.addTask(() => gates[0]!.promise);
      res.send('ok');
    });
    await request(app).post('/block').expect(200);
    const { body } = await request(app).post('/?token=secret').expect(202);
    const handle = handles[0]!;
    expect(body.id).toBe(handle.id);
    expect(await handle.status()).toEqual({
      id: handle.id,
      name: 'report',
      state: 'queued',
      attempts: 0,
      addedAt: expect.any(String),
      where: 'process',
    });
    const done = handle.settled();
    gates[0]!.resolve();
    // The first progress is passed on at once.
    const running = await waitForRecord(handle, (r) => r.progress === 0.25);
    expect(running).toMatchObject({ state: 'running', attempts: 1, message: 'reading' });
    expect(Date.parse(running.startedAt!)).toBeGreaterThanOrEqual(Date.parse(running.addedAt));
    gates[1]!.resolve();
    gates[2]!.resolve();
    const final = await done;
    await settled(bg);
    expect(final).toEqual({
      id: handle.id,
      name: 'report',
      state: 'succeeded',
      attempts: 1,
      progress: 0.75,
      message: 'writing',
      result: { rows: 17 },
      addedAt: running.addedAt,
      startedAt: running.startedAt,
      finishedAt: expect.any(String),
      where: 'process',
    });
    expect(new Date(final.finishedAt!).toISOString()).toBe(final.finishedAt);
    expect(await handle.status()).toEqual(final);
    expect(JSON.stringify(final)).not.toContain('alice');
    expect(JSON.stringify(final)).not.toContain('secret');
  });

  test('failed and timed-out tasks: error name and code, the message only with exposeErrors; settled() resolves for them', async () => {
    const { onError } = collectErrors();
    const boom = defineTask('boom', () => {
      throw Object.assign(new Error('db password is hunter2'), { code: 'E_DB' });
    });
    const slow = defineTask('slow', () => new Promise(() => {}), { timeout: 10 });
    for (const exposeErrors of [false, true]) {
      let handles: TaskHandle[] = [];
      const { app, bg } = appWith({ onError, status: { exposeErrors } }, (_req, res) => {
        handles = [res.locals.background.addTask(boom), res.locals.background.addTask(slow)];
        res.send('ok');
      });
      await request(app).post('/').expect(200);
      const [failed, timedOut] = await Promise.all(handles.map((h) => h.settled()));
      await settled(bg);
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: { name: 'Error', code: 'E_DB' } });
      expect(timedOut).toMatchObject({ state: 'timedOut', error: { name: 'TimeoutError', code: 'ERR_BACKGROUND_TASKS_TIMEOUT' } });
      if (exposeErrors) {
        expect(failed?.error?.message).toBe('db password is hunter2');
        expect(timedOut?.error?.message).toMatch(/timed out/);
      } else {
        expect(JSON.stringify([failed, timedOut])).not.toContain('message');
      }
    }
  });

  test('retries keep the task running and raise attempts', async () => {
    const { onError } = collectErrors();
    let calls = 0;
    const flaky = defineTask(
      'flaky',
      () => {
        if (++calls < 3) throw new Error('not yet');
        return 'ok';
      },
      { retries: 2, result: true },
    );
    const { app, bg, handles } = statusApp({ onError, status: true }, (background) => background.addTask(flaky));
    await request(app).post('/').expect(202);
    expect(await handles[0]!.settled()).toMatchObject({ state: 'succeeded', attempts: 3, result: 'ok' });
    await settled(bg);
  });

  test('the tasks of a 500 are skipped', async () => {
    const { app, bg, handles } = statusApp({ status: true }, (background) => background.addTask(() => {}), 500);
    await request(app).post('/').expect(500);
    await settled(bg);
    const record = await handles[0]!.settled();
    expect(record).toMatchObject({ state: 'skipped', attempts: 0 });
    expect(record.startedAt).toBeUndefined();
    expect(record.finishedAt).toEqual(expect.any(String));
  });

  test('a result that is not JSON or above 64 KiB is not kept, and a line says why (never the value)', async () => {
    const big = defineTask('big', () => 'x'.repeat(70_000), { result: true });
    const odd = defineTask('odd', () => ({ n: 10n }), { result: true });
    const plain = defineTask('plain', () => ({ kept: false }));
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    let handles: TaskHandle[] = [];
    try {
      const { app, bg } = appWith({ status: true }, (_req, res) => {
        handles = [res.locals.background.addTask(big), res.locals.background.addTask(odd), res.locals.background.addTask(plain)];
        res.send('ok');
      });
      await request(app).post('/').expect(200);
      await settled(bg);
    } finally {
      spy.mockRestore();
    }
    const records = await Promise.all(handles.map((h) => h.settled()));
    for (const record of records) {
      expect(record.state).toBe('succeeded');
      expect('result' in record).toBe(false);
    }
    expect(lines.join('\n')).toMatch(/task "big" is defined with \{ result: true \}, but its result is not kept: its JSON is 70002 bytes/);
    expect(lines.join('\n')).toMatch(/task "odd" .* not JSON-serializable/);
    expect(lines.join('\n')).not.toContain('xxxx');
    expect(lines).toHaveLength(2);
  });

  test('a tight loop of taskProgress() is passed on a few times; the final value is kept', async () => {
    const changes: number[] = [];
    const loop = defineTask('loop', () => {
      for (let i = 1; i <= 100_000; i++) taskProgress(i / 100_000, i === 100_000 ? 'done' : undefined);
    });
    const { app, bg, handles } = statusApp({ status: true }, (background) => background.addTask(loop));
    const { feedOf } = await import('../lib/task-events.js');
    feedOf(bg)?.observe({ changed: (entry) => void changes.push(entry.progress ?? -1) });
    await request(app).post('/').expect(202);
    const record = await handles[0]!.settled();
    await settled(bg);
    expect(record).toMatchObject({ state: 'succeeded', progress: 1, message: 'done' });
    // running, the first progress (at once), and the final state: the synchronous loop never yields to a timer.
    expect(changes).toEqual([-1, 0.00001, 1]);
  });

  test('at most max records: the oldest settled go first, a running task is never evicted', async () => {
    const gate = deferred();
    const handles: TaskHandle[] = [];
    const { app, bg } = appWith({ status: { max: 2 } }, (req, res) => {
      const long = req.query.kind === 'long';
      handles.push(res.locals.background.addTask(() => (long ? gate.promise : undefined)));
      res.send('ok');
    });
    await request(app).post('/?kind=long').expect(200);
    for (let i = 0; i < 3; i++) await request(app).post('/?kind=short').expect(200);
    const [long, first, second, third] = handles as [TaskHandle, TaskHandle, TaskHandle, TaskHandle];
    await third.settled();
    // Two records at most: the running one, and the newest settled.
    expect(statusOf(bg)?.size).toBe(2);
    expect(await first.status()).toBeUndefined();
    expect(await second.status()).toBeUndefined();
    expect((await third.status())?.state).toBe('succeeded');
    expect((await long.status())?.state).toBe('running');
    gate.resolve();
    expect((await long.settled()).state).toBe('succeeded');
    await settled(bg);
    // Now both kept records are settled ones: the newest two.
    expect(statusOf(bg)?.size).toBe(2);
    expect((await third.status())?.state).toBe('succeeded');
  });

  test('a record expires ttl ms after its task settled', async () => {
    const ttl = 20;
    const { app, bg, handles } = statusApp({ status: { ttl } }, (background) => background.addTask(() => {}));
    await request(app).post('/').expect(202);
    const record = await handles[0]!.settled();
    await settled(bg);
    expect((await handles[0]!.status())?.state).toBe('succeeded');
    await clockPast(Date.parse(record.finishedAt!) + ttl);
    expect(await handles[0]!.status()).toBeUndefined();
    await expect(handles[0]!.settled()).rejects.toThrow(/no status record: unknown, or expired/);
  });

  test('memory stays bounded over 100,000 tasks with status: { max: 1000 }', async () => {
    const { v8, vm } = { v8: await import('node:v8'), vm: await import('node:vm') };
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const { app, bg } = appWith({ status: { max: 1000 } }, (_req, res) => {
      for (let i = 0; i < 1000; i++) res.locals.background.addTask(() => i);
      res.send('ok');
    });
    server = app.listen(0);
    await new Promise((resolve) => server!.once('listening', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    await sendAll(
      port,
      Array.from({ length: 10 }, () => '/'),
    );
    await settled(bg);
    gc();
    const before = process.memoryUsage().heapUsed;
    await sendAll(
      port,
      Array.from({ length: 90 }, () => '/'),
    );
    await settled(bg);
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(bg.stats().succeeded).toBe(100_000);
    expect(statusOf(bg)?.size).toBe(1000);
    // 90,000 more records, of which 1000 are kept: far below what keeping them all would take (~25 MB).
    expect(after - before).toBeLessThan(2 * 1024 * 1024);
  }, 60_000);
});

/** Polls handle.status() until `match` accepts it (the test's only poll: status() is what a client polls). */
async function waitForRecord(handle: TaskHandle, match: (record: TaskRecord) => boolean): Promise<TaskRecord> {
  for (;;) {
    const record = await handle.status();
    if (record !== undefined && match(record)) return record;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
