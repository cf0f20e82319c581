// worker.drain() against a real redis-server: an integration test's wait for the worker (chains, retries with backoff), and its deadline.
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { defineTask, InvalidArgumentError } from '../../lib/index.js';
import { watchTasks } from '../../lib/testing/index.js';
import { appWith, deferred } from '../helpers.js';
import { describeWithRedis, uniqueQueueName, useRedis } from './support.js';

describeWithRedis('worker.drain()', () => {
  const redis = useRedis();
  const { closer } = redis;

  test('resolves once the chain and a retried task (backoff) have run; nothing pending then', async () => {
    const queueName = uniqueQueueName('drain');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const done: string[] = [];
    let tries = 0;
    const first = defineTask('first', (id: string) => {
      done.push(`first ${id}`);
    });
    const flaky = defineTask(
      'flaky',
      (id: string) => {
        tries++;
        if (tries < 2) throw new Error('not yet');
        done.push(`flaky ${id}`);
      },
      { retries: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    const worker = closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [first, flaky], onError: () => {} }));
    const { app } = appWith({ runner }, (req, res) => {
      res.locals.background.addTask(first, String(req.query.id));
      res.locals.background.addTask(flaky, String(req.query.id));
      res.send('ok');
    });
    const watcher = watchTasks();
    try {
      await request(app).post('/?id=o-1').expect(200);
      // Stored in Redis: from here the worker has it.
      expect((await watcher.settled()).map((task) => task.stored)).toEqual([true, true]);
    } finally {
      watcher.restore();
    }
    expect(await worker.drain()).toEqual({ drained: true, pending: 0 });
    expect(done).toEqual(['first o-1', 'flaky o-1']);
    expect(tries).toBe(2);
    expect(worker.stats()).toMatchObject({ succeeded: 2, running: 0 });
    // Nothing left: resolves at once.
    expect(await worker.drain({ timeout: 1000 })).toEqual({ drained: true, pending: 0 });
  });

  test('with a timeout, resolves drained: false with the jobs still pending, aborting nothing', async () => {
    const queueName = uniqueQueueName('drain-deadline');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const gate = deferred();
    const started = deferred();
    let aborted = false;
    const blocked = defineTask('blocked', async () => {
      started.resolve();
      await gate.promise;
    });
    const worker = closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [blocked] }));
    const { app, bg } = appWith({ runner }, (_req, res) => {
      res.locals.background.addTask(blocked);
      res.send('ok');
    });
    await request(app).post('/').expect(200);
    await bg.drain();
    await started.promise;
    expect(await worker.drain({ timeout: 50 })).toEqual({ drained: false, pending: 1 });
    worker.worker.on('failed', () => {
      aborted = true;
    });
    gate.resolve();
    expect(await worker.drain()).toEqual({ drained: true, pending: 0 });
    expect(aborted).toBe(false);
    expect(worker.stats()).toMatchObject({ succeeded: 1 });
    expect(() => worker.drain({ timeout: 'soon' } as never)).toThrow(InvalidArgumentError);
  });
});
