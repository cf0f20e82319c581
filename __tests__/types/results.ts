// Type tests (tsc only, not jest): stats(), drain(), taskSignal() and BackgroundTasksFullError.
import { BackgroundTasksFullError, backgroundTasks, type DrainOptions, type DrainResult, type Stats, taskSignal } from '../../lib/index.js';

const middleware = backgroundTasks();

const stats: Stats = middleware.stats();
const counts: number[] = [stats.queued, stats.running, stats.succeeded, stats.failed, stats.timedOut, stats.skipped];
// @ts-expect-error: counters are numbers
const queued: string = stats.queued;
// @ts-expect-error: the snapshot is readonly
stats.failed = 0;
// @ts-expect-error: no such counter
void stats.pending;

async function shutdown(): Promise<void> {
  const result: DrainResult = await middleware.drain();
  const drained: boolean = result.drained;
  const pending: number = result.pending;
  const bounded: DrainResult = await middleware.drain({ timeout: 10_000 });
  const options: DrainOptions = { timeout: Number.POSITIVE_INFINITY };
  await middleware.drain(options);
  // @ts-expect-error: drain() resolves to a result, not a boolean
  const flag: boolean = await middleware.drain();
  // @ts-expect-error: the result is readonly
  result.pending = 0;
  // @ts-expect-error: the timeout is a number of ms
  await middleware.drain({ timeout: '10s' });
  // @ts-expect-error: unknown drain option
  await middleware.drain({ deadline: 10 });
  void [drained, pending, bounded, flag];
}

async function task(url: string): Promise<void> {
  const signal: AbortSignal = taskSignal();
  await fetch(url, { signal });
  signal.throwIfAborted();
  // @ts-expect-error: taskSignal() returns an AbortSignal, not a controller
  taskSignal().abort();
  // @ts-expect-error: taskSignal() takes no arguments
  taskSignal('task');
}

function fullError(error: unknown): number | undefined {
  if (error instanceof BackgroundTasksFullError) {
    const status: 503 = error.status;
    const statusCode: 503 = error.statusCode;
    const expose: true = error.expose;
    const maxQueued: number = error.maxQueued;
    const name: 'BackgroundTasksFullError' = error.name;
    const asError: Error = error;
    // @ts-expect-error: the status is the literal 503
    const other: 500 = error.status;
    // @ts-expect-error: the fields are readonly
    error.maxQueued = 1;
    void [statusCode, expose, name, asError, other];
    return status + maxQueued;
  }
  return undefined;
}

const made = new BackgroundTasksFullError(10);
// @ts-expect-error: the constructor takes the maxQueued limit
new BackgroundTasksFullError('full');

void [counts, queued, shutdown, task, fullError, made];
