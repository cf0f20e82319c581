// Task status for a long list stored as one BullMQ job: app A adds 150 tasks, a worker process runs them, app B reads each task's record and stream.
import http, { type Server } from 'node:http';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { LONGEST_CHAIN } from '../../lib/bullmq/flow.js';
import { type BullmqRunner, bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { backgroundTasks, type SkipRequest, type TaskHandle, type TaskRecord, taskStatusRouter } from '../../lib/index.js';
import { Child, close, killChildren, listen, loadExpress, ROOT } from '../helpers.js';
import { SseClient } from '../status-support.js';
import { RedisProcess } from './redis-process.js';
import { broken, flakyOnce, report, square, stuck } from './status-tasks.js';
import { describeWithRedis, uniqueQueueName, useRedis } from './support.js';

const express = loadExpress();
const WORKER = path.join(ROOT, '__tests__/queue/status-worker.ts');
const owner = (req: SkipRequest) => req.get('x-user');
const LENGTH = 150;
const TTL = 60_000;

/** Where each kind of task sits in the list of 150 (the rest square their place). */
const MIDDLE = 75; // report: progress half way, waits for the test's "go"
const FAILING = 100; // broken
const TIMED_OUT = 120; // stuck
const FLAKY = 130; // fails once, then succeeds

/** A web app on the queue: POST /many answers 202 with 150 task ids; /tasks is the status router. */
function webApp(runner: BullmqRunner, options: { stopOnError?: boolean; status?: boolean; failAt?: number } = {}) {
  const { stopOnError = false, status = true, failAt = FAILING } = options;
  const bg = backgroundTasks({ runner, stopOnError, ...(status ? { status: { owner, ttl: TTL } } : {}) });
  const app = express();
  app.use(bg);
  const handles: TaskHandle[] = [];
  app.post('/many', (_req, res) => {
    const { background } = res.locals;
    for (let i = 0; i < LENGTH; i++) {
      if (i === MIDDLE) handles.push(background.addTask(report, 7));
      else if (i === failAt) handles.push(background.addTask(broken));
      else if (i === TIMED_OUT) handles.push(background.addTask(stuck));
      else if (i === FLAKY) handles.push(background.addTask(flakyOnce));
      else handles.push(background.addTask(square, i));
    }
    res.status(202).json({ ids: handles.map((handle) => handle.id) });
  });
  if (status) app.use('/tasks', taskStatusRouter(bg));
  return { app, bg, handles };
}

const indexKey = (queueName: string, id: string) => `bull:${queueName}:ebt:list-task:${id}`;

afterEach(killChildren);

describeWithRedis('task status of a long list stored as one job', () => {
  const redis = useRedis();
  let servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.map(close));
    servers = [];
  });

  function client(): Redis {
    const connection = new Redis(redis.server.url);
    redis.closer.add({ close: () => connection.quit() });
    return connection;
  }

  test('A adds 150 tasks, B reads one queued, then running with progress, then succeeded; failed, timed-out, retried; its stream ends', async () => {
    expect(LENGTH).toBeGreaterThan(LONGEST_CHAIN);
    const queueName = uniqueQueueName('status-list');
    const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })));
    const b = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })));
    const serverB = http.createServer(b.app);
    servers.push(serverB);
    const portB = await listen(serverB);
    const ada = { 'x-user': 'ada' };

    const { body } = await request(a.app).post('/many').set(ada).expect(202);
    const ids = body.ids as string[];
    expect(ids).toHaveLength(LENGTH);
    // Stored (drain() waits for the hand-off), and no worker yet: B reads from Redis alone.
    await a.bg.drain();
    const middle = ids[MIDDLE] as string;
    const queued = await request(b.app).get(`/tasks/${middle}`).set(ada).expect(200);
    expect(queued.body).toEqual({ id: middle, name: 'report', state: 'queued', attempts: 0, addedAt: expect.any(String), where: 'queue' });
    await request(b.app).get(`/tasks/${middle}`).set('x-user', 'bob').expect(404);
    expect(await a.handles[MIDDLE]!.status()).toEqual(queued.body);
    // The index expires with the ttl and a margin for the list's wait.
    const redisClient = client();
    expect(await redisClient.pttl(indexKey(queueName, middle))).toBeGreaterThan(TTL);
    const listJob = JSON.parse((await redisClient.get(indexKey(queueName, middle)))!).j as string;
    const events = redis.closer.add(new QueueEvents(queueName, { connection: { url: redis.server.url } }));
    await events.waitUntilReady();
    const listDone = new Promise<void>((resolve) => events.on('completed', ({ jobId }) => jobId === listJob && resolve()));

    const stream = new SseClient(portB, `/tasks/${middle}/events`, ada);
    await stream.waitFor((e) => JSON.parse(e.data).state === 'queued');
    const worker = new Child(WORKER, { REDIS_URL: redis.server.url, QUEUE_NAME: queueName });
    const run = await worker.message('run');
    expect(run.id).toBe(middle);
    const halfWay = await stream.waitFor((e) => JSON.parse(e.data).progress === 0.5);
    expect(JSON.parse(halfWay.data)).toMatchObject({ id: middle, name: 'report', state: 'running', attempts: 1, message: 'half way' });
    // Before it: done, with their results; after it: still queued.
    expect((await request(b.app).get(`/tasks/${ids[10]}`).set(ada).expect(200)).body).toMatchObject({
      name: 'square',
      state: 'succeeded',
      attempts: 1,
      result: 100,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    expect(
      (
        await request(b.app)
          .get(`/tasks/${ids[MIDDLE + 1]}`)
          .set(ada)
          .expect(200)
      ).body,
    ).toMatchObject({ state: 'queued', attempts: 0 });

    worker.process.stdin?.write('go\n');
    await stream.ended;
    const records = stream.records<TaskRecord>();
    expect(records.at(-1)).toMatchObject({ state: 'succeeded', progress: 1, message: 'written', result: { rows: 7 }, attempts: 1 });
    const states = [...new Set(records.map((r) => r.state))];
    expect(states).toEqual(['queued', 'running', 'succeeded']);

    const [failed, timedOut, flaky, last] = await Promise.all([FAILING, TIMED_OUT, FLAKY, LENGTH - 1].map((i) => a.handles[i]!.settled()));
    expect(failed).toMatchObject({
      id: ids[FAILING],
      name: 'broken',
      state: 'failed',
      attempts: 1,
      error: { name: 'Error', code: 'E_BROKEN' },
    });
    expect(JSON.stringify(failed)).not.toContain('secret');
    expect(timedOut).toMatchObject({ state: 'timedOut', error: { name: 'TimeoutError', code: 'ERR_BACKGROUND_TASKS_TIMEOUT' } });
    expect(flaky).toMatchObject({ state: 'succeeded', attempts: 2, result: 'second try' });
    expect(last).toMatchObject({ state: 'succeeded', result: (LENGTH - 1) ** 2 });
    expect((await request(b.app).get(`/tasks/${ids[FAILING]}`).set(ada).expect(200)).body).toEqual(failed);
    await request(b.app).get('/tasks/3b0d4f7e-0000-4000-8000-000000000000').set(ada).expect(404);

    // Once the list has finished, its records live for the ttl.
    await listDone;
    await request(b.app).get(`/tasks/${middle}`).set(ada).expect(200);
    const left = await redisClient.pttl(indexKey(queueName, middle));
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(TTL);
  }, 60_000);

  test('under stopOnError, the tasks after a failure read skipped', async () => {
    const queueName = uniqueQueueName('status-list-skip');
    redis.closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [square, broken], onError: () => {} }));
    const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })), { stopOnError: true, failAt: 1 });
    const runnerB = redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const b = webApp(runnerB);
    const { body } = await request(a.app).post('/many').set('x-user', 'ada').expect(202);
    const settled = await Promise.all([0, 1, 2, LENGTH - 1].map((i) => a.handles[i]!.settled()));
    const next = settled[2];
    expect(settled.map((r) => r.state)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    expect(next).toMatchObject({ attempts: 0, finishedAt: expect.any(String) });
    expect(next).not.toHaveProperty('startedAt');
    const read = await request(b.app).get(`/tasks/${body.ids[MIDDLE]}`).set('x-user', 'ada').expect(200);
    expect(read.body).toMatchObject({ name: 'report', state: 'skipped' });
    // The runner's record keeps the error's message (the middleware shows it only with exposeErrors).
    expect((await runnerB.record(body.ids[1]))?.record.error).toEqual({ name: 'Error', code: 'E_BROKEN', message: 'secret internals' });
    expect((await runnerB.record(body.ids[1]))?.owner).toBe('ada');
    await a.bg.drain();
  }, 30_000);

  test('a list job that fails as a whole (its data unreadable) leaves its tasks failed with its reason', async () => {
    const queueName = uniqueQueueName('status-list-broken');
    const runner = redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const a = webApp(runner);
    const { body } = await request(a.app).post('/many').set('x-user', 'ada').expect(202);
    await a.bg.drain();
    const redisClient = client();
    const listJob = JSON.parse((await redisClient.get(indexKey(queueName, body.ids[0])))!).j as string;
    await redisClient.hset(`bull:${queueName}:${listJob}`, 'data', JSON.stringify({ v: 99 }));
    const worker = redis.closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [square], onError: () => {} }));
    const [first, last] = await Promise.all([0, LENGTH - 1].map((i) => a.handles[i]!.settled()));
    expect(first).toMatchObject({ state: 'failed', attempts: 0, error: { name: 'Error' }, finishedAt: expect.any(String) });
    expect(last).toMatchObject({ state: 'failed' });
    expect((await runner.record(body.ids[0]))?.record.error?.message).toContain('format version 99');
    await worker.drain();
  }, 30_000);

  test('held in memory while Redis is down, a list reads queued; once resent, its index is stored and B reads it', async () => {
    const late = await RedisProcess.create();
    redis.closer.add({ close: () => late.stop() });
    const queueName = uniqueQueueName('status-list-late');
    const warn = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const a = webApp(redis.closer.add(bullmqRunner({ connection: late.url, queueName })));
      const { body } = await request(a.app).post('/many').set('x-user', 'ada').expect(202);
      expect(await a.handles[MIDDLE]!.status()).toMatchObject({ state: 'queued', attempts: 0 });
      await late.start();
      await a.bg.drain();
      const b = webApp(redis.closer.add(bullmqRunner({ connection: late.url, queueName })));
      const read = await request(b.app).get(`/tasks/${body.ids[MIDDLE]}`).set('x-user', 'ada').expect(200);
      expect(read.body).toMatchObject({ name: 'report', state: 'queued', attempts: 0 });
      redis.closer.add(runWorker({ connection: late.url, queueName, tasks: [square], onError: () => {} }));
      expect(await a.handles[LENGTH - 1]!.settled()).toMatchObject({ state: 'succeeded', result: (LENGTH - 1) ** 2 });
    } finally {
      warn.mockRestore();
    }
  }, 30_000);

  test('a list of 2,500 tasks: every task is indexed (several script calls), and every record expires with the ttl once it has run', async () => {
    const queueName = uniqueQueueName('status-list-long');
    const runner = redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const bg = backgroundTasks({ runner, status: { ttl: TTL } });
    const app = express();
    app.use(bg);
    const handles: TaskHandle[] = [];
    app.post('/', (_req, res) => {
      for (let i = 0; i < 2500; i++) handles.push(res.locals.background.addTask(square, i));
      res.sendStatus(202);
    });
    await request(app).post('/').expect(202);
    await bg.drain();
    expect(await Promise.all([0, 999, 1000, 2499].map(async (i) => (await handles[i]!.status())?.state))).toEqual(Array(4).fill('queued'));
    const redisClient = client();
    const events = redis.closer.add(new QueueEvents(queueName, { connection: { url: redis.server.url } }));
    await events.waitUntilReady();
    const listJob = JSON.parse((await redisClient.get(indexKey(queueName, handles[0]!.id)))!).j as string;
    const listDone = new Promise<void>((resolve) => events.on('completed', ({ jobId }) => jobId === listJob && resolve()));
    redis.closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [square] }));
    await listDone;
    expect(await handles[2499]!.status()).toMatchObject({ state: 'succeeded', result: 2499 ** 2 });
    const ttls = await Promise.all(handles.map((handle) => redisClient.pttl(indexKey(queueName, handle.id))));
    expect(ttls.filter((ttl) => !(ttl > 0 && ttl <= TTL))).toEqual([]);
    expect(await redisClient.pttl(`bull:${queueName}:ebt:list:${listJob}`)).toBeLessThanOrEqual(TTL);
  }, 30_000);

  test('without the status option, a list job stores no index and no outcomes', async () => {
    const queueName = uniqueQueueName('status-list-off');
    // This worker does not know "report": that task fails at once rather than waiting for a "go".
    const worker = redis.closer.add(
      runWorker({ connection: redis.server.url, queueName, tasks: [square, broken, stuck, flakyOnce], onError: () => {} }),
    );
    const a = webApp(redis.closer.add(bullmqRunner({ connection: redis.server.url, queueName })), { status: false });
    await request(a.app).post('/many').expect(202);
    await a.bg.drain();
    await worker.drain();
    expect(worker.stats()).toMatchObject({ succeeded: LENGTH - 3, failed: 2, timedOut: 1 });
    expect(await client().keys(`bull:${queueName}:ebt:*`)).toEqual([]);
  }, 30_000);
});
