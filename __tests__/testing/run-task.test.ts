// runTask(): a queue worker's task run as its job would be (JSON round trip, retries, timeout, taskId(), taskProgress()), without Redis.
import { defineTask, InvalidArgumentError, TaskTimeoutError, taskId, taskProgress, taskSignal } from '../../lib/index.js';
import { runTask } from '../../lib/testing/index.js';

describe('runTask()', () => {
  test('resolves with the result; the arguments went through JSON; taskId() is a UUID', async () => {
    const seen: unknown[] = [];
    const total = defineTask('total', (order: { lines: number[]; at: unknown }) => {
      seen.push(order.at, taskId());
      taskProgress(1, 'done');
      return order.lines.reduce((sum, line) => sum + line, 0);
    });
    // A null-prototype object (what some parsers make) passes the JSON check and arrives as a plain one, as from Redis.
    const at = Object.assign(Object.create(null) as Record<string, unknown>, { day: 1 });
    const outcome = await runTask(total, { lines: [1, 2, 3], at });
    expect(outcome).toEqual({ state: 'succeeded', attempts: 1, result: 6 });
    expect(Object.getPrototypeOf(seen[0])).toBe(Object.prototype);
    expect(seen[0]).toEqual({ day: 1 });
    expect(seen[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("a task's retries: every attempt has the same taskId(); the last error is the outcome", async () => {
    const ids = new Set<string | undefined>();
    let attempts = 0;
    const sync = defineTask(
      'syncCrm',
      async (contact: string) => {
        attempts++;
        ids.add(taskId());
        if (attempts < 3) throw new Error(`CRM down for ${contact} (attempt ${attempts})`);
        return `synced ${contact}`;
      },
      { retries: 2, backoff: { type: 'fixed', delay: 1 } },
    );
    expect(await runTask(sync, 'ada')).toEqual({ state: 'succeeded', attempts: 3, result: 'synced ada' });
    expect(ids.size).toBe(1);

    attempts = -10;
    const failed = await runTask(sync, 'grace');
    expect(failed).toMatchObject({ state: 'failed', attempts: 3 });
    expect((failed.error as Error).message).toBe('CRM down for grace (attempt -7)');
  });

  test("the definition's timeout ends an attempt and aborts its signal", async () => {
    const hangs = defineTask(
      'hangs',
      () =>
        new Promise((_resolve, reject) => {
          const signal = taskSignal();
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { timeout: 20 },
    );
    const outcome = await runTask(hangs);
    expect(outcome).toMatchObject({ state: 'timedOut', attempts: 1 });
    expect(outcome.error).toBeInstanceOf(TaskTimeoutError);
  });

  test('refuses a plain function and arguments a queue cannot carry, naming runTask()', () => {
    expect(() => runTask((() => {}) as never)).toThrow(InvalidArgumentError);
    expect(() => runTask((() => {}) as never)).toThrow(
      'runTask(definition, ...args): argument "definition" must be a task made with defineTask',
    );
    const remind = defineTask('remind', (_when: unknown) => {});
    expect(() => runTask(remind, { onDone: () => {} })).toThrow(
      'runTask(): task "remind": args[0].<key 0> is a function, which is not able to go through a queue intact',
    );
  });
});
