// Task status with BullMQ: app A adds, a worker in another process runs it with progress, app B (another middleware on the same Redis) reads it.
import http, { type Server } from 'node:http';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import request from 'supertest';
import { type BullmqRunner, bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { backgroundTasks, type SkipRequest, type TaskHandle, type TaskRecord, taskStatusRouter } from '../../lib/index.js';
import { Child, close, killChildren, listen, loadExpress, ROOT } from '../helpers.js';
import { SseClient, UUID } from '../status-support.js';
import { broken, busyLoop, report, stuck } from './status-tasks.js';
import { deadRedisUrl, describeWithRedis, uniqueQueueName, useRedis } from './support.js';

const express = loadExpress();
const WORKER = path.join(ROOT, '__tests__/queue/status-worker.ts');
const owner = (req: SkipRequest) => req.get('x-user');

/** A web app on the queue: POST /report (and /broken, /stuck) answer 202 with the id; /tasks is the status router. */
function webApp(runner: BullmqRunner, options: { exposeErrors?: boolean; stopOnError?: boolean } = {}) {
  const { exposeErrors = false, stopOnError = false } = options;
  const bg = backgroundTasks({ runner, stopOnError, status: { owner, exposeErrors } });
  const app = express();
  app.use(bg);
  const handles: TaskHandle[] = [];
  app.post('/report', (_req, res) => {
    const handle = res.locals.background.addTask(report, 3);
    handles.push(handle);
    res.status(202).location(`/tasks/${handle.id}`).json({ id: handle.id });
  });
  app.post('/failing', (_req, res) => {
    const added = [res.locals.background.addTask(broken), res.locals.background.addTask(stuck), res.locals.background.addTask(report, 1)];
    handles.push(...added);
    res.status(202).json({ ids: added.map((h) => h.id) });
  });
  app.use('/tasks', taskStatusRouter(bg));
  return { app, bg, handles };
}

afterEach(killChildren);

describeWithRedis('task status with BullMQ', () => {
  const redis = useRedis();
  let servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.map(close));
    servers = [];
  });

  test('A adds, a worker process runs it with progress, B reads its record and stream; taskId() is the handle id', async () => {
    const queueName = uniqueQueueName('status');
    const worker = new Child(WORKER, { REDIS_URL: redis.server.url, QUEUE_NAME: queueName });
    await worker.message('ready');
    const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })));
    const b = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })));
    const serverB = http.createServer(b.app);
    servers.push(serverB);
    const portB = await listen(serverB);

    const added = await request(a.app).post('/report').set('x-user', 'ada').expect(202);
    const id = added.body.id as string;
    expect(id).toMatch(UUID);
    expect(id).toBe(a.handles[0]?.id);
    const done = a.handles[0]!.settled();

    const run = await worker.message('run');
    expect(run.id).toBe(id);
    const stream = new SseClient(portB, `/tasks/${id}/events`, { 'x-user': 'ada' });
    const halfWay = await stream.waitFor((e) => JSON.parse(e.data).progress === 0.5);
    expect(JSON.parse(halfWay.data)).toMatchObject({ id, name: 'report', state: 'running', message: 'half way', where: 'queue' });
    // B answers for a task it never added; the owner check holds there too.
    expect((await request(b.app).get(`/tasks/${id}`).set('x-user', 'ada').expect(200)).body).toMatchObject({
      state: 'running',
      attempts: 1,
    });
    await request(b.app).get(`/tasks/${id}`).set('x-user', 'bob').expect(404);
    await request(b.app).get(`/tasks/${id}/events`).set('x-user', 'bob').expect(404);

    worker.process.stdin?.write('go\n');
    await stream.ended;
    const records = stream.records<TaskRecord>();
    expect(records.at(-1)).toMatchObject({ state: 'succeeded', progress: 1, message: 'written', result: { rows: 3 }, attempts: 1 });
    expect(records.map((r) => r.state).filter((s) => s !== 'running')).toEqual(['succeeded']);
    const final = await done;
    expect(final).toMatchObject({ id, state: 'succeeded', result: { rows: 3 }, where: 'queue' });
    expect(Date.parse(final.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(final.startedAt!));
    // The finished job is kept for the ttl (the runner's removeOnComplete would have removed it at once).
    expect((await request(b.app).get(`/tasks/${id}`).set('x-user', 'ada').expect(200)).body).toEqual(final);
    await request(b.app).get('/tasks/3b0d4f7e-0000-4000-8000-000000000000').set('x-user', 'ada').expect(404);
    expect(JSON.stringify(final)).not.toContain('"ada"'); // quoted: the letters alone can turn up in a hex id
    await a.bg.drain();
  }, 30_000);

  test('failed and timed-out queued tasks: error name and code, the message only with exposeErrors', async () => {
    const queueName = uniqueQueueName('status-fail');
    const worker = new Child(WORKER, { REDIS_URL: redis.server.url, QUEUE_NAME: queueName });
    await worker.message('ready');
    worker.process.stdin?.write('go\n');
    for (const exposeErrors of [false, true]) {
      const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })), { exposeErrors });
      const { body } = await request(a.app).post('/failing').expect(202);
      const [failed, timedOut, after] = await Promise.all(a.handles.map((h) => h.settled()));
      expect(body.ids).toEqual(a.handles.map((h) => h.id));
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: { name: 'Error', code: 'E_BROKEN' } });
      expect(timedOut).toMatchObject({ state: 'timedOut', error: { name: 'TimeoutError', code: 'ERR_BACKGROUND_TASKS_TIMEOUT' } });
      expect(after).toMatchObject({ state: 'succeeded', result: { rows: 1 } });
      if (exposeErrors) expect(failed?.error?.message).toBe('secret internals');
      else expect(JSON.stringify([failed, timedOut])).not.toContain('secret');
      await a.bg.drain();
    }
  }, 30_000);

  test('under stopOnError, the tasks after a failure are skipped', async () => {
    const queueName = uniqueQueueName('status-skip');
    const worker = new Child(WORKER, { REDIS_URL: redis.server.url, QUEUE_NAME: queueName });
    await worker.message('ready');
    const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })), { stopOnError: true });
    await request(a.app).post('/failing').expect(202);
    const records = await Promise.all(a.handles.map((h) => h.settled()));
    expect(records.map((r) => r.state)).toEqual(['failed', 'skipped', 'skipped']);
    await a.bg.drain();
  }, 30_000);

  test('a tight loop of taskProgress() in a worker stores two writes (the first and the final value)', async () => {
    const queueName = uniqueQueueName('status-loop');
    redis.closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [busyLoop] }));
    const events = redis.closer.add(new QueueEvents(queueName, { connection: { url: redis.server.url } }));
    await events.waitUntilReady();
    const runner = redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const bg = backgroundTasks({ runner, status: true });
    const app = express();
    app.use(bg);
    let handle!: TaskHandle;
    app.post('/', (_req, res) => {
      handle = res.locals.background.addTask(busyLoop);
      res.status(202).end();
    });
    const progress: unknown[] = [];
    events.on('progress', ({ jobId, data }) => {
      if (jobId === handle.id) progress.push(data);
    });
    const completed = new Promise<void>((resolve) => events.on('completed', ({ jobId }) => jobId === handle.id && resolve()));
    await request(app).post('/').expect(202);
    const record = await handle.settled();
    await completed;
    expect(record).toMatchObject({ state: 'succeeded', progress: 1, message: 'all done', result: 'looped' });
    expect(progress).toEqual([{ progress: 0.00001 }, { progress: 1, message: 'all done' }]);
    await bg.drain();
  }, 30_000);

  test('a task the runner still holds in memory (Redis unreachable) is queued, never 404', async () => {
    const runner = bullmqRunner({ connection: await deadRedisUrl(), queueName: uniqueQueueName('status-held'), enqueueTimeout: 200 });
    const a = webApp(runner);
    const warn = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { body } = await request(a.app).post('/report').set('x-user', 'ada').expect(202);
      const found = await request(a.app).get(`/tasks/${body.id}`).set('x-user', 'ada').expect(200);
      expect(found.body).toMatchObject({ id: body.id, state: 'queued', where: 'queue', attempts: 0 });
      expect(await a.handles[0]!.status()).toEqual(found.body);
      await a.bg.drain({ timeout: 50 });
      await runner.close();
      // Given up, never stored: the record says it failed, with the enqueue error's name.
      expect(await a.handles[0]!.status()).toMatchObject({ state: 'failed', error: { name: 'EnqueueError' } });
    } finally {
      warn.mockRestore();
    }
  }, 30_000);
});
