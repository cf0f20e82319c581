// Test helper: a web app with the BullMQ runner and a worker, in this process, under a stream of requests while a test breaks Redis (a failover, a killed node); what was accepted, run and given up.
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BullmqRunner, bullmqRunner, type Connection, runWorker, type TaskWorker } from '../../lib/bullmq/index.js';
import { EnqueueError } from '../../lib/errors.js';
import { defineTask } from '../../lib/index.js';
import { appWith, close, collectErrors, deferred, listen } from '../helpers.js';
import type { Closer } from './support.js';
import { uniqueQueueName } from './support.js';

export interface LoadResult {
  /** Every request answered 204: its task was accepted. */
  readonly accepted: readonly string[];
  /** How many times each task ran (more than once only when BullMQ delivered a job again). */
  readonly ran: ReadonlyMap<string, number>;
  /** Tasks the runner gave up, never stored, each reported to onError as an EnqueueError. */
  readonly givenUp: readonly string[];
  readonly runner: BullmqRunner;
  readonly worker: TaskWorker;
}

/**
 * Sends `n` requests at once, each adding one task; resolves once all are answered and 20 ms have passed, so that a
 * loop of sends is a steady stream (about 250 requests a second for n = 5), not a flood of a shared machine's CPU.
 */
export type Send = (n: number) => Promise<void>;

/** The runner's options that a test may change. */
export interface LoadOptions {
  /** Default 500 ms, so that a try that gets no answer is held and resent soon. */
  readonly enqueueTimeout?: number;
}

/**
 * Sends 100 requests, lets `outage` break Redis while it sends more (it gets `send` and the runner, to wait on what it
 * needs), then 100 more. Then the middleware drains (what the runner still holds 15 s later is given up and
 * reported), and every accepted task that was not given up must run: this waits until it has (a task lost silently
 * would make the test time out).
 */
export async function underLoad(
  closer: Closer,
  connection: Connection,
  { enqueueTimeout = 500 }: LoadOptions,
  outage: (send: Send, runner: BullmqRunner) => Promise<void>,
): Promise<LoadResult> {
  const queueName = uniqueQueueName('load');
  const runner = closer.add(bullmqRunner({ connection, queueName, enqueueTimeout }));
  const ran = new Map<string, number>();
  let expected: ReadonlySet<string> | undefined;
  const allRan = deferred();
  const check = (): void => {
    if (expected !== undefined && [...expected].every((arg) => ran.has(arg))) allRan.resolve();
  };
  const record = defineTask('record', (arg: string) => {
    ran.set(arg, (ran.get(arg) ?? 0) + 1);
    check();
  });
  // Short locks, as in the chaos test: a job whose completion the outage cut off comes back within the test.
  const worker = closer.add(
    runWorker({ connection, queueName, tasks: [record], concurrency: 4, lockDuration: 2000, stalledInterval: 1000 }),
  );
  const { failures, onError } = collectErrors();
  const { app, bg } = appWith({ runner, onError });
  app.post('/add/:arg', (req, res) => {
    res.locals.background.addTask(record, req.params.arg as string);
    res.sendStatus(204);
  });
  const server: Server = app.listen(0, '127.0.0.1');
  const port = await listen(server);
  const accepted: string[] = [];
  let sent = 0;
  const sendOne = async (): Promise<void> => {
    const arg = `t${sent++}`;
    const response = await fetch(`http://127.0.0.1:${port}/add/${arg}`, { method: 'POST' });
    await response.arrayBuffer();
    if (response.status === 204) accepted.push(arg);
  };
  const send: Send = async (n) => {
    await Promise.all([...Array.from({ length: n }, sendOne), sleep(20)]);
  };
  try {
    await send(100);
    await outage(send, runner);
    await send(100);
  } finally {
    await close(server);
  }
  if (accepted.length !== sent) throw new Error(`${sent - accepted.length} of ${sent} requests were refused`);

  await bg.drain({ timeout: 15_000 });
  const givenUp = failures.map(({ error, info }) => {
    if (!(error instanceof EnqueueError)) throw new Error(`onError got something else than a given-up enqueue: ${String(error)}`);
    return info.url.slice('/add/'.length);
  });
  expected = new Set(accepted.filter((arg) => !givenUp.includes(arg)));
  check();
  await allRan.promise;
  return { accepted, ran, givenUp, runner, worker };
}

/**
 * Every accepted task ran or was given up (and reported), none ran that was not accepted, and the runner's counters
 * agree: stored plus given up is everything accepted, nothing left in memory.
 */
export function expectNoneLost({ accepted, ran, givenUp, runner }: LoadResult): void {
  expect(accepted.filter((arg) => !ran.has(arg) && !givenUp.includes(arg))).toEqual([]);
  expect([...ran.keys()].filter((arg) => !accepted.includes(arg))).toEqual([]);
  expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: accepted.length - givenUp.length, givenUp: givenUp.length });
}
