// Flow control on the queue, two web processes and two worker processes on one Redis: dedupe and debounce through
// BullMQ's deduplication, the rate limit and the concurrency per key across workers, retryAfter, nothing lost at shutdown.
import path from 'node:path';
import { Redis } from 'ioredis';
import { hashedKey } from '../../lib/flow/flow-control.js';
import { Child, killChildren, type Message, sendAll } from '../helpers.js';
import { describeWithRedis, inspectQueue, jobsLeft, uniqueQueueName, useRedis } from './support.js';

const FLOW_PROCESS = path.join(__dirname, 'flow-process.ts');
/**
 * The gap allowed between Redis granting a start and the task printing it (a worker's event loop, a loaded machine):
 * the window is checked exactly on the starts Redis granted, and with this slack on the tasks' own records.
 */
const START_LATENCY_MS = 50;

function add(task: string, ...args: unknown[]): string {
  return `/add?task=${task}&args=${encodeURIComponent(JSON.stringify(args))}`;
}

/** Messages of `event` (and `task`) printed so far by the children. */
function messages(children: readonly Child[], event: string, task: string): Message[] {
  return children.flatMap((child) =>
    child.lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Message)
      .filter((m) => m.event === event && m.task === task),
  );
}

/** Waits (on each new line the children print) until `count` messages of `event` and `task` have been printed. */
async function collect(children: readonly Child[], event: string, task: string, count: number): Promise<Message[]> {
  for (;;) {
    const found = messages(children, event, task);
    if (found.length >= count) return found;
    // Only children still running can print more.
    const live = children.filter((child) => child.exit === undefined);
    if (live.length === 0) throw new Error(`every child exited with ${found.length} of ${count} "${event}" messages of ${task}`);
    const seen = live.map((child) => child.lines.length);
    await Promise.race(live.map((child, i) => child.line((line) => child.lines.lastIndexOf(line) >= (seen[i] as number))));
  }
}

describeWithRedis('flow control on the queue (two webs, two workers)', () => {
  const redis = useRedis();
  let webs: Child[] = [];
  let workers: Child[] = [];
  let ports: number[] = [];
  let queueName = '';

  beforeEach(async () => {
    queueName = uniqueQueueName('flow');
    const env = { REDIS_URL: redis.server.url, QUEUE_NAME: queueName };
    webs = [new Child(FLOW_PROCESS, { ...env, ROLE: 'web' }), new Child(FLOW_PROCESS, { ...env, ROLE: 'web' })];
    workers = [new Child(FLOW_PROCESS, { ...env, ROLE: 'worker' }), new Child(FLOW_PROCESS, { ...env, ROLE: 'worker' })];
    ports = await Promise.all(webs.map(async (web) => (await web.message('listening')).port as number));
    await Promise.all(workers.map((worker) => worker.message('ready')));
  });
  afterEach(() => killChildren());

  /** Waits until Redis holds no job of the queue (finished jobs are removed): what was to run has run. Polls Redis. */
  async function queueEmpty(): Promise<void> {
    const queue = inspectQueue(redis.closer, redis.server.url, queueName);
    while ((await jobsLeft(queue)) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  test('drop: a burst of 50 adds of one key, from two web processes, runs once; another key runs apart; the drops are counted', async () => {
    const [a, b] = ports as [number, number];
    await Promise.all([
      sendAll(
        a,
        Array.from({ length: 25 }, () => add('reindex', 'u1')),
      ),
      sendAll(b, [...Array.from({ length: 25 }, () => add('reindex', 'u1')), add('reindex', 'u2')]),
    ]);
    const runs = await collect(workers, 'run', 'reindex', 2);
    // Each web process dropped its own repeats (counted there); BullMQ dropped the second process's first add.
    const stats = await Promise.all(
      ports.map(async (port) => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { stats: { deduplicated: number } }),
    );
    expect(stats.map((s) => s.stats.deduplicated)).toEqual([24, 24]);
    // The workers are idle once every job has run: no third run came.
    await queueEmpty();
    expect(
      messages(workers, 'run', 'reindex')
        .map((m) => m.arg)
        .sort(),
    ).toEqual(['u1', 'u2']);
    expect(runs).toHaveLength(2);
  }, 30_000);

  test('drop: after the ttl, a new add of the key runs again (from either web process)', async () => {
    const [a, b] = ports as [number, number];
    await sendAll(a, [add('reindex-short', 'u1')]);
    const [first] = await collect(workers, 'run', 'reindex-short', 1);
    // Adds keep coming, alternately from each web process, until one is let through: only once the ttl has passed.
    let turn = 0;
    while (messages(workers, 'run', 'reindex-short').length < 2) {
      await sendAll(turn++ % 2 === 0 ? b : a, [add('reindex-short', 'u1')]);
    }
    const runs = (await collect(workers, 'run', 'reindex-short', 2)).sort((x, y) => (x.at as number) - (y.at as number));
    expect(runs[0]).toEqual(first);
    expect((runs[1]?.at as number) - (first?.at as number)).toBeGreaterThanOrEqual(300 - START_LATENCY_MS);
  }, 30_000);

  test('debounce: a burst across two web processes runs once, with the last arguments', async () => {
    const [a, b] = ports as [number, number];
    await sendAll(
      a,
      Array.from({ length: 10 }, (_, i) => add('reindex-debounced', 'u1', i)),
      { inFlight: 1 },
    );
    await sendAll(
      b,
      Array.from({ length: 10 }, (_, i) => add('reindex-debounced', 'u1', 10 + i)),
      { inFlight: 1 },
    );
    await sendAll(a, [add('reindex-debounced', 'u2', 0)]);
    const runs = await collect(workers, 'run', 'reindex-debounced', 2);
    await queueEmpty();
    expect(
      messages(workers, 'run', 'reindex-debounced')
        .map((m) => [m.arg, m.edit])
        .sort(),
    ).toEqual([
      ['u1', 19],
      ['u2', 0],
    ]);
    expect(runs).toHaveLength(2);
    // Once it ran, a new add of the key is a new burst: it runs again.
    await sendAll(b, [add('reindex-debounced', 'u1', 99)]);
    const again = await collect(workers, 'run', 'reindex-debounced', 3);
    expect(again.map((m) => [m.arg, m.edit])).toContainEqual(['u1', 99]);
  }, 30_000);

  test('rateLimit: the sliding window holds per key across both workers', async () => {
    const [a, b] = ports as [number, number];
    // The workers record each start they are granted in a sorted set per key that keeps the last 400 ms: read every
    // 100 ms, it yields every start as Redis granted it.
    const client = new Redis(redis.server.url);
    redis.closer.add({ close: async () => client.disconnect() });
    const granted = new Map<string, Map<string, number>>([
      ['c1', new Map()],
      ['c2', new Map()],
    ]);
    const sample = async (): Promise<void> => {
      for (const [customer, seen] of granted) {
        const flat = await client.zrange(`bull:${queueName}:ebt:rate:${hashedKey('mail', customer)}:starts`, '0', '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) seen.set(flat[i] as string, Number(flat[i + 1]));
      }
    };
    let sampling = true;
    const sampled = (async () => {
      while (sampling) {
        await sample();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await sample(); // the last starts, still in their window
    })();
    await Promise.all([
      sendAll(
        a,
        Array.from({ length: 15 }, (_, n) => add('mail', 'c1', n)),
      ),
      sendAll(
        b,
        Array.from({ length: 10 }, (_, n) => add('mail', 'c2', n)),
      ),
    ]);
    const runs = await collect(workers, 'run', 'mail', 25);
    sampling = false;
    await sampled;
    for (const [customer, seen] of granted) {
      const starts = [...seen.values()].sort((x, y) => x - y);
      expect(starts).toHaveLength(customer === 'c1' ? 15 : 10);
      // As Redis granted them (its clock, whole ms): any 6 consecutive starts span at least 400 ms, exactly.
      for (let i = 0; i + 5 < starts.length; i++) expect((starts[i + 5] as number) - (starts[i] as number)).toBeGreaterThanOrEqual(400);
    }
    for (const customer of ['c1', 'c2']) {
      const starts = runs
        .filter((m) => m.arg === customer)
        .map((m) => m.at as number)
        .sort((x, y) => x - y);
      // limit 5 per 400 ms: any 6 consecutive starts span at least 400 ms (less the start latency).
      for (let i = 0; i + 5 < starts.length; i++) {
        expect((starts[i + 5] as number) - (starts[i] as number)).toBeGreaterThanOrEqual(400 - START_LATENCY_MS);
      }
    }
    // Both workers took part (the limit held across them, not per worker).
    expect(new Set(runs.map((m) => m.pid)).size).toBe(2);
  }, 60_000);

  test('concurrency per key: never more than 2 running across both workers; keys run side by side', async () => {
    const [a, b] = ports as [number, number];
    await Promise.all([
      sendAll(
        a,
        Array.from({ length: 12 }, (_, i) => add('partner', i % 2 === 0 ? 'x' : 'y')),
      ),
      sendAll(
        b,
        Array.from({ length: 12 }, (_, i) => add('partner', i % 2 === 0 ? 'x' : 'y')),
      ),
    ]);
    const ends = await collect(workers, 'end', 'partner', 24);
    const starts = messages(workers, 'start', 'partner');
    expect(ends).toHaveLength(24);
    for (const customer of ['x', 'y']) {
      const events = [
        ...starts.filter((m) => m.arg === customer).map((m) => [m.at as number, 1] as const),
        ...ends.filter((m) => m.arg === customer).map((m) => [m.at as number, -1] as const),
      ].sort((p, q) => p[0] - q[0] || p[1] - q[1]);
      let running = 0;
      let most = 0;
      for (const [, delta] of events) {
        running += delta;
        most = Math.max(most, running);
      }
      expect(most).toBeLessThanOrEqual(2);
    }
  }, 60_000);

  test('retryAfter: the next attempt waits the given time, not the backoff; attempts are counted', async () => {
    await sendAll(ports[0] as number, [add('flaky', `t-${queueName}`)]);
    const attempts = (await collect(workers, 'attempt', 'flaky', 3)).sort((x, y) => (x.at as number) - (y.at as number));
    expect(attempts.map((m) => m.attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((m) => m.id)).size).toBe(1);
    expect((attempts[1]?.at as number) - (attempts[0]?.at as number)).toBeGreaterThanOrEqual(300 - 5);
    expect((attempts[2]?.at as number) - (attempts[1]?.at as number)).toBeGreaterThanOrEqual(300 - 5);
  }, 30_000);

  test('nothing is lost at shutdown: a worker stopped while rate-limited jobs wait leaves them to the other', async () => {
    await sendAll(
      ports[0] as number,
      Array.from({ length: 15 }, (_, n) => add('mail', 'c3', n)),
    );
    await collect(workers, 'run', 'mail', 5);
    const stopped = workers[0] as Child;
    await stopped.stop('SIGTERM');
    const runs = await collect(workers, 'run', 'mail', 15);
    expect(runs.map((m) => m.n).sort((x, y) => (x as number) - (y as number))).toEqual(Array.from({ length: 15 }, (_, n) => n));
  }, 60_000);
});
