// Acknowledged means stored: flush(), handOff 'before-response', and the bounded hand-off buffer (default maxQueued with a runner).
import { format } from 'node:util';
import { Queue } from 'bullmq';
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { type BackgroundTasksOptions, defineTask } from '../../lib/index.js';
import { MAX_QUEUED_WITH_RUNNER } from '../../lib/options.js';
import { appWith, captureDebug, collectErrors, deferred, settled } from '../helpers.js';
import { RedisProcess } from './redis-process.js';
import { Closer, deadRedisUrl, describeWithRedis, inspectQueue, jobsLeft, nextOutcomes, uniqueQueueName, useRedis } from './support.js';

const events: string[] = [];
let release = deferred();
const step = defineTask('step', async (name: string) => {
  events.push(`${name} start`);
  if (name === 'hold') await release.promise;
  events.push(`${name} end`);
});

/** The runner's warn() lines are expected in these tests: kept for assertions, not printed. */
function quietStderr(): string[] {
  const lines: string[] = [];
  jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    lines.push(format(...args));
  });
  return lines;
}

describeWithRedis('flush() and handOff', () => {
  const redis = useRedis();
  const { closer } = redis;
  beforeEach(() => {
    events.length = 0;
    release = deferred();
  });
  afterEach(() => jest.restoreAllMocks());

  function setup(options: Partial<BackgroundTasksOptions> = {}, connection?: string) {
    const queueName = uniqueQueueName('flush');
    const url = connection ?? redis.server.url;
    const runner = closer.add(bullmqRunner({ connection: url, queueName, enqueueTimeout: 500 }));
    const { failures, onError } = collectErrors();
    const { app, bg } = appWith({ runner, onError, ...options });
    const queue = inspectQueue(closer, redis.server.url, queueName);
    const worker = (concurrency = 4) => closer.add(runWorker({ connection: url, queueName, tasks: [step], concurrency }));
    return { runner, failures, app, bg, queue, worker };
  }

  test('flush() resolves once the tasks are in Redis, before the route answers; they count as stored', async () => {
    const { app, bg, queue, failures } = setup();
    app.post('/', async (_req, res) => {
      res.locals.background.addTask(step, 'a');
      await res.locals.background.flush();
      res.json({ stored: await jobsLeft(queue), stats: bg.stats() });
    });
    const { body } = await request(app).post('/').expect(200);
    expect(body).toEqual({ stored: 1, stats: expect.objectContaining({ queued: 0, succeeded: 1, failed: 0 }) });
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 1 });
    expect(failures).toEqual([]);
  });

  test('order is kept across a flush(): tasks added after it start only once the flushed part has finished', async () => {
    const { app, bg, worker } = setup();
    app.post('/', async (_req, res) => {
      res.locals.background.addTask(step, 'a');
      res.locals.background.addTask(step, 'hold');
      await res.locals.background.flush();
      res.locals.background.addTask(step, 'c');
      res.locals.background.addTask(step, 'd');
      res.json({ ok: true });
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    const debugOutput = captureDebug();
    try {
      const running = worker(4);
      const done = nextOutcomes(running.worker, 4);
      // 'c' is taken while 'hold' runs, and sent back to wait: only then is 'hold' let go.
      while (!debugOutput.lines.some((line) => /task step \(job \S+\) waits \d+ms for the earlier part of its list/.test(line))) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      release.resolve();
      await done;
    } finally {
      debugOutput.restore();
    }
    expect(events).toEqual(['a start', 'a end', 'hold start', 'hold end', 'c start', 'c end', 'd start', 'd end']);
  });

  test('flush() twice, and with nothing new: each part is stored once, in order', async () => {
    const { app, bg, queue, worker } = setup();
    app.post('/', async (_req, res) => {
      const background = res.locals.background;
      await background.flush(); // nothing added yet
      background.addTask(step, 'a');
      await background.flush();
      await background.flush(); // nothing new
      background.addTask(step, 'b');
      await background.flush();
      res.json({ stored: await jobsLeft(queue) });
    });
    expect((await request(app).post('/').expect(200)).body).toEqual({ stored: 2 });
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 2, failed: 0 });
    const running = worker(4);
    await nextOutcomes(running.worker, 2);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  test('flush() without a runner resolves at once; the tasks still run after the response', async () => {
    const { app, bg } = appWith();
    app.post('/', async (_req, res) => {
      res.locals.background.addTask(step, 'a');
      await res.locals.background.flush();
      res.json({ ranBeforeAnswer: events.length > 0 });
    });
    expect((await request(app).post('/').expect(200)).body).toEqual({ ranBeforeAnswer: false });
    await settled(bg);
    expect(events).toEqual(['a start', 'a end']);
  });

  test('flush() with Redis down rejects with an EnqueueError; the route answers 503; nothing is counted or reported', async () => {
    const stderr = quietStderr();
    const { runner, app, bg, failures } = setup({}, await deadRedisUrl());
    app.post('/', async (_req, res) => {
      res.locals.background.addTask(step, 'a');
      try {
        await res.locals.background.flush();
        res.json({ ok: true });
      } catch (error) {
        res.status(503).json({ name: (error as Error).name, message: (error as Error).message });
      }
    });
    const { body } = await request(app).post('/').expect(503);
    expect(body).toEqual({
      name: 'EnqueueError',
      message: expect.stringMatching(/^Could not enqueue 1 task to BullMQ queue "[^"]+": not stored within enqueueTimeout \(500 ms\)/),
    });
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 0, failed: 0 });
    expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: 0, givenUp: 0 });
    expect(failures).toEqual([]);
    expect(stderr.filter((line) => line.includes('gave up'))).toEqual([]);
  });

  test('status records: a task held in memory reads queued; one whose flush() failed reads failed, not queued for ever', async () => {
    quietStderr();
    const { app, bg } = setup({ status: true }, await deadRedisUrl());
    const records: Array<Promise<unknown>> = [];
    app.post('/held', (_req, res) => {
      const handle = res.locals.background.addTask(step, 'held');
      res.json({ id: handle.id });
      res.on('finish', () => records.push(handle.status())); // after the answer: held in memory, Redis being down
    });
    app.post('/flushed', async (_req, res) => {
      const handle = res.locals.background.addTask(step, 'flushed');
      await res.locals.background.flush().catch(() => undefined);
      res.json({ record: await handle.status() });
    });
    await request(app).post('/held').expect(200);
    expect(await Promise.all(records)).toEqual([expect.objectContaining({ state: 'queued' })]);
    await bg.drain({ timeout: 1 }); // gives the held task up: it is reported failed from then on
    const { body } = await request(app).post('/flushed').expect(200);
    expect(body.record).toMatchObject({ state: 'failed' });
  });

  test("handOff 'before-response': the list is in Redis when the response arrives; Redis down gives a 503", async () => {
    const stored = setup({ handOff: 'before-response' });
    stored.app.post('/', (_req, res) => {
      res.locals.background.addTask(step, 'a');
      res.json({ ok: true });
    });
    await request(stored.app).post('/').expect(200, { ok: true });
    expect(await jobsLeft(stored.queue)).toBe(1); // no drain: stored before the answer
    await settled(stored.bg);
    expect(stored.bg.stats()).toMatchObject({ queued: 0, succeeded: 1 });

    quietStderr();
    const down = setup({ handOff: 'before-response' }, await deadRedisUrl());
    down.app.post('/', (_req, res) => {
      res.locals.background.addTask(step, 'a');
      res.set('x-route', 'yes').json({ ok: true });
    });
    const refused = await request(down.app).post('/').expect(503);
    expect(refused.headers['x-route']).toBeUndefined();
    expect(refused.body).toEqual({ error: "The request's background tasks could not be stored; try again later." });
    await settled(down.bg);
    expect(down.bg.stats()).toMatchObject({ queued: 0, succeeded: 0, failed: 0 });
    expect(down.failures).toEqual([]);
  });

  test("handOff 'before-response': a response that skip() skips is not stored, and its tasks count as skipped", async () => {
    const { app, bg, queue } = setup({ handOff: 'before-response' });
    app.post('/', (_req, res) => {
      res.locals.background.addTask(step, 'a');
      res.status(500).json({ failed: true });
    });
    await request(app).post('/').expect(500);
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0, skipped: 1 });
    expect(await jobsLeft(queue)).toBe(0);
  });

  test('handOff is checked', () => {
    expect(() => appWith({ handOff: 'later' as never })).toThrow(
      /^backgroundTasks\(\): option "handOff" must be 'after-response' or 'before-response'; received the string "later"/,
    );
  });
});

describeWithRedis('the hand-off buffer is bounded by default with a runner', () => {
  const closer = new Closer();
  let redis: RedisProcess;
  beforeEach(async () => {
    redis = await RedisProcess.create();
    await redis.start();
  });
  afterEach(async () => {
    redis.resume();
    await closer.closeAll();
    await redis.stop();
    jest.restoreAllMocks();
  });

  test(`with Redis frozen, tasks past ${MAX_QUEUED_WITH_RUNNER} waiting to be stored get 503; every accepted one is stored once it wakes`, async () => {
    const stderr = quietStderr();
    const queueName = uniqueQueueName('bounded');
    const runner = closer.add(bullmqRunner({ connection: redis.url, queueName, enqueueTimeout: 300 }));
    const { app, bg } = appWith({ runner });
    app.post('/', (req, res) => {
      for (let i = 0; i < Number(req.query.n); i++) res.locals.background.addTask(step, `t${i}`);
      res.json({ ok: true });
    });
    await request(app).post('/?n=1').expect(200); // connected before the freeze
    await settled(bg);
    redis.freeze();
    await request(app)
      .post(`/?n=${MAX_QUEUED_WITH_RUNNER - 1}`)
      .expect(200);
    expect(bg.stats().queued).toBe(MAX_QUEUED_WITH_RUNNER - 1);
    await request(app).post('/?n=1').expect(200);
    await request(app).post('/?n=1').expect(503);
    expect(bg.stats().queued).toBe(MAX_QUEUED_WITH_RUNNER);
    // The first try timed out with its commands written: Redis runs them when it wakes, and the resend too.
    while (!stderr.some((line) => line.includes('lost Redis (Error: no answer from Redis within 300 ms'))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    redis.resume();
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: MAX_QUEUED_WITH_RUNNER + 1, failed: 0 });
    expect(runner.stats()).toMatchObject({ buffered: 0, givenUp: 0 });
    // Each list stored once, although the long one (one job) was sent into the frozen Redis and sent again.
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    try {
      const jobs = await queue.getJobs(['wait']);
      expect(jobs.map((job) => (Array.isArray(job.data.tasks) ? job.data.tasks.length : 1)).sort((a, b) => a - b)).toEqual([
        1,
        1,
        MAX_QUEUED_WITH_RUNNER - 1,
      ]);
    } finally {
      await queue.close();
    }
  });
});
