// The runner's buffer: tasks kept in memory while Redis is unreachable, sent once it answers, bounded by maxQueued, given up only at drain()'s deadline or close().
import path from 'node:path';
import { format } from 'node:util';
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { defineTask, type TaskInfo } from '../../lib/index.js';
import { debug } from '../../lib/report.js';
import { appWith, Child, type Deferred, deferred, killChildren, settled } from '../helpers.js';
import { RedisProcess } from './redis-process.js';
import { Closer, describeWithRedis, inspectQueue, nextOutcomes, uniqueQueueName } from './support.js';

const QUEUE_PROCESS = path.join(__dirname, 'queue-process.ts');
const first = defineTask('first', (_arg: string) => undefined);
const second = defineTask('second', (_arg: string) => undefined);

/** The package's stderr lines (warn()), captured; `when(pattern)` resolves at the first line that matches. */
class Stderr {
  readonly lines: string[] = [];
  readonly #waiters: Array<{ pattern: RegExp; done: Deferred<string> }> = [];

  constructor() {
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      const line = format(...args);
      this.lines.push(line);
      for (const waiter of this.#waiters) if (waiter.pattern.test(line)) waiter.done.resolve(line);
    });
  }

  when(pattern: RegExp): Promise<string> {
    const done = deferred<string>();
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen !== undefined) done.resolve(seen);
    else this.#waiters.push({ pattern, done });
    return done.promise;
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }
}

describeWithRedis('the runner keeps tasks in memory while Redis is unreachable', () => {
  const closer = new Closer();
  let redis: RedisProcess;
  let stderr: Stderr;
  beforeEach(async () => {
    redis = await RedisProcess.create();
    stderr = new Stderr();
  });
  afterEach(async () => {
    await closer.closeAll();
    await redis.stop();
    await killChildren();
    jest.restoreAllMocks();
  });

  /** An app whose POST /add?arg=x adds `first` (and `second` too with &two=1). */
  function app(options: { maxQueued?: number; enqueueTimeout?: number } = {}) {
    const queueName = uniqueQueueName('buffer');
    const runner = closer.add(bullmqRunner({ connection: redis.url, queueName, enqueueTimeout: options.enqueueTimeout ?? 5000 }));
    const failures: Array<{ error: Error; info: TaskInfo }> = [];
    const { app, bg: middleware } = appWith({
      runner,
      ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
      onError: (error, info) => failures.push({ error: error as Error, info }),
    });
    app.post('/add', (req, res) => {
      res.locals.background.addTask(first, String(req.query.arg));
      if (req.query.two) res.locals.background.addTask(second, String(req.query.arg));
      res.json({ ok: true });
    });
    const worker = () => closer.add(runWorker({ connection: redis.url, queueName, tasks: [first, second], concurrency: 4 }));
    return { queueName, runner, middleware, failures, worker, http: app };
  }

  test('started while Redis is down: tasks wait as queued, one line says so, and they run once Redis starts', async () => {
    const { runner, middleware, failures, worker, http } = app();
    for (const arg of ['a', 'b', 'c']) await request(http).post(`/add?arg=${arg}`).expect(200);
    await stderr.when(/cannot reach Redis at start-up/);
    expect(middleware.stats()).toMatchObject({ queued: 3, running: 0, succeeded: 0, failed: 0 });
    expect(runner.stats()).toMatchObject({ buffered: 3, enqueued: 0, givenUp: 0 });

    await redis.start();
    const ran = nextOutcomes(worker().worker, 3);
    await settled(middleware);
    expect((await ran).map((o) => [o.type, o.job.data.args[0]]).sort()).toEqual([
      ['completed', 'a'],
      ['completed', 'b'],
      ['completed', 'c'],
    ]);
    expect(middleware.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 3, failed: 0 });
    expect(runner.stats()).toEqual({ buffered: 0, enqueued: 3, retries: expect.any(Number), givenUp: 0 });
    expect(failures).toEqual([]);
    // One line when it could not reach Redis, one when it could: not one per task or per reconnect.
    await stderr.when(/Redis answers again/);
    expect(stderr.lines).toEqual([
      expect.stringMatching(
        /^express-background-tasks: queue "[^"]+": cannot reach Redis at start-up \(.*ECONNREFUSED.*\); tasks are kept in memory/,
      ),
      expect.stringMatching(/^express-background-tasks: queue "[^"]+": Redis answers again; sending the \d tasks kept in memory$/),
    ]);
  });

  test('Redis killed and restarted: held tasks are stored about half a second after it is back, and said so once each way', async () => {
    await redis.start();
    const { runner, middleware, failures, worker, http } = app();
    await request(http).post('/add?arg=before').expect(200);
    await settled(middleware);
    await redis.kill();
    await stderr.when(/lost Redis/);
    for (const arg of ['a', 'b']) await request(http).post(`/add?arg=${arg}`).expect(200);
    expect(runner.stats()).toMatchObject({ buffered: 2, enqueued: 1 });

    await redis.start();
    const back = performance.now();
    await settled(middleware);
    const stored = performance.now() - back;
    // Reconnects at most 500 ms apart (with jitter), then the resend: the README's "about half a second"; 1.5 s for a busy machine.
    expect(stored).toBeLessThan(1500);
    const ran = nextOutcomes(worker().worker, 2);
    expect((await ran).map((o) => o.job.data.args[0]).sort()).toEqual(['a', 'b']);
    expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: 3, givenUp: 0 });
    expect(failures).toEqual([]);
    await stderr.when(/Redis answers again/);
    expect(stderr.matching(/lost Redis|cannot reach|answers again/)).toEqual([
      expect.stringMatching(/: lost Redis \(/),
      expect.stringMatching(/: Redis answers again; sending the 2 tasks kept in memory$/),
    ]);
  });

  test('maxQueued bounds the buffer: past it, 503; every task accepted runs once Redis is back', async () => {
    const { runner, middleware, failures, worker, http } = app({ maxQueued: 3 });
    const statuses: number[] = [];
    for (const arg of ['a', 'b', 'c', 'd', 'e']) statuses.push((await request(http).post(`/add?arg=${arg}`)).status);
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    expect(middleware.stats()).toMatchObject({ queued: 3 });
    expect(runner.stats().buffered).toBe(3);

    await redis.start();
    const ran = nextOutcomes(worker().worker, 3);
    await settled(middleware);
    expect((await ran).map((o) => o.job.data.args[0]).sort()).toEqual(['a', 'b', 'c']);
    expect(middleware.stats()).toMatchObject({ queued: 0, succeeded: 3, failed: 0 });
    expect(failures).toEqual([]);
    // Room again: the next request is accepted.
    await request(http).post('/add?arg=f').expect(200);
  });

  test('close() with tasks still in memory: each reported to onError as never stored, counted, named in one line', async () => {
    const { runner, middleware, failures, http } = app();
    await request(http).post('/add?arg=a').expect(200);
    await request(http).post('/add?arg=b&two=1').expect(200);
    expect(middleware.stats()).toMatchObject({ queued: 3 });

    expect(await runner.close()).toEqual({ givenUp: 3, tasks: { first: 2, second: 1 } });
    expect(await middleware.drain()).toEqual({ drained: true, pending: 0 });
    expect(middleware.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 0, failed: 3 });
    expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: 0, givenUp: 3 });
    expect(failures.map((f) => f.info.name).sort()).toEqual(['first', 'first', 'second']);
    for (const { error } of failures) {
      expect(error).toMatchObject({ name: 'EnqueueError', code: 'ERR_BACKGROUND_TASKS_ENQUEUE' });
      expect(error.message).toMatch(/^Could not enqueue [12] tasks? to BullMQ queue "[^"]+": never stored in Redis: the runner was closed/);
    }
    expect(stderr.matching(/gave up/)).toEqual([
      expect.stringMatching(/: gave up 3 tasks never stored in Redis \(the runner was closed\): first x2, second x1$/),
    ]);
  });

  test('drain({ timeout }) with tasks still in memory: given up at the deadline, reported and counted; later tasks still go', async () => {
    const { runner, middleware, failures, worker, http } = app();
    await request(http).post('/add?arg=a').expect(200);
    await request(http).post('/add?arg=b').expect(200);

    expect(await middleware.drain({ timeout: 200 })).toEqual({ drained: false, pending: 2 });
    expect(middleware.stats()).toMatchObject({ queued: 0, failed: 2 });
    expect(runner.stats()).toMatchObject({ buffered: 0, givenUp: 2 });
    expect(failures.map((f) => f.error.message)).toEqual([
      expect.stringMatching(/never stored in Redis: given up at the middleware's drain\(\) deadline \(AbortError: .*200 ms/),
      expect.stringMatching(/never stored in Redis: given up at the middleware's drain\(\) deadline/),
    ]);

    // A task added after the deadline is kept like any other, and stored once Redis answers.
    await request(http).post('/add?arg=c').expect(200);
    await redis.start();
    const ran = nextOutcomes(worker().worker, 1);
    await settled(middleware);
    expect((await ran).map((o) => o.job.data.args[0])).toEqual(['c']);
    expect(runner.stats()).toMatchObject({ enqueued: 1, givenUp: 2 });
  });

  test('a web process shutting down with tasks in memory reports them and exits', async () => {
    const web = new Child(QUEUE_PROCESS, {
      ROLE: 'web',
      REDIS_URL: redis.url,
      QUEUE_NAME: uniqueQueueName('buffer-exit'),
      DRAIN_TIMEOUT_MS: '300',
    });
    const { port } = (await web.message('listening')) as unknown as { port: number };
    for (const arg of ['a', 'b', 'c'])
      expect((await fetch(`http://127.0.0.1:${port}/add?arg=${arg}`, { method: 'POST' })).status).toBe(200);
    expect(await web.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await web.message('shutdown')).toMatchObject({
      drained: { drained: false, pending: 3 },
      closed: { givenUp: 3, tasks: { record: 3 } },
      stats: { queued: 0, failed: 3 },
      runner: { buffered: 0, givenUp: 3 },
    });
    expect(web.lines.filter((line) => line.includes('"event":"error"'))).toHaveLength(3);
    expect(web.stderr).toMatch(/gave up 3 tasks never stored in Redis \(given up at the middleware's drain\(\) deadline .*\): record x3/);
    expect(web.stderr).not.toMatch(/"a"|"b"|"c"/); // never the arguments
  });

  test('an enqueue caught by a frozen Redis (SIGSTOP) and resent: every task runs exactly once', async () => {
    await redis.start();
    const { queueName, runner, middleware, failures, worker, http } = app({ enqueueTimeout: 300 });
    const running = worker();
    await running.worker.waitUntilReady();
    const runs: string[] = [];
    running.worker.on('completed', (job) => runs.push(`${job.name}:${job.data.args[0]}`));
    // A first list stored, so that the runner's connection is up before Redis freezes.
    const warmedUp = nextOutcomes(running.worker, 1);
    await request(http).post('/add?arg=warm-up').expect(200);
    await settled(middleware);
    await warmedUp;
    const ran = nextOutcomes(running.worker, 3);

    redis.freeze();
    try {
      await request(http).post('/add?arg=one').expect(200);
      await request(http).post('/add?arg=chain&two=1').expect(200);
      // The first try has timed out with its commands written: Redis will run them when it wakes, and the resends.
      await stderr.when(/lost Redis \(Error: no answer from Redis within 300 ms/);
    } finally {
      redis.resume();
    }
    await ran;
    await settled(middleware);
    // Nothing is left to run: a second copy of any job would show here or in the runs.
    const queue = inspectQueue(closer, redis.url, queueName);
    expect(await queue.getJobCounts('wait', 'active', 'delayed', 'waiting-children', 'prioritized')).toEqual({
      wait: 0,
      active: 0,
      delayed: 0,
      'waiting-children': 0,
      prioritized: 0,
    });
    expect(runs.sort()).toEqual(['first:chain', 'first:one', 'first:warm-up', 'second:chain']);
    expect(middleware.stats()).toMatchObject({ succeeded: 4, failed: 0 });
    expect(runner.stats()).toMatchObject({ enqueued: 4, retries: expect.any(Number), givenUp: 0 });
    expect(runner.stats().retries).toBeGreaterThanOrEqual(1); // at least the first list was sent again
    expect(failures).toEqual([]);
  });

  test('debug output says "enqueued" for the web side of a queued task', async () => {
    await redis.start();
    const { middleware, http } = app();
    const lines: string[] = [];
    const { enabled, log } = debug;
    debug.enabled = true;
    debug.log = (...args: unknown[]) => lines.push(format(...args));
    try {
      await request(http).post('/add?arg=a').expect(200);
      await settled(middleware);
    } finally {
      debug.enabled = enabled;
      debug.log = log;
    }
    expect(lines).toContainEqual(expect.stringMatching(/task first enqueued in \S+ \(POST \/add\)/));
    expect(lines.join('\n')).not.toMatch(/succeeded/);
  });
});
