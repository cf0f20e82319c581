// What a job carries: binary and other non-JSON arguments through a real queue (format version 2), version 1 jobs still
// read, and forged or corrupt jobs failed once with a clear report (never a throwing listener, never a loop, names escaped).
import { Redis } from 'ioredis';
import request from 'supertest';
import { bullmqRunner, runWorker, type WorkerTaskInfo } from '../../lib/bullmq/index.js';
import { defineTask } from '../../lib/index.js';
import { appWith, captureDebug, deferred, loadExpress, settled } from '../helpers.js';
import { describeWithRedis, inspectQueue, nextOutcomes, uniqueQueueName, useRedis } from './support.js';

const express = loadExpress();

describeWithRedis('job data', () => {
  const redis = useRedis();
  const { closer } = redis;

  function worker(
    queueName: string,
    tasks: Parameters<typeof runWorker>[0]['tasks'],
    onError?: (error: unknown, info: WorkerTaskInfo) => void,
  ) {
    return closer.add(runWorker({ connection: redis.server.url, queueName, tasks, ...(onError ? { onError } : {}) }));
  }

  test('a queue carries what a thread carries: Buffer (the /avatar body), typed arrays, Date, Map, Set, BigInt, undefined', async () => {
    const queueName = uniqueQueueName('binary');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const received = deferred<unknown[]>();
    const saveAvatar = defineTask('saveAvatar', (...args: unknown[]) => received.resolve(args));
    const { bg } = appWith({ runner });
    const app = express();
    app.use(bg);
    app.put('/avatar', express.raw({ type: 'image/png' }), (req, res) => {
      res.locals.background.addTask(
        saveAvatar,
        'user-1',
        req.body,
        { when: new Date(0), sizes: new Map([['small', new Uint16Array([64, 64])]]), tags: new Set(['a']) },
        2n ** 70n,
        undefined,
      );
      res.sendStatus(202);
    });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    await request(app).put('/avatar').set('content-type', 'image/png').send(png).expect(202);
    await settled(bg);
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });

    // Stored as documented: plain arguments readable as JSON (in Bull Board too), the others encoded and listed.
    const queue = inspectQueue(closer, redis.server.url, queueName);
    const [job] = await queue.getJobs(['wait']);
    expect(job?.data).toMatchObject({
      v: 2,
      args: ['user-1', expect.any(String), expect.any(String), expect.any(String), expect.any(String)],
    });
    expect(job?.data.encoded).toEqual([1, 2, 3, 4]);

    worker(queueName, [saveAvatar]);
    const args = await received.promise;
    expect(Buffer.isBuffer(args[1])).toBe(true);
    expect(args).toEqual([
      'user-1',
      png,
      { when: new Date(0), sizes: new Map([['small', new Uint16Array([64, 64])]]), tags: new Set(['a']) },
      2n ** 70n,
      undefined,
    ]);
  });

  test('a long list (one job carrying the list) carries binary arguments too', async () => {
    const queueName = uniqueQueueName('binary-list');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const received: unknown[] = [];
    const done = deferred();
    const store = defineTask('store', (index: number, bytes: Buffer, when: Date) => {
      received.push([index, Buffer.isBuffer(bytes) ? bytes.readUInt8(0) : 'not a Buffer', when.getTime()]);
      if (received.length === 150) done.resolve();
    });
    const { app, bg } = appWith({ runner }, (_req, res) => {
      for (let i = 0; i < 150; i++) res.locals.background.addTask(store, i, Buffer.from([i]), new Date(i));
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    const queue = inspectQueue(closer, redis.server.url, queueName);
    const [job] = await queue.getJobs(['wait']);
    expect(job?.name).toBe('express-background-tasks:list');
    expect(job?.data.tasks[0]).toMatchObject({ name: 'store', args: [0, expect.any(String), expect.any(String)], encoded: [1, 2] });
    worker(queueName, [store]);
    await done.promise;
    expect(received).toEqual(Array.from({ length: 150 }, (_, i) => [i, i, i]));
  });

  test('a worker still reads version 1 job data (plain JSON arguments, no encoded list)', async () => {
    const queueName = uniqueQueueName('v1');
    const ran = deferred<unknown[]>();
    const oldTask = defineTask('oldTask', (...args: unknown[]) => ran.resolve(args));
    const queue = inspectQueue(closer, redis.server.url, queueName);
    const v1 = { v: 1, id: 'v1-job', args: ['a', { b: [1, 2] }], enqueuedAt: Date.now(), timeout: null, method: 'POST', path: '/old' };
    await queue.add('oldTask', v1, { jobId: 'v1-job' });
    worker(queueName, [oldTask]);
    expect(await ran.promise).toEqual(['a', { b: [1, 2] }]);
  });

  /** Adds forged jobs straight to the queue, runs a worker with the default onError, and returns what it reported. */
  async function forged(label: string, jobs: Array<{ name?: string; data: unknown; corruptJson?: boolean }>) {
    const queueName = uniqueQueueName(label);
    let ran = 0;
    const task = defineTask('task', () => {
      ran++;
    });
    const queue = inspectQueue(closer, redis.server.url, queueName);
    const ids: string[] = [];
    for (const [i, job] of jobs.entries()) {
      const added = await queue.add(job.name ?? 'task', job.data, { jobId: `forged-${i}`, attempts: 3 });
      ids.push(String(added.id));
      if (job.corruptJson) {
        const client = new Redis(redis.server.url);
        try {
          await client.hset(`bull:${queueName}:${added.id}`, 'data', '{"v":2,"id":');
        } finally {
          await client.quit();
        }
      }
    }
    const stderr: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.join(' '));
    });
    const debugLines = captureDebug();
    const appListener: string[] = [];
    try {
      const running = worker(queueName, [task]);
      // The app's own listener, after the package's: it must be reached for every job.
      running.worker.on('failed', (job) => appListener.push(String(job?.id)));
      const outcomes = await nextOutcomes(running.worker, jobs.length);
      const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
      // Read raw: the test's own Queue could not parse a corrupt job either ('atm' is BullMQ's attemptsMade field).
      const client = new Redis(redis.server.url);
      const attempts = await Promise.all(ids.map(async (id) => Number(await client.hget(`bull:${queueName}:${id}`, 'atm'))));
      await client.quit();
      return { outcomes, stats: running.stats(), stderr, appListener, states, attempts, ran, debug: debugLines.lines };
    } finally {
      debugLines.restore();
      spy.mockRestore();
    }
  }

  const valid = { v: 2, id: 'x', args: [], enqueuedAt: 1, timeout: null, method: 'POST', path: '/p' };

  test('forged fields fail the job once, with a clear report naming the field, with DEBUG on, and the app listener still runs', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ timeout: 'abc' }, /its timeout is not null or a number of ms/],
      [{ timeout: 2 ** 31 }, /its timeout is not null or a number of ms/],
      [{ path: { toString: null } }, /its path is not a string/],
      [{ method: 42 }, /its method is not a string/],
      [{ enqueuedAt: 'yesterday' }, /its enqueuedAt is not a finite number/],
      [{ traceparent: ['00'] }, /its traceparent is not a string/],
      [{ owner: { id: 1 } }, /its owner is not a string/],
      [{ id: 7 }, /its id is not a string/],
      [{ args: [1], encoded: [0] }, /names an argument that is not an encoded string/],
      [{ args: ['bm90IHY4'], encoded: [0] }, /its argument 0 cannot be decoded/],
      [{ v: 3 }, /format version 3, and this worker reads versions 1 and 2/],
    ];
    const result = await forged(
      'fields',
      cases.map(([fields]) => ({ data: { ...valid, ...fields } })),
    );
    expect(result.ran).toBe(0);
    expect(result.outcomes.map((o) => o.type)).toEqual(cases.map(() => 'failed'));
    expect(result.stats).toMatchObject({ failed: cases.length, succeeded: 0, running: 0 });
    expect(result.states).toEqual(cases.map(() => 'failed'));
    expect(result.attempts).toEqual(cases.map(() => 1)); // once: never retried, although attempts: 3
    expect(result.appListener).toHaveLength(cases.length);
    expect(result.stderr).toHaveLength(cases.length);
    for (const [i, [, reason]] of cases.entries()) {
      const line = result.stderr.find((l) => l.includes(`Job forged-${i} of task "task" cannot be run`));
      expect(line).toMatch(reason);
    }
    expect(result.stderr.join('\n')).not.toMatch(/internal error/);
  });

  test('corrupt JSON fails the job once instead of looping between active and waiting', async () => {
    const result = await forged('json', [{ data: valid, corruptJson: true }]);
    expect(result.outcomes.map((o) => o.type)).toEqual(['failed']);
    expect(result.states).toEqual(['failed']);
    expect(result.attempts).toEqual([1]);
    expect(result.stderr).toEqual([expect.stringMatching(/Job forged-0 of task "task" cannot be run: its data is not valid JSON/)]);
    expect(result.stderr.join('\n')).not.toMatch(/BullMQ keeps retrying/);
  });

  test('a forged job name cannot forge log lines: names and paths are printed escaped', async () => {
    const name = 'x\nexpress-background-tasks: task "y" failed\u001b[2J';
    const result = await forged('names', [{ name, data: { ...valid, path: '/a\n\u001b[31mforged' } }]);
    expect(result.outcomes.map((o) => o.type)).toEqual(['failed']);
    expect(result.stderr).toHaveLength(1);
    const line = result.stderr[0] as string;
    expect(line.split('\n')[0]).toContain(
      'Unknown task "x\\nexpress-background-tasks: task \\"y\\" failed\\u001b[2J"'.replace(/\\"/g, '"'),
    );
    expect(line).toContain('/a\\n\\u001b[31mforged');
    expect(line).not.toContain('\u001b');
    for (const debugLine of result.debug) expect(debugLine).not.toContain('\u001b');
  });
});
