// The tasks of the queue status tests, shared by the web apps (in the test) and the worker process (status-worker.ts).
import { defineTask, taskId, taskProgress } from '../../lib/index.js';

let release!: () => void;
/** Resolved by the worker process when the test says "go" on its stdin. */
export const go = new Promise<void>((resolve) => {
  release = resolve;
});

export function letGo(): void {
  release();
}

function print(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Reports half way, waits for the test's "go", then finishes with a result. */
export const report = defineTask(
  'report',
  async (rows: number) => {
    print({ event: 'run', id: taskId(), pid: process.pid });
    taskProgress(0.5, 'half way');
    await go;
    taskProgress(1, 'written');
    return { rows };
  },
  { result: true },
);

/** Fails with a code, and a message the records must not show. */
export const broken = defineTask('broken', () => {
  throw Object.assign(new Error('secret internals'), { code: 'E_BROKEN' });
});

/** Never ends: its timeout fails it. */
export const stuck = defineTask('stuck', () => new Promise(() => {}), { timeout: 50 });

/** Reports progress a hundred thousand times in a tight loop. */
export const busyLoop = defineTask(
  'busyLoop',
  () => {
    for (let i = 1; i <= 100_000; i++) taskProgress(i / 100_000, i === 100_000 ? 'all done' : undefined);
    return 'looped';
  },
  { result: true },
);

/** A quick task with a result: the list status tests fill their lists with it. */
export const square = defineTask('square', (n: number) => n * n, { result: true });

/** Fails on its first attempt and succeeds on its second (the list status tests count its attempts). */
let flaky = 0;
export const flakyOnce = defineTask(
  'flakyOnce',
  () => {
    flaky++;
    if (flaky % 2 === 1) throw new Error('first try');
    return 'second try';
  },
  { retries: 1, result: true },
);
