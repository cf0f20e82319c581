// The queue on a real Redis Cluster (three masters started here): round trip and order, a master killed and restarted mid-run, and the wrong-kind errors.
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { EnqueueError } from '../../lib/errors.js';
import { defineTask, type TaskHandle } from '../../lib/index.js';
import { appWith, captureDebug, collectErrors, deferred, settled } from '../helpers.js';
import { RedisCluster } from './redis-cluster.js';
import type { RedisProcess } from './redis-process.js';
import { Closer, describeWithRedis, hasRedisServer, nextOutcomes, uniqueQueueName } from './support.js';
import { expectNoneLost, underLoad } from './under-load.js';

const CLUSTER_ADVICE = 'this is a Redis Cluster: pass connection: { cluster: [{ host, port }, ...] }';

describeWithRedis('BullMQ runner and worker on a Redis Cluster', () => {
  if (!hasRedisServer()) {
    // REDIS_URL alone cannot make a cluster: say so rather than fail on a missing binary.
    test.skip('needs redis-server and redis-cli (Debian redis-server package): REDIS_URL is not enough', () => {});
    return;
  }
  let cluster: RedisCluster;
  const closer = new Closer();
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });
  afterEach(() => closer.closeAll());
  afterAll(() => cluster?.stop());

  /** A plain BullMQ Queue on the cluster (prefix '{bull}'), for looking at what is stored. */
  function inspect(queueName: string): Queue {
    const client = new Cluster(cluster.startNodes);
    // Closed after the queue (a Closer closes the last added first); BullMQ leaves a client it was given open.
    closer.add({ close: async () => client.disconnect() });
    const queue = closer.add(new Queue(queueName, { connection: client, prefix: '{bull}' }));
    queue.on('error', () => {});
    return queue;
  }

  test("round trip: 50 responses of 3 tasks each, every list's tasks run in order by a worker on the cluster", async () => {
    const queueName = uniqueQueueName('cluster');
    const connection = { cluster: cluster.startNodes };
    const runner = closer.add(bullmqRunner({ connection, queueName }));
    const log = new Map<number, string[]>();
    let count = 0;
    const all = deferred();
    const step = defineTask('step', async (list: number, label: string) => {
      const own = log.get(list) ?? [];
      log.set(list, own);
      own.push(label);
      if (++count === 150) all.resolve();
    });
    const { app, bg } = appWith({ runner });
    app.post('/list/:n', (req, res) => {
      for (const label of ['a', 'b', 'c']) res.locals.background.addTask(step, Number(req.params.n), label);
      res.sendStatus(204);
    });
    await Promise.all(Array.from({ length: 50 }, (_, n) => request(app).post(`/list/${n}`).expect(204)));
    await settled(bg);
    expect(runner.stats()).toMatchObject({ enqueued: 150, buffered: 0, givenUp: 0 });
    // Stored under the default cluster prefix '{bull}', read back from the cluster: each chain's first task waits, the
    // other two wait for it.
    const queue = inspect(queueName);
    expect(await queue.getJobCounts('wait', 'waiting-children')).toEqual({ wait: 50, 'waiting-children': 100 });

    const worker = closer.add(runWorker({ connection, queueName, tasks: [step], concurrency: 4 }));
    const outcomes = await nextOutcomes(worker.worker, 150);
    await all.promise;
    expect(outcomes.filter((outcome) => outcome.type !== 'completed')).toEqual([]);
    expect([...log.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    for (const labels of log.values()) expect(labels).toEqual(['a', 'b', 'c']);
    expect(worker.stats()).toMatchObject({ succeeded: 150, failed: 0 });
    // Nothing left that could still run (each chain's root is kept a while, finished, for idempotent resends).
    expect(await queue.getJobCounts(...RUNNABLE)).toEqual(Object.fromEntries(RUNNABLE.map((state) => [state, 0])));
  });

  test('status records of a list of 150 tasks stored as one job: its index and outcomes share the queue slot', async () => {
    const queueName = uniqueQueueName('cluster-list');
    const connection = { cluster: cluster.startNodes };
    const runner = closer.add(bullmqRunner({ connection, queueName }));
    const double = defineTask('double', (n: number) => n * 2, { result: true });
    const handles: TaskHandle[] = [];
    const { app, bg } = appWith({ runner, status: true }, (_req, res) => {
      for (let i = 0; i < 150; i++) handles.push(res.locals.background.addTask(double, i));
      res.sendStatus(202);
    });
    await request(app).post('/').expect(202);
    await settled(bg);
    expect(await handles[60]!.status()).toMatchObject({ state: 'queued', attempts: 0 });
    closer.add(runWorker({ connection, queueName, tasks: [double] }));
    expect(await handles[149]!.settled()).toMatchObject({ state: 'succeeded', result: 298 });
    expect(await handles[60]!.status()).toMatchObject({ state: 'succeeded', attempts: 1, result: 120 });
  });

  test('a master killed (SIGKILL) and restarted mid-run: every accepted task runs or is reported as given up, none disappears', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {}); // "lost Redis", "answers again"
    try {
      // The master that holds every key of the queue (prefix '{bull}'): the one whose loss matters.
      const owner = await cluster.ownerOf('{bull}');
      const result = await underLoad(closer, { cluster: cluster.startNodes }, {}, async (send, runner) => {
        await owner.kill();
        // Requests go on while the master is gone, until the runner has seen its sends fail and holds tasks in memory.
        const before = runner.stats().retries;
        while (runner.stats().retries === before || runner.stats().buffered === 0) await send(5);
        await send(50);
        await owner.start();
      });
      expectNoneLost(result);
      expect(result.runner.stats().retries).toBeGreaterThan(0);
      await cluster.whenOk();
    } finally {
      errors.mockRestore();
    }
  });

  test('CLUSTERDOWN (another master lost) is a lost connection: the runner holds the tasks and stores them once the cluster is back', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {}); // "lost Redis", "answers again"
    const debug = captureDebug();
    try {
      // Not the master of the queue's keys: that one stays up, and answers CLUSTERDOWN while the cluster is down.
      const owner = await cluster.ownerOf('{bull}');
      const other = cluster.nodes.find((node) => node !== owner) as RedisProcess;
      // ioredis retries CLUSTERDOWN itself (every retryDelayOnClusterDown, up to maxRedirections times) before it
      // answers "Too many Cluster redirections. Last error: CLUSTERDOWN": made short here, so that the runner sees it
      // within its enqueueTimeout.
      const connection = { cluster: cluster.startNodes, retryDelayOnClusterDown: 50, maxRedirections: 4 };
      const result = await underLoad(closer, connection, { enqueueTimeout: 2000 }, async (send) => {
        await other.kill();
        await cluster.whenState('fail', [owner]);
        // Requests go on until the runner has been answered CLUSTERDOWN (its debug line names the last error).
        const seen = (): boolean => debug.lines.some((line) => line.includes('tasks kept in memory') && line.includes('CLUSTERDOWN'));
        while (!seen()) await send(5);
        await other.start();
      });
      expectNoneLost(result);
      // Retried, not given up: every task was stored.
      expect(result.givenUp).toEqual([]);
      await cluster.whenOk();
    } finally {
      debug.restore();
      errors.mockRestore();
    }
  });

  test('a runner given one node of the cluster as a plain connection reports what to change', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const runner = closer.add(bullmqRunner({ connection: cluster.nodes[0]?.url as string, queueName: uniqueQueueName('wrong-kind') }));
      const { failures, onError } = collectErrors();
      const sendEmail = defineTask('sendEmail', (_to: string) => {});
      const { app, bg } = appWith({ runner, onError });
      app.post('/', (_req, res) => {
        res.locals.background.addTask(sendEmail, 'a@example.com');
        res.sendStatus(204);
      });
      await request(app).post('/').expect(204);
      // Given up (at once where such a reply is known to be final; at the drain deadline at the latest) and reported.
      await bg.drain({ timeout: 2000 });
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toBeInstanceOf(EnqueueError);
      expect((failures[0]?.error as Error).message).toMatch(/(MOVED|ASK|CROSSSLOT)/);
      expect((failures[0]?.error as Error).message).toContain('connection: { cluster: [');
      expect(bg.stats()).toMatchObject({ queued: 0, failed: 1 });
    } finally {
      errors.mockRestore();
    }
  });

  test('a worker given one node of the cluster as a plain connection says what to change', async () => {
    const queueName = uniqueQueueName('wrong-kind-worker');
    // A node that does not hold the queue's keys (BullMQ's default prefix 'bull', no hash tag): its first command is
    // answered with MOVED (or CROSSSLOT for a script over several slots).
    const owner = await cluster.ownerOf(`bull:${queueName}:marker`);
    const other = cluster.nodes.find((node) => node !== owner) as (typeof cluster.nodes)[number];
    const said = deferred<string>();
    const errors = jest.spyOn(console, 'error').mockImplementation((line: string) => {
      if (String(line).includes('worker for queue')) said.resolve(String(line));
    });
    try {
      closer.add(runWorker({ connection: other.url, queueName, tasks: [defineTask('noop', () => {})] }));
      const line = await said.promise;
      expect(line).toMatch(/(MOVED|ASK|CROSSSLOT)/);
      expect(line).toContain(CLUSTER_ADVICE);
    } finally {
      errors.mockRestore();
    }
  });
});

const RUNNABLE = ['wait', 'active', 'delayed', 'waiting-children', 'prioritized'] as const;
