// The BullMQ runner and worker against a real redis-server: round trip, order, isolation, retries, stopOnError, unknown tasks, timeouts, drain.
import { setImmediate as nextTurn } from 'node:timers/promises';
import request from 'supertest';
import { bullmqRunner, runWorker, type WorkerTaskInfo } from '../../lib/bullmq/index.js';
import { defineTask, taskId, taskSignal } from '../../lib/index.js';
import { appWith, deferred, settled } from '../helpers.js';
import { describeWithRedis, inspectQueue, jobsLeft, nextOutcomes, uniqueQueueName, useRedis } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describeWithRedis('BullMQ runner and worker', () => {
  const redis = useRedis();
  const { closer } = redis;

  function setup(label: string) {
    const queueName = uniqueQueueName(label);
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const failures: Array<{ error: unknown; info: WorkerTaskInfo }> = [];
    const worker = (tasks: Parameters<typeof runWorker>[0]['tasks'], concurrency = 1) =>
      closer.add(
        runWorker({
          connection: redis.server.url,
          queueName,
          tasks,
          concurrency,
          onError: (error, info) => failures.push({ error, info }),
        }),
      );
    return { queueName, runner, failures, worker, queue: inspectQueue(closer, redis.server.url, queueName) };
  }

  test('round trip: the response answers, its task is stored as documented, and a worker runs it with its args and task id', async () => {
    const { runner, worker, queue, failures } = setup('roundtrip');
    const ran = deferred<{ args: unknown[]; id: string | undefined }>();
    const sendEmail = defineTask(
      'sendEmail',
      async (email: string, options: { urgent: boolean }) => ran.resolve({ args: [email, options], id: taskId() }),
      { retries: 2, backoff: { type: 'exponential', delay: 100 } },
    );
    const { app, bg } = appWith({ runner });
    app.post('/register', (_req, res) => {
      res.locals.background.addTask(sendEmail, 'ada@example.com', { urgent: true });
      res.json({ registered: true });
    });

    await request(app).post('/register?token=secret').expect(200, { registered: true });
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 1, failed: 0 });

    // No worker yet: the job waits in Redis, in the documented format.
    const [job, ...others] = await queue.getJobs(['wait']);
    expect(others).toEqual([]);
    expect(job?.name).toBe('sendEmail');
    expect(job?.id).toMatch(UUID);
    expect(job?.data).toEqual({
      v: 2,
      id: job?.id,
      args: ['ada@example.com', { urgent: true }],
      enqueuedAt: expect.any(Number),
      timeout: null,
      method: 'POST',
      path: '/register',
    });
    expect(job?.opts).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential', delay: 100 },
      removeOnComplete: true,
      removeOnFail: true,
    });

    const running = worker([sendEmail]);
    const outcomes = nextOutcomes(running.worker, 1);
    expect(await ran.promise).toEqual({ args: ['ada@example.com', { urgent: true }], id: job?.id });
    expect((await outcomes).map((o) => o.type)).toEqual(['completed']);
    expect(running.stats()).toMatchObject({ succeeded: 1, failed: 0, running: 0 });
    expect(failures).toEqual([]);
    // Removed once finished: the arguments do not stay in Redis.
    expect(await jobsLeft(queue)).toBe(0);
  });

  test("a list's tasks run one after another in the order added, even with worker concurrency; a failure does not stop the next", async () => {
    const { runner, worker, failures } = setup('order');
    const log: string[] = [];
    const step = defineTask('step', async (list: number, label: string) => {
      log.push(`${list} start ${label}`);
      for (let i = 0; i < 5; i++) await nextTurn();
      log.push(`${list} end ${label}`);
      if (label === 'b') throw new Error(`step b of list ${list} failed`);
    });
    const { app, bg } = appWith({ runner });
    app.post('/list/:n', (req, res) => {
      const n = Number(req.params.n);
      for (const label of ['a', 'b', 'c', 'd']) res.locals.background.addTask(step, n, label);
      res.sendStatus(204);
    });
    await Promise.all([request(app).post('/list/1').expect(204), request(app).post('/list/2').expect(204)]);
    await settled(bg);

    const running = worker([step], 4);
    const outcomes = await nextOutcomes(running.worker, 8);
    expect(outcomes.filter((o) => o.type === 'failed').map((o) => o.job.data.args)).toEqual(
      expect.arrayContaining([
        [1, 'b'],
        [2, 'b'],
      ]),
    );
    for (const list of [1, 2]) {
      const own = log.filter((line) => line.startsWith(`${list} `)).map((line) => line.slice(2));
      expect(own).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
    }
    expect(failures.map((f) => f.info)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'step', method: 'POST', url: '/list/1', attempts: 1, taskId: expect.stringMatching(UUID) }),
      ]),
    );
    expect(failures).toHaveLength(2);
    expect(running.stats()).toMatchObject({ succeeded: 6, failed: 2, skipped: 0 });
  });

  test('retries map to BullMQ attempts with the same task id, waiting the backoff between them', async () => {
    const { runner, worker, failures, queue } = setup('retries');
    const ids: Array<string | undefined> = [];
    const flaky = defineTask(
      'flaky',
      async () => {
        ids.push(taskId());
        if (ids.length < 3) throw new Error(`attempt ${ids.length} failed`);
      },
      { retries: 3, backoff: { type: 'exponential', delay: 20 } },
    );
    const hopeless = defineTask(
      'hopeless',
      () => {
        throw new Error('never works');
      },
      { retries: 1, backoff: { type: 'fixed', delay: 10 } },
    );
    const { app, bg } = appWith({ runner });
    app.get('/', (_req, res) => {
      res.locals.background.addTask(flaky);
      res.end();
    });
    app.get('/hopeless', (_req, res) => {
      res.locals.background.addTask(hopeless);
      res.end();
    });
    await request(app).get('/').expect(200);
    await settled(bg);
    const running = worker([flaky, hopeless]);
    const flakyOutcomes = await nextOutcomes(running.worker, 3);
    expect(flakyOutcomes.map((o) => o.type)).toEqual(['failed', 'failed', 'completed']);
    // BullMQ's delay before each retry: exponential, delay * 2^(attempt - 1), as in-process.
    expect(flakyOutcomes.slice(0, 2).map((o) => o.job.delay)).toEqual([20, 40]);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(UUID);
    expect(failures).toEqual([]);

    const hopelessOutcomes = nextOutcomes(running.worker, 2);
    await request(app).get('/hopeless').expect(200);
    await settled(bg);
    // A fixed backoff before the retry; none after the last attempt.
    expect((await hopelessOutcomes).map((o) => [o.type, o.job.delay])).toEqual([
      ['failed', 10],
      ['failed', 0],
    ]);
    expect(failures.map((f) => [f.info.name, f.info.attempts, (f.error as Error).message])).toEqual([['hopeless', 2, 'never works']]);
    expect(running.stats()).toMatchObject({ succeeded: 1, failed: 1 });
    expect(await jobsLeft(queue)).toBe(0);
  });

  test('stopOnError: after a task fails for good, the rest of its list is not run and the worker counts it as skipped', async () => {
    const { runner, worker, failures, queue } = setup('stop');
    const ran: string[] = [];
    const step = defineTask('step', (label: string) => {
      ran.push(label);
    });
    const boom = defineTask(
      'boom',
      () => {
        ran.push('boom');
        throw new Error('boom');
      },
      { retries: 1 },
    );
    const { app, bg } = appWith({ runner, stopOnError: true });
    app.get('/', (_req, res) => {
      res.locals.background.addTask(step, 'a');
      res.locals.background.addTask(boom);
      res.locals.background.addTask(step, 'c');
      res.locals.background.addTask(step, 'd');
      res.end();
    });
    await request(app).get('/').expect(200);
    await settled(bg);
    const running = worker([step, boom]);
    // a completes, boom fails twice (one retry), then c and d fail without running.
    const outcomes = await nextOutcomes(running.worker, 5);
    expect(outcomes.map((o) => `${o.type} ${o.job.name}`)).toEqual([
      'completed step',
      'failed boom',
      'failed boom',
      'failed step',
      'failed step',
    ]);
    expect(ran).toEqual(['a', 'boom', 'boom']);
    expect(failures.map((f) => [f.info.name, f.info.attempts])).toEqual([['boom', 2]]);
    expect(running.stats()).toMatchObject({ succeeded: 1, failed: 1, skipped: 2 });
    // Only the list's last job is left, kept a while after it finished so that a resend can tell the list was stored.
    expect(await jobsLeft(queue)).toBe(1);
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 1 });
  });

  test('a job whose task the worker does not know fails at once, unrecoverably, and the next task of the list still runs', async () => {
    const { runner, worker, failures } = setup('unknown');
    const ghost = defineTask('ghost', () => undefined, { retries: 5 });
    const ran = deferred<string>();
    const known = defineTask('known', (label: string) => ran.resolve(label));
    const { app, bg } = appWith({ runner });
    app.get('/', (_req, res) => {
      res.locals.background.addTask(ghost);
      res.locals.background.addTask(known, 'after the ghost');
      res.end();
    });
    await request(app).get('/').expect(200);
    await settled(bg);
    const running = worker([known]);
    const outcomes = await nextOutcomes(running.worker, 2);
    expect(outcomes.map((o) => `${o.type} ${o.job.name}`)).toEqual(['failed ghost', 'completed known']);
    expect(await ran.promise).toBe('after the ghost');
    expect(outcomes[0]?.error?.name).toBe('UnrecoverableError');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'ghost', attempts: 1 });
    expect((failures[0]?.error as Error).message).toMatch(/Unknown task "ghost" in queue "[^"]+": this worker runs only "known"/);
  });

  test("each attempt has its timeout (the task's own, else the middleware's) and an AbortSignal that aborts at it", async () => {
    const { runner, worker, failures } = setup('timeout');
    const reasons: unknown[] = [];
    const waitForAbort = async (): Promise<void> => {
      const signal = taskSignal();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      reasons.push(signal.reason);
      throw signal.reason;
    };
    const ownTimeout = defineTask('ownTimeout', waitForAbort, { timeout: 30 });
    const middlewareTimeout = defineTask('middlewareTimeout', waitForAbort);
    const { app, bg } = appWith({ runner, timeout: 40 });
    app.get('/', (_req, res) => {
      res.locals.background.addTask(ownTimeout);
      res.locals.background.addTask(middlewareTimeout);
      res.end();
    });
    await request(app).get('/').expect(200);
    await settled(bg);
    const running = worker([ownTimeout, middlewareTimeout]);
    const outcomes = await nextOutcomes(running.worker, 2);
    expect(outcomes.map((o) => o.job.data.timeout)).toEqual([30, 40]);
    expect(reasons.map((r) => [(r as Error).name, (r as Error).message])).toEqual([
      ['TimeoutError', 'Background task "ownTimeout" timed out after 30 ms'],
      ['TimeoutError', 'Background task "middlewareTimeout" timed out after 40 ms'],
    ]);
    expect(failures.map((f) => f.info.name)).toEqual(['ownTimeout', 'middlewareTimeout']);
    expect(running.stats()).toMatchObject({ timedOut: 2, failed: 0 });
  });

  test('drain() waits until every list is stored in Redis', async () => {
    const { runner, queue } = setup('drain');
    const step = defineTask('step', (_label: string) => undefined);
    const { app, bg } = appWith({ runner });
    app.get('/:n', (req, res) => {
      res.locals.background.addTask(step, `${req.params.n} first`);
      res.locals.background.addTask(step, `${req.params.n} second`);
      res.end();
    });
    await Promise.all([1, 2, 3].map((n) => request(app).get(`/${n}`).expect(200)));
    const result = await bg.drain();
    expect(result).toEqual({ drained: true, pending: 0 });
    // With no worker: each list's first task waits, its second waits for it.
    expect(await queue.getJobCounts('wait', 'waiting-children')).toEqual({ wait: 3, 'waiting-children': 3 });
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 6, failed: 0 });
  });
});
