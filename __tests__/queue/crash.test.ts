// Acknowledged means stored: a web process killed with SIGKILL under load (flush() or handOff 'before-response') loses no task whose request got a 200.
import path from 'node:path';
import { Queue } from 'bullmq';
import { Child, killChildren } from '../helpers.js';
import { RedisProcess } from './redis-process.js';
import { describeWithRedis, uniqueQueueName } from './support.js';

const QUEUE_PROCESS = path.join(__dirname, 'queue-process.ts');
const IN_FLIGHT = 50;

/** POSTs /add?arg=<prefix><n> from IN_FLIGHT loops until the server is gone; `acked` gets the args answered 200. */
class Load {
  readonly acked: string[] = [];
  readonly statuses = new Map<number, number>();
  #next = 0;
  #stopped = false;
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly done: Promise<void>;

  constructor(port: number, prefix: string) {
    this.done = Promise.all(Array.from({ length: IN_FLIGHT }, () => this.#loop(port, prefix))).then(() => {});
  }

  async #loop(port: number, prefix: string): Promise<void> {
    while (!this.#stopped) {
      const arg = `${prefix}${this.#next++}`;
      try {
        const response = await fetch(`http://127.0.0.1:${port}/add?arg=${arg}`, { method: 'POST' });
        await response.arrayBuffer();
        this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) this.acked.push(arg);
        for (const waiter of this.#waiters.filter((w) => this.#answered() >= w.count)) waiter.resolve();
      } catch {
        return; // the server was killed: this loop ends
      }
    }
  }

  #answered(): number {
    return [...this.statuses.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Resolves once `count` requests have been answered (any status). */
  answered(count: number): Promise<void> {
    if (this.#answered() >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  stop(): void {
    this.#stopped = true;
  }
}

/** The args of every job stored in the queue (none is run: no worker). */
async function storedArgs(url: string, queueName: string): Promise<Set<string>> {
  const queue = new Queue(queueName, { connection: { url } });
  try {
    const jobs = await queue.getJobs(['wait']);
    return new Set(jobs.map((job) => job.data.args[0] as string));
  } finally {
    await queue.close();
  }
}

describeWithRedis('a web process killed with SIGKILL loses no acknowledged task', () => {
  let redis: RedisProcess;
  beforeEach(async () => {
    redis = await RedisProcess.create();
    await redis.start();
  });
  afterEach(async () => {
    redis.resume();
    await killChildren();
    await redis.stop();
  });

  /** The web fixture; a long enqueue deadline unless the test wants 503s soon (a loaded machine must not cause them). */
  function web(handOff: string, queueName: string, enqueueTimeout = 5000): Child {
    return new Child(QUEUE_PROCESS, {
      ROLE: 'web',
      REDIS_URL: redis.url,
      QUEUE_NAME: queueName,
      HAND_OFF: handOff,
      ENQUEUE_TIMEOUT_MS: String(enqueueTimeout),
    });
  }

  describe.each(['flush', 'before-response'])('handOff %s', (handOff) => {
    test.each([1, 200, 500])('killed after %d answers: every task answered 200 is in Redis', async (killAfter) => {
      const queueName = uniqueQueueName('crash');
      const child = web(handOff, queueName);
      const { port } = (await child.message('listening')) as unknown as { port: number };
      const load = new Load(port, 't');
      await load.answered(killAfter);
      child.process.kill('SIGKILL');
      await child.exited;
      load.stop();
      await load.done;
      const stored = await storedArgs(redis.url, queueName);
      expect(load.acked.length).toBeGreaterThanOrEqual(killAfter);
      expect(load.acked.filter((arg) => !stored.has(arg))).toEqual([]);
      expect(Object.keys(Object.fromEntries(load.statuses))).toEqual(['200']);
    });

    test('killed while Redis is frozen: requests wait, then get 503; none is answered 200 unstored', async () => {
      const queueName = uniqueQueueName('crash-frozen');
      const child = web(handOff, queueName, 1000);
      const { port } = (await child.message('listening')) as unknown as { port: number };
      const warmUp = new Load(port, 'w');
      await warmUp.answered(100);
      warmUp.stop();
      await warmUp.done;
      redis.freeze();
      const load = new Load(port, 'f');
      // A 503 means the enqueue deadline has passed for that request while others still wait.
      while (!load.statuses.has(503)) await load.answered([...load.statuses.values()].reduce((sum, n) => sum + n, 0) + 1);
      child.process.kill('SIGKILL');
      await child.exited;
      load.stop();
      await load.done;
      redis.resume();
      const stored = await storedArgs(redis.url, queueName);
      expect(warmUp.acked.filter((arg) => !stored.has(arg))).toEqual([]);
      expect(load.acked.filter((arg) => !stored.has(arg))).toEqual([]);
      expect(load.statuses.get(503)).toBeGreaterThanOrEqual(1);
    });
  });
});
