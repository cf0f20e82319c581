// Shared pieces of the queue tests: an app with a runner, waiting on worker events, and closing what a test opened.
import type { Job, Worker } from 'bullmq';
import { Queue } from 'bullmq';
import { type BackgroundTasksMiddleware, type BackgroundTasksOptions, backgroundTasks } from '../../lib/index.js';
import { loadExpress } from '../helpers.js';
import { type RedisServer, startRedis } from './redis.js';

const express = loadExpress();

export function appWith(options: BackgroundTasksOptions): { app: ReturnType<typeof express>; middleware: BackgroundTasksMiddleware } {
  const middleware = backgroundTasks(options);
  const app = express();
  app.use(middleware);
  return { app, middleware };
}

export interface WorkerEvent {
  readonly type: 'completed' | 'failed';
  readonly job: Job;
  readonly error: Error | undefined;
}

/** Resolves with the first `count` completed/failed events of `worker`, in order. */
export function nextOutcomes(worker: Worker, count: number): Promise<WorkerEvent[]> {
  return new Promise((resolve) => {
    const events: WorkerEvent[] = [];
    const push = (event: WorkerEvent): void => {
      events.push(event);
      if (events.length !== count) return;
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
      resolve(events);
    };
    const onCompleted = (job: Job): void => push({ type: 'completed', job, error: undefined });
    const onFailed = (job: Job | undefined, error: Error): void => {
      if (job !== undefined) push({ type: 'failed', job, error });
    };
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
  });
}

/** Closes everything a test opened, last opened first, even when the test failed. */
export class Closer {
  readonly #items: Array<() => Promise<unknown>> = [];

  add<T extends { close(): Promise<unknown> }>(item: T): T {
    this.#items.push(() => item.close());
    return item;
  }

  async closeAll(): Promise<void> {
    while (this.#items.length > 0) await this.#items.pop()?.();
  }
}

/** A plain BullMQ Queue for looking at what is stored in Redis. */
export function inspectQueue(closer: Closer, url: string, queueName: string): Queue {
  const queue = closer.add(new Queue(queueName, { connection: { url } }));
  queue.on('error', () => {});
  return queue;
}

/** Every job of the queue, whatever its state (BullMQ's getJobCounts over the states a job can be in). */
export async function jobsLeft(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'waiting-children', 'completed', 'failed', 'prioritized');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Called in a describe block: a redis-server for the block (started before its tests, stopped after), and a Closer emptied after each test. */
export function useRedis(): { readonly closer: Closer; readonly server: RedisServer } {
  const closer = new Closer();
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(() => closer.closeAll());
  afterAll(() => server?.stop());
  return {
    closer,
    get server(): RedisServer {
      if (server === undefined) throw new Error('useRedis(): the server is started in beforeAll; read it inside a test');
      return server;
    },
  };
}
