// A BullMQ worker runs a thread task on its own thread pool: the web side enqueues it, the worker's thread runs it.
import path from 'node:path';
import { threadId as mainThreadId } from 'node:worker_threads';
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { threadPool } from '../../lib/threads/index.js';
import { appWith, deferred, settled } from '../helpers.js';
import { queuedThreadTask } from '../threads/fixtures/tasks.js';
import { describeWithRedis, uniqueQueueName, useRedis } from './support.js';

const TASKS = path.join(__dirname, '..', 'threads', 'fixtures', 'tasks.ts');

describeWithRedis('BullMQ worker with a thread pool', () => {
  const redis = useRedis();
  const { closer } = redis;

  test('the web side needs no pool; the worker runs the task on one of its threads, with its task id', async () => {
    const queueName = uniqueQueueName('threads');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const { app, bg } = appWith({ runner });
    app.post('/avatar', (_req, res) => {
      res.locals.background.addTask(queuedThreadTask, 'avatar-1');
      res.json({ queued: true });
    });
    const seen = deferred<{ label: string; threadId: number; taskId: string }>();
    const channel = new BroadcastChannel('express-background-tasks-threads-test');
    channel.onmessage = (event) => seen.resolve((event as MessageEvent).data);
    try {
      await request(app).post('/avatar').expect(200, { queued: true });
      await settled(bg);
      const threads = threadPool({ module: TASKS, maxThreads: 1 });
      closer.add(threads);
      const worker = closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [queuedThreadTask], threads }));
      const message = await seen.promise;
      expect(message.label).toBe('avatar-1');
      expect(message.threadId).not.toBe(mainThreadId);
      expect(message.taskId).toMatch(/^[0-9a-f-]{36}$/);
      await new Promise<void>((resolve) => {
        if (worker.stats().succeeded === 1) resolve();
        else worker.worker.once('completed', () => resolve());
      });
      expect(worker.stats()).toMatchObject({ succeeded: 1, failed: 0 });
    } finally {
      channel.close();
    }
  });

  test('runWorker() refuses thread tasks without a threads pool, saying which option to set', () => {
    expect(() => runWorker({ connection: redis.server.url, queueName: uniqueQueueName('nothreads'), tasks: [queuedThreadTask] })).toThrow(
      'runWorker(): task "queuedThreadTask" is defined with { thread: true }: pass threads: threadPool({ module }) from express-background-tasks/threads',
    );
  });
});
