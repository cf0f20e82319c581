// The BullMQ runner's optional QueueRunner methods for the dashboard (jobCounts, failedJobs, retryJob) against a real
// redis-server, and the dashboard reading them: the queue's counts in its stream and the retry action.
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { defineTask } from '../../lib/index.js';
import { dashboardApp, EventStream, serve, tokenOf } from '../dashboard/support.js';
import { deferred, settled } from '../helpers.js';
import { describeWithRedis, nextOutcomes, uniqueQueueName, useRedis } from './support.js';

describeWithRedis('the queue as the dashboard reads it', () => {
  const redis = useRedis();
  const { closer } = redis;

  /** A task that fails on its first run and succeeds after, with an argument that must never be shown. */
  function flakyOnce() {
    let runs = 0;
    const second = deferred();
    const task = defineTask('chargeCard', (_card: string) => {
      runs++;
      if (runs === 1) throw new RangeError('card declined');
      second.resolve();
    });
    return { task, second: second.promise };
  }

  function setup(label: string, task: ReturnType<typeof flakyOnce>['task']) {
    const queueName = uniqueQueueName(label);
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName, removeOnFail: { count: 50 } }));
    const worker = closer.add(runWorker({ connection: redis.server.url, queueName, tasks: [task], onError: () => {} }));
    return { runner, worker };
  }

  test('jobCounts(), failedJobs() (never the data) and retryJob()', async () => {
    const { task, second } = flakyOnce();
    const { runner, worker } = setup('inspect', task);
    const made = dashboardApp(
      { allowAnyone: true },
      (app) => {
        app.post('/pay', (_req, res) => {
          res.locals.background.addTask(task, '4111 1111 1111 1111');
          res.send('ok');
        });
      },
      { runner, onError: () => {} },
    );
    closer.add({ close: async () => made.dashboard.close() });
    const failed = nextOutcomes(worker.worker, 1);
    await request(made.app).post('/pay').expect(200);
    await settled(made.bg);
    expect((await failed).map((o) => o.type)).toEqual(['failed']);

    expect(await runner.jobCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 1, completed: 0 });
    const [job, ...others] = await runner.failedJobs(10);
    expect(others).toEqual([]);
    expect(job).toMatchObject({ name: 'chargeCard', attempts: 1, reason: 'card declined' });
    expect(job?.stack).toMatch(/^RangeError: card declined\n/);
    expect(job?.failedAt).toBeGreaterThan(0);
    expect(JSON.stringify(job)).not.toContain('4111 1111');
    expect(await runner.failedJobs(0)).toEqual([]);

    expect(await runner.retryJob('no-such-job')).toBe(false);
    const completed = nextOutcomes(worker.worker, 1);
    expect(await runner.retryJob(job?.id as string)).toBe(true);
    await second;
    expect((await completed).map((o) => o.type)).toEqual(['completed']);
    // Completed and removed (removeOnComplete's default): no failed job left to retry.
    expect(await runner.retryJob(job?.id as string)).toBe(false);
    expect((await runner.jobCounts()).failed).toBe(0);
  });

  test("the dashboard shows the queue's counts and failed jobs, and retries one with actions: true", async () => {
    const { task, second } = flakyOnce();
    const { runner, worker } = setup('dashboard', task);
    const made = dashboardApp(
      { allowAnyone: true, actions: true },
      (app) => {
        app.post('/pay', (_req, res) => {
          res.locals.background.addTask(task, '4111 1111 1111 1111');
          res.send('ok');
        });
      },
      { runner, onError: () => {} },
    );
    const server = await serve(made.app, made.dashboard);
    closer.add({ close: () => server.stop() });
    const failed = nextOutcomes(worker.worker, 1);
    await request(made.app).post('/pay').expect(200);
    await settled(made.bg);
    await failed;
    const stream = new EventStream(`${server.url}/admin/tasks/events`);
    closer.add({ close: async () => stream.close() });
    type QueueView = { counts?: Record<string, number>; failed: Array<{ id: string; name: string }>; canRetry: boolean };
    const snapshot = await stream.next((s) => (s.queue as QueueView | null)?.counts?.failed === 1);
    const queue = snapshot.queue as QueueView;
    expect(queue.canRetry).toBe(true);
    expect(queue.failed.map((j) => j.name)).toEqual(['chargeCard']);
    expect(JSON.stringify(stream.snapshots)).not.toContain('4111 1111');
    // The hand-off shows as enqueued on this side.
    expect(snapshot.names.find((n) => n.name === 'chargeCard')?.counts.enqueued).toBe(1);

    const token = tokenOf((await request(made.app).get('/admin/tasks/')).text);
    const completed = nextOutcomes(worker.worker, 1);
    await request(made.app)
      .post(`/admin/tasks/queue/jobs/${encodeURIComponent(queue.failed[0]?.id as string)}/retry`)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('x-tasks-dashboard-token', token)
      .expect(200, { ok: true });
    await second;
    expect((await completed).map((o) => o.type)).toEqual(['completed']);
    await request(made.app)
      .post('/admin/tasks/queue/jobs/no-such-job/retry')
      .set('Sec-Fetch-Site', 'same-origin')
      .set('x-tasks-dashboard-token', token)
      .expect(404);
  });
});
