// How long a job takes to come back after its worker dies (kill -9), and that close({ timeout }) keeps its bound.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { bullmqRunner, CLOSE_OVERRUN_MS, runWorker } from '../../lib/bullmq/index.js';
import { defineTask, taskSignal } from '../../lib/index.js';
import { Child, deferred, killChildren } from '../helpers.js';
import { describeWithRedis, uniqueQueueName, useRedis } from './support.js';

const QUEUE_PROCESS = path.join(__dirname, 'queue-process.ts');
/** Timers, process scheduling and Redis round trips on a busy 2-core machine: what the measured times may exceed their bound by. */
const SLACK_MS = 1000;
const ORIGIN = { method: 'POST', url: '/add' };

describe('runWorker() timing options (no Redis needed)', () => {
  test.each([
    ['lockDuration', 0],
    ['lockDuration', 99],
    ['lockDuration', 1500.5],
    ['lockDuration', Number.POSITIVE_INFINITY],
    ['stalledInterval', '1000'],
    ['stalledInterval', -1],
  ])('%s: %p is a TypeError naming the option', (name, value) => {
    const record = defineTask('record', () => undefined);
    const start = () => runWorker({ connection: 'redis://127.0.0.1:1', queueName: 'q', tasks: [record], [name]: value });
    expect(start).toThrow(TypeError);
    expect(start).toThrow(`runWorker(): option "${name}" must be an integer >= 100`);
  });
});

describeWithRedis('worker timings', () => {
  const redis = useRedis();
  const { closer } = redis;
  afterEach(killChildren);

  test('after kill -9 of its worker, a job runs again within lockDuration + 2 x stalledInterval (README)', async () => {
    const lockDuration = 1000;
    const stalledInterval = 1000;
    const queueName = uniqueQueueName('kill9');
    const env = {
      ROLE: 'worker',
      REDIS_URL: redis.server.url,
      QUEUE_NAME: queueName,
      LOCK_MS: String(lockDuration),
      STALLED_MS: String(stalledInterval),
    };
    const first = new Child(QUEUE_PROCESS, { ...env, HANG_ARG: 'stuck' });
    await first.message('ready');
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const record = defineTask('record', (_arg: string) => undefined);
    await runner.enqueue([{ definition: record.taskDefinition, args: ['stuck'], id: randomUUID() }], {
      stopOnError: false,
      timeout: Number.POSITIVE_INFINITY,
      origin: ORIGIN,
    });
    const firstRun = await first.message('run', (m) => m.arg === 'stuck');
    // A second worker that is ready before the first dies: its stalled-job check is what brings the job back.
    const second = new Child(QUEUE_PROCESS, env);
    await second.message('ready');

    const killedAt = performance.now();
    expect(await first.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const secondRun = await second.message('run', (m) => m.arg === 'stuck');
    const elapsed = performance.now() - killedAt;

    expect(secondRun.id).toBe(firstRun.id); // the same job, delivered again
    expect(await second.message('stalled')).toMatchObject({ id: firstRun.id });
    // The README's bound: the lock expires, then the workers' shared stalled-check schedule may skip one check.
    expect(elapsed).toBeLessThan(lockDuration + 2 * stalledInterval + SLACK_MS);
  });

  test.each([
    ['ignores its signal (the job is left to the stalled-job check)', false],
    ['stops on its signal (the job is handed back)', true],
  ])('close({ timeout }) resolves within timeout + CLOSE_OVERRUN_MS (550 ms) when the task %s', async (_what, heeds) => {
    const queueName = uniqueQueueName('close-bound');
    const started = deferred();
    const slow = defineTask('slow', async () => {
      const signal = taskSignal();
      started.resolve();
      await new Promise((resolve) => (heeds ? signal.addEventListener('abort', resolve) : undefined));
      throw signal.reason;
    });
    const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
    const worker = runWorker({ connection: redis.server.url, queueName, tasks: [slow] });
    await runner.enqueue([{ definition: slow.taskDefinition, args: [], id: randomUUID() }], {
      stopOnError: false,
      timeout: Number.POSITIVE_INFINITY,
      origin: ORIGIN,
    });
    await started.promise;
    const timeout = 1000;
    const begun = performance.now();
    expect(await worker.close({ timeout })).toEqual({ drained: false, abandoned: 1 });
    const elapsed = performance.now() - begun;
    // The README's bound, plus a little for timers firing late.
    expect(elapsed).toBeLessThan(timeout + CLOSE_OVERRUN_MS + 100);
  });
});
