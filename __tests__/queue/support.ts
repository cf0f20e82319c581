// The queue tests' own helpers (the general ones are in ../helpers.ts): a throwaway redis-server per test file (or
// REDIS_URL) and the skip rule, unique queue names, waiting on worker events, and closing what a test opened.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { Queue } from 'bullmq';
import { freePort } from '../helpers.js';

export interface RedisServer {
  readonly url: string;
  /** True when this helper started the server, so a test may stop it to play "Redis went away". */
  readonly ownServer: boolean;
  stop(): Promise<void>;
}

let binary: boolean | undefined;

/** Whether `redis-server` (Debian's package) is on PATH. */
export function hasRedisServer(): boolean {
  binary ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  return binary;
}

/**
 * Why the queue tests cannot run on this machine, or undefined when they can. Under CI=true they always run
 * (and fail loudly if Redis is missing): CI must never skip them.
 */
export function skipReason(): string | undefined {
  if (process.env.CI === 'true' || hasRedisServer() || process.env.REDIS_URL) return undefined;
  return "redis-server is not on PATH and REDIS_URL is not set; install Debian's redis-server package to run them";
}

/** describe(), or describe.skip() with the reason in its name so that the report says why. */
export function describeWithRedis(name: string, fn: () => void): void {
  const reason = skipReason();
  if (reason === undefined) describe(name, fn);
  else describe.skip(`${name} (skipped: ${reason})`, fn);
}

/** A redis:// URL where nothing answers (connections are refused). */
export async function deadRedisUrl(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

/** Starts redis-server on `port` (without persistence unless `extraArgs` say otherwise: later arguments win) and resolves once it is ready. */
export function spawnRedis(port: number, extraArgs: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', onExit);
  });
}

/** Starts redis-server on a free port without persistence (or uses REDIS_URL when there is no redis-server). */
export async function startRedis(): Promise<RedisServer> {
  if (!hasRedisServer()) {
    const url = process.env.REDIS_URL;
    if (url) return { url, ownServer: false, stop: async () => {} };
    throw new Error('The queue tests need Redis: redis-server is not on PATH and REDIS_URL is not set (CI=true never skips them)');
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnRedis(port);
      // If the test process dies first, do not leave the server behind.
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      process.once('exit', kill);
      return {
        url: `redis://127.0.0.1:${port}`,
        ownServer: true,
        async stop() {
          process.off('exit', kill);
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      };
    } catch (error) {
      lastError = error; // most likely the port was taken between freePort() and the bind: try another
    }
  }
  throw lastError;
}

/** A queue name of its own for each test, and for each Express run (the suite runs twice). */
export function uniqueQueueName(label: string): string {
  return `ebt-${label}-x${process.env.EXPRESS_VERSION ?? '5'}-${randomUUID().slice(0, 8)}`;
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
