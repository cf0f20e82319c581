// Lists Redis never takes are given up at once (counted, reported) and never hold up later lists; long lists are stored; a reconnect keeps the retry backoff.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { format } from 'node:util';
import request from 'supertest';
import { LONGEST_CHAIN } from '../../lib/bullmq/flow.js';
import { bullmqRunner, runWorker, type WorkerTaskInfo } from '../../lib/bullmq/index.js';
import { defineTask, type TaskInfo, taskSignal } from '../../lib/index.js';
import { debug } from '../../lib/report.js';
import { appWith, deferred, freePort, settled } from '../helpers.js';
import { Closer, describeWithRedis, inspectQueue, nextOutcomes, spawnRedis, uniqueQueueName } from './support.js';

const seen: string[] = [];
const note = defineTask('note', (arg: string) => {
  seen.push(arg);
});
const flaky = defineTask('flaky', (arg: string) => {
  seen.push(arg);
  if (arg.startsWith('fail')) throw new Error(`task ${arg} failed`);
});

/** Why Redis refused a 2 MB argument: its error reply, or (the connection cut first) the size the runner checks. */
const REFUSED_FOR_SIZE =
  /Protocol error: invalid bulk length|a job's data is \d+ bytes, more than this Redis takes \(proto-max-bulk-len 1048576\)/;

/** A redis-server of this file's own, with a small proto-max-bulk-len (1 MB, Redis's smallest) so that a 2 MB argument is refused. */
class SmallRedis {
  url = '';
  #child: ChildProcess | undefined;

  async start(): Promise<void> {
    const port = await freePort();
    this.#child = await spawnRedis(port, ['--proto-max-bulk-len', '1mb']);
    this.url = `redis://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A TCP proxy in front of Redis that, while `cutting`, cuts the connection that sends a command holding `marker`
 * (the argument of the task whose list it carries): a send that drops the connection every time.
 */
class CuttingProxy {
  port = 0;
  cutting = true;
  /** When each cut happened (performance.now()). */
  readonly cuts: number[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  constructor(target: number, marker: string) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.on('data', (chunk: Buffer) => {
        if (this.cutting && chunk.includes(marker)) {
          this.cuts.push(performance.now());
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describeWithRedis('lists Redis never takes, long lists, and the retry backoff', () => {
  const closer = new Closer();
  const redis = new SmallRedis();
  const lines: string[] = [];
  const workerFailures: Array<{ message: string; info: WorkerTaskInfo }> = [];
  beforeAll(() => redis.start());
  afterAll(() => redis.stop());
  beforeEach(() => {
    seen.length = 0;
    lines.length = 0;
    workerFailures.length = 0;
    // The runner's warn() lines are expected here: kept for the assertions, not printed.
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(format(...args));
    });
  });
  afterEach(async () => {
    await closer.closeAll();
    jest.restoreAllMocks();
  });

  function app(url: string, options: { stopOnError?: boolean } = {}) {
    const queueName = uniqueQueueName('refused');
    const runner = closer.add(bullmqRunner({ connection: url, queueName, enqueueTimeout: 2000 }));
    const failures: Array<{ error: Error; info: TaskInfo }> = [];
    const { app: http, bg } = appWith({
      runner,
      stopOnError: options.stopOnError ?? false,
      onError: (error, info) => failures.push({ error: error as Error, info }),
    });
    /**
     * POST /add?n=3&arg=x: n tasks (args x0, x1, ...); big=1: the first with a 2 MB argument; task=flaky: that task,
     * and fail=i: the task at i gets the argument `fail<i>` (flaky throws for it).
     */
    http.post('/add', (req, res) => {
      const n = Number(req.query.n ?? 1);
      const arg = String(req.query.arg);
      const task = req.query.task === 'flaky' ? flaky : note;
      for (let i = 0; i < n; i++) {
        const value = i === 0 && req.query.big ? `${arg}${'x'.repeat(2_000_000)}` : `${arg}${i}`;
        res.locals.background.addTask(task, req.query.fail !== undefined && i === Number(req.query.fail) ? `fail${i}` : value);
      }
      res.json({ ok: true });
    });
    const worker = (concurrency = 1) =>
      closer.add(
        runWorker({
          connection: url,
          queueName,
          tasks: [note, flaky],
          concurrency,
          onError: (error, info) => workerFailures.push({ message: (error as Error).message, info }),
        }),
      );
    return { queueName, runner, bg, failures, http, worker };
  }

  test.each([
    ['one task (a plain job)', 1],
    ['a chain of three (a flow: Redis drops the connection)', 3],
  ])('a payload over proto-max-bulk-len, %s: given up at once, reported, counted failed; a later list is stored', async (_, n) => {
    const { runner, bg, failures, http, worker } = app(redis.url);
    await request(http).post(`/add?n=${n}&big=1&arg=big`).expect(200);
    await request(http).post('/add?n=1&arg=after').expect(200);
    // Today's code resends the refused list for ever, ahead of the later one: drain() would never resolve.
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 1, failed: n });
    expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: 1, givenUp: n });
    expect(failures).toHaveLength(n);
    for (const { error, info } of failures) {
      expect(info).toMatchObject({ name: 'note', where: 'queue' });
      expect(error).toMatchObject({ name: 'EnqueueError', code: 'ERR_BACKGROUND_TASKS_ENQUEUE' });
      expect(error.message).toMatch(/never stored in Redis: Redis refused it, not a connection failure/);
      // Redis answers the oversized argument with an error and closes the connection: the command hears one or the other.
      expect(error.message).toMatch(REFUSED_FOR_SIZE);
      expect(error.message).not.toContain('xxxxxxxx'); // never the argument
    }
    expect(lines.filter((line) => line.includes('gave up'))).toEqual([
      expect.stringMatching(new RegExp(`gave up ${n} tasks? never stored in Redis \\(Redis refused it.*\\): note x${n}$`)),
    ]);
    const ran = nextOutcomes(worker().worker, 1);
    expect((await ran).map((o) => o.job.data.args[0])).toEqual(['after0']);
  });

  test('flush() of a list Redis refuses rejects at once with that reason (not at the enqueue deadline); nothing is counted', async () => {
    const { runner, bg, http } = app(redis.url);
    http.post('/flush', async (_req, res) => {
      res.locals.background.addTask(note, `big${'x'.repeat(2_000_000)}`);
      try {
        await res.locals.background.flush();
        res.json({ ok: true });
      } catch (error) {
        res.status(503).json({ message: (error as Error).message });
      }
    });
    const { body } = await request(http).post('/flush').expect(503);
    expect(body.message).toMatch(/never stored in Redis: Redis refused it, not a connection failure/);
    expect(body.message).toMatch(REFUSED_FOR_SIZE);
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0, failed: 0 });
    expect(runner.stats()).toMatchObject({ buffered: 0, givenUp: 1 });
  });

  test(`a list of 10,000 tasks is stored (as one job, over ${LONGEST_CHAIN} tasks) and a worker runs it in order`, async () => {
    const { queueName, runner, bg, failures, http, worker } = app(redis.url);
    await request(http).post('/add?n=10000&arg=t').expect(200);
    await settled(bg);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 10_000, failed: 0 });
    expect(runner.stats()).toMatchObject({ enqueued: 10_000, givenUp: 0 });
    expect(failures).toEqual([]);
    const queue = inspectQueue(closer, redis.url, queueName);
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 1 });

    const running = worker(4);
    const done = nextOutcomes(running.worker, 1);
    await done;
    expect(seen).toEqual(Array.from({ length: 10_000 }, (_, i) => `t${i}`));
    expect(running.stats()).toMatchObject({ succeeded: 10_000, failed: 0, skipped: 0 });
  });

  test.each([false, true])(
    'a long list keeps stopOnError %s: a failed task is reported, and the rest run or are skipped',
    async (stopOnError) => {
      const { bg, http, worker } = app(redis.url, { stopOnError });
      const n = LONGEST_CHAIN + 1;
      await request(http).post(`/add?n=${n}&arg=x&task=flaky&fail=1`).expect(200);
      await settled(bg);
      const running = worker();
      await nextOutcomes(running.worker, 1);
      const all = Array.from({ length: n }, (_, i) => (i === 1 ? 'fail1' : `x${i}`));
      if (stopOnError) {
        expect(seen).toEqual(['x0', 'fail1']);
        expect(running.stats()).toMatchObject({ succeeded: 1, failed: 1, skipped: n - 2 });
      } else {
        expect(seen).toEqual(all);
        expect(running.stats()).toMatchObject({ succeeded: n - 1, failed: 1, skipped: 0 });
      }
      expect(workerFailures).toEqual([
        { message: 'task fail1 failed', info: expect.objectContaining({ name: 'flaky', taskId: expect.any(String), attempts: 1 }) },
      ]);
    },
  );

  test('a list job handed back by close() mid-list resumes with the task that was running: nothing before it runs twice', async () => {
    const { queueName, bg, http } = app(redis.url);
    const n = LONGEST_CHAIN + 1;
    const runs: string[] = [];
    const stopped = deferred();
    const reached = deferred();
    let stop = true;
    const careful = defineTask('note', async (arg: string) => {
      runs.push(arg);
      if (arg !== 'x50' || !stop) return;
      stop = false;
      reached.resolve();
      const signal = taskSignal();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      stopped.resolve();
      throw signal.reason;
    });
    await request(http).post(`/add?n=${n}&arg=x`).expect(200);
    await settled(bg);
    const first = runWorker({ connection: redis.url, queueName, tasks: [careful] });
    await reached.promise;
    expect(await first.close({ timeout: 50 })).toEqual({ drained: false, abandoned: 1 });
    await stopped.promise;
    const queue = inspectQueue(closer, redis.url, queueName);
    const [job] = await queue.getJobs(['wait']);
    expect(job?.progress).toBe(50);

    const second = closer.add(runWorker({ connection: redis.url, queueName, tasks: [careful] }));
    await nextOutcomes(second.worker, 1);
    const all = Array.from({ length: n }, (_, i) => `x${i}`);
    expect(runs).toEqual([...all.slice(0, 51), ...all.slice(50)]); // x50 twice: stopped, then run again
    expect(second.stats()).toMatchObject({ succeeded: n - 50, failed: 0 });
  });

  test('a send that drops the connection on every try: each resend waits for its backoff, even after a reconnect', async () => {
    const port = Number(new URL(redis.url).port);
    const marker = `cut-${uniqueQueueName('m')}`;
    const proxy = new CuttingProxy(port, marker);
    await proxy.listen();
    closer.add(proxy);
    const { runner, bg, failures, http, worker } = app(`redis://127.0.0.1:${proxy.port}`);
    const waits: Array<{ at: number; wait: number }> = [];
    const { enabled, log } = debug;
    debug.enabled = true;
    debug.log = (...args: unknown[]) => {
      const match = /next try in (\d+)ms/.exec(format(...args));
      if (match) waits.push({ at: performance.now(), wait: Number(match[1]) });
    };
    try {
      await request(http).post(`/add?n=1&arg=${marker}`).expect(200);
      // Six cut sends: the first and five resends.
      while (proxy.cuts.length < 6) await new Promise((resolve) => setImmediate(resolve));
      proxy.cutting = false;
      await settled(bg);
    } finally {
      debug.enabled = enabled;
      debug.log = log;
    }
    // Each resend came no earlier than the wait announced after the failure before it (today a reconnect resends at once).
    for (let i = 1; i < proxy.cuts.length; i++) {
      const before = waits.filter((w) => w.at <= (proxy.cuts[i] as number)).at(-1);
      expect(before).toBeDefined();
      expect((proxy.cuts[i] as number) - (before as { at: number }).at).toBeGreaterThanOrEqual((before as { wait: number }).wait - 1);
    }
    expect(runner.stats()).toMatchObject({ enqueued: 1, givenUp: 0 });
    expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
    expect(failures).toEqual([]);
    const ran = nextOutcomes(worker().worker, 1);
    expect((await ran).map((o) => o.job.data.args[0])).toEqual([`${marker}0`]);
  });
});
