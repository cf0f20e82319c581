// Chaos: a web process and a worker process under steady requests while Redis is killed and restarted twice and frozen once.
// Every accepted task runs, none twice, no request waits on Redis, and the counters agree.
import path from 'node:path';
import { Queue } from 'bullmq';
import { Child, killChildren } from '../helpers.js';
import { RedisProcess } from './redis-process.js';
import { describeWithRedis, uniqueQueueName } from './support.js';

const QUEUE_PROCESS = path.join(__dirname, 'queue-process.ts');
/**
 * 1,000 requests over 6 s (the issue says about 10 s; 6 s holds the same events: two kills with restarts and one
 * freeze, each with requests before, during and after it, and keeps the suite short).
 */
const REQUESTS = 1000;
const DURATION_MS = 6000;
/** [ms after the start, what happens]: each outage lasts long enough for tasks to pile up in the web process. */
const SCHEDULE: ReadonlyArray<readonly [number, 'kill' | 'restart' | 'freeze' | 'resume']> = [
  [1000, 'kill'],
  [1600, 'restart'],
  [2400, 'freeze'],
  [3600, 'resume'],
  [4400, 'kill'],
  [5000, 'restart'],
];
/**
 * After each outage begins (kill, freeze), one more request is sent, and the step that ends the outage (restart, resume)
 * waits for its answer: a request that waited on Redis would never be answered while Redis is down, and the test would
 * hang there. An ordering, not a time bound.
 */
const OUTAGE_ENDS = { restart: 'killed', resume: 'frozen' } as const;

describeWithRedis('chaos: Redis killed, restarted and frozen under load', () => {
  let redis: RedisProcess | undefined;
  afterEach(async () => {
    await killChildren();
    await redis?.stop();
  });

  test('every accepted task runs once, no request waits, the counters agree', async () => {
    redis = await RedisProcess.create(true);
    await redis.start();
    const queueName = uniqueQueueName('chaos');
    const base = { REDIS_URL: redis.url, QUEUE_NAME: queueName };
    // Short locks so that a job whose hand-over to the worker was cut by a kill comes back within the test.
    const worker = new Child(QUEUE_PROCESS, { ...base, ROLE: 'worker', LOCK_MS: '2000', STALLED_MS: '1000' });
    const web = new Child(QUEUE_PROCESS, { ...base, ROLE: 'web', ENQUEUE_TIMEOUT_MS: '500' });
    await worker.message('ready');
    const { port } = (await web.message('listening')) as unknown as { port: number };

    const begun = performance.now();
    const accepted: string[] = [];
    const events: string[] = [];
    /** The answer to the request sent once the current outage began, awaited before the outage ends. */
    let probe: Promise<number> = Promise.resolve(0);
    const probeStatuses: number[] = [];
    const chaos = Promise.all(
      SCHEDULE.map(
        ([at, what]) =>
          new Promise<void>((resolve, reject) => {
            setTimeout(() => {
              const server = redis as RedisProcess;
              const step = async (): Promise<void> => {
                if (what === 'restart' || what === 'resume') {
                  probeStatuses.push(await probe);
                  events.push(`answered while ${OUTAGE_ENDS[what]}`);
                }
                events.push(what);
                if (what === 'kill') await server.kill();
                else if (what === 'restart') await server.start();
                else server[what]();
                if (what === 'kill' || what === 'freeze') {
                  const arg = `probe-${events.length}`;
                  probe = fetch(`http://127.0.0.1:${port}/add?arg=${arg}`, { method: 'POST' }).then(async (response) => {
                    await response.arrayBuffer();
                    if (response.status === 200) accepted.push(arg); // its task counts like any other
                    return response.status;
                  });
                }
              };
              step().then(resolve, reject);
            }, at);
          }),
      ),
    );
    const statuses = new Map<number, number>();
    const requests: Array<Promise<void>> = [];
    for (let i = 0; i < REQUESTS; i++) {
      // Paced, not awaited one by one: a steady stream whatever Redis does.
      const due = begun + (i * DURATION_MS) / REQUESTS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const arg = `t${i}`;
      requests.push(
        fetch(`http://127.0.0.1:${port}/add?arg=${arg}`, { method: 'POST' }).then(async (response) => {
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 200) accepted.push(arg);
        }),
      );
    }
    await Promise.all(requests);
    await chaos;
    // Each outage happened, and a request sent during it was answered (200) before it ended.
    expect(events).toEqual([
      'kill',
      'answered while killed',
      'restart',
      'freeze',
      'answered while frozen',
      'resume',
      'kill',
      'answered while killed',
      'restart',
    ]);
    expect(probeStatuses).toEqual([200, 200, 200]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: REQUESTS });

    // Every accepted task runs in the worker.
    const ran = new Map<string, number>();
    const runIds = new Map<string, string>();
    let read = 0;
    await worker.line(() => {
      for (; read < worker.lines.length; read++) {
        const message = parse(worker.lines[read] as string);
        if (message?.event !== 'run') continue;
        ran.set(message.arg as string, (ran.get(message.arg as string) ?? 0) + 1);
        runIds.set(message.arg as string, message.id as string);
      }
      return accepted.every((arg) => ran.has(arg));
    });

    // The web process drains (everything stored, nothing held in memory) and exits.
    expect(await web.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const shutdown = await web.message('shutdown');
    expect(shutdown).toMatchObject({
      drained: { drained: true, pending: 0 },
      closed: { givenUp: 0 },
      stats: { queued: 0, running: 0, succeeded: accepted.length, failed: 0 },
      runner: { buffered: 0, enqueued: accepted.length, givenUp: 0 },
    });
    expect(web.lines.filter((line) => line.includes('"event":"error"'))).toEqual([]);
    // Nothing left in Redis that could still run.
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    try {
      const left = await queue.getJobCounts('wait', 'active', 'delayed', 'waiting-children', 'prioritized');
      expect(left).toEqual({ wait: 0, active: 0, delayed: 0, 'waiting-children': 0, prioritized: 0 });
    } finally {
      await queue.close();
    }
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const closed = await worker.message('closed');

    // None twice. The one exception BullMQ itself makes (at-least-once in the worker): a job whose completion a kill
    // cut off is found stalled and delivered again. Only those may show twice.
    const stalled = new Set(
      worker.lines
        .map(parse)
        .filter((m) => m?.event === 'stalled')
        .map((m) => m?.id as string),
    );
    const twice = [...ran].filter(([, n]) => n > 1).map(([arg]) => arg);
    expect(twice.filter((arg) => !stalled.has(runIds.get(arg) as string))).toEqual([]);
    expect(ran.size).toBe(accepted.length);
    const runs = [...ran.values()].reduce((sum, n) => sum + n, 0);
    // The worker counts a success when Redis confirms the job finished: a kill can cut off that answer for the jobs in
    // flight (up to the worker's concurrency, 4, per kill) although Redis stored it (their jobs are gone, checked above).
    const { stats } = closed as unknown as { stats: { succeeded: number; failed: number } };
    expect(stats.failed).toBe(0);
    expect(stats.succeeded).toBeLessThanOrEqual(runs);
    expect(stats.succeeded).toBeGreaterThanOrEqual(runs - 4 * SCHEDULE.filter(([, what]) => what === 'kill').length);
  });
});

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
