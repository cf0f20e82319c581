// Every options parser reads own properties only, refuses a Map, quotes unknown keys bounded, and refuses numbers a timer cannot hold.
import request from 'supertest';
import { parseRunnerOptions, parseWorkerOptions } from '../lib/bullmq/options.js';
import { backgroundTasks, defineTask } from '../lib/index.js';
import { appWith, settled } from './helpers.js';

const noop = defineTask('noop', () => undefined);
const workerOptions = { connection: 'redis://127.0.0.1:1', queueName: 'q', tasks: [noop] };

describe('options are read as own properties only', () => {
  /** Pollutes Object.prototype with `values` for the duration of `body`, and restores it whatever happens. */
  async function polluted(values: Record<string, unknown>, body: () => unknown): Promise<void> {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      for (const [key, value] of Object.entries(values)) proto[key] = value;
      await body();
    } finally {
      for (const key of Object.keys(values)) delete proto[key];
    }
  }

  it('Object.prototype.maxQueued = 0 does not make a plain backgroundTasks() refuse tasks', async () => {
    await polluted({ maxQueued: 0, concurrency: 'x', timeout: 'abc' }, async () => {
      let ran = 0;
      const { app, bg } = appWith({}, (_req, res) => {
        res.locals.background.addTask(() => {
          ran++;
        });
        res.end('ok');
      });
      const noOptions = backgroundTasks();
      expect(noOptions.stats().queued).toBe(0);
      await request(app).post('/').expect(200);
      await settled(bg);
      expect(ran).toBe(1);
      expect(bg.stats()).toMatchObject({ succeeded: 1, failed: 0 });
    });
  });

  it('defineTask, drain(), bullmqRunner() and runWorker() ignore inherited keys too', async () => {
    await polluted({ retries: -1, backoff: 5, delay: -1, type: 'linear', timeout: 'abc', lockDuration: 1, enqueueTimeout: 0 }, async () => {
      expect(defineTask('t', () => undefined, {}).taskDefinition).toMatchObject({ retries: 0, backoff: undefined, timeout: undefined });
      expect(defineTask('t', () => undefined, { backoff: { type: 'fixed', delay: 5 } }).taskDefinition.backoff).toEqual({
        type: 'fixed',
        delay: 5,
      });
      await expect(backgroundTasks().drain({})).resolves.toEqual({ drained: true, pending: 0 });
      expect(parseRunnerOptions({ connection: 'redis://127.0.0.1:1', queueName: 'q' }).enqueueTimeout).toBe(5000);
      expect(parseWorkerOptions(workerOptions).lockDuration).toBe(30_000);
    });
  });
});

describe('options of the wrong kind', () => {
  it('refuses options passed as a Map, rather than ignoring them', () => {
    expect(() => backgroundTasks(new Map([['maxQueued', 1]]) as never)).toThrow(
      /backgroundTasks\(\): options must be a plain object such as \{ timeout: 1000 \}; received a Map/,
    );
    expect(() => defineTask('t', () => undefined, new Map() as never)).toThrow(/defineTask\(\): options must be a plain object.*a Map/);
    expect(() => backgroundTasks().drain(new Map([['timeout', 5]]) as never)).toThrow(/drain\(\): options must be a plain object/);
  });

  it('quotes an unknown option key escaped and cut, never whole', () => {
    const long = `${'k'.repeat(10_000)}\n`;
    let message = '';
    try {
      backgroundTasks({ [long]: 1 } as never);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^backgroundTasks\(\): unknown option "k{40}\.\.\."; the options are/);
    expect(message.length).toBeLessThan(400);
    expect(() => backgroundTasks({ 'evil\n\u001b[31m': 1 } as never)).toThrow(/unknown option "evil\\n\\u001b\[31m"/);
  });
});

describe('numbers that become timers are at most 2^31 - 1 ms', () => {
  const over = 2 ** 31;

  it('refuses backoff.delay above the limit (Node would retry after 1 ms)', () => {
    expect(() => defineTask('t', () => undefined, { retries: 1, backoff: { type: 'fixed', delay: over } })).toThrow(
      /option "backoff.delay" must be an integer >= 0 and <= 2147483647 \(Node's timer limit\); received number 2147483648/,
    );
    expect(() => defineTask('t', () => undefined, { retries: 1, backoff: { type: 'fixed', delay: over - 1 } })).not.toThrow();
  });

  it('refuses runWorker lockDuration and stalledInterval above the limit', () => {
    expect(() => parseWorkerOptions({ ...workerOptions, lockDuration: over })).toThrow(
      /runWorker\(\): option "lockDuration" must be an integer >= 100 and <= 2147483647/,
    );
    expect(() => parseWorkerOptions({ ...workerOptions, stalledInterval: over })).toThrow(
      /runWorker\(\): option "stalledInterval" must be an integer >= 100 and <= 2147483647/,
    );
    expect(parseWorkerOptions({ ...workerOptions, lockDuration: over - 1 }).lockDuration).toBe(over - 1);
  });

  it('refuses timeouts and deadlines above the limit', () => {
    expect(() => backgroundTasks({ timeout: over })).toThrow(/option "timeout".*at most 2147483647/);
    expect(() => defineTask('t', () => undefined, { timeout: over })).toThrow(/defineTask\(\): option "timeout".*at most 2147483647/);
    expect(() => backgroundTasks().drain({ timeout: over })).toThrow(/drain\(\): option "timeout".*at most 2147483647/);
  });
});
