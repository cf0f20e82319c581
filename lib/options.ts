// The middleware's options: their types, their defaults in one object, and parsing them in one place.
import type { Request, Response } from 'express';
import { describeError, pathOf } from './report.js';
import type { QueueRunner } from './queue-runner.js';
import { checkBoolean, checkCount, checkFunction, checkOptionsObject, checkTimeout } from './validate.js';

/** What onError learns about the task that failed (never its arguments). */
export interface TaskInfo {
  /** The task's defineTask name, its function's name, or 'anonymous' ('waitUntil' for waitUntil promises). */
  readonly name: string;
  /** The method of the request the task was added during. */
  readonly method: string;
  /** That request's `originalUrl`, query string included: mind what you log. */
  readonly url: string;
  /** How many attempts were made (1 unless the task was defined with retries). */
  readonly attempts: number;
}

export type ErrorHandler = (error: unknown, info: TaskInfo) => void;
export type SkipPredicate = (req: Request, res: Response) => boolean;

export interface BackgroundTasksOptions {
  /** Called once for every task that fails or times out. Default: one console.error line. */
  readonly onError?: ErrorHandler;
  /** Decides, when the response finishes, whether its tasks are skipped. Default: status >= 500. */
  readonly skip?: SkipPredicate;
  /** Skip the rest of a response's tasks after one fails, as Starlette does. Default false. */
  readonly stopOnError?: boolean;
  /** Per-task timeout in ms; the task's signal aborts with a TimeoutError. Default: none. */
  readonly timeout?: number;
  /** At most this many tasks run at once across this middleware. Default: Infinity. */
  readonly concurrency?: number;
  /** At most this many tasks wait to start; beyond it addTask throws BackgroundTasksFullError. Default: Infinity. */
  readonly maxQueued?: number;
  /** Refuse, at addTask, arguments that are not JSON-safe (always on with a queue runner). Default false. */
  readonly checkArgs?: boolean;
  /** Hand tasks to a queue instead of running them in this process (see express-background-tasks/bullmq). */
  readonly runner?: QueueRunner;
}

/** The parsed options, every one present. */
export interface Settings {
  readonly onError: ErrorHandler;
  readonly skip: SkipPredicate;
  readonly stopOnError: boolean;
  readonly timeout: number;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly checkArgs: boolean;
  readonly runner: QueueRunner | undefined;
}

/** The default onError: one line naming the task and the error, never its arguments or the query string. */
export function logTaskError(error: unknown, info: TaskInfo): void {
  const attempts = info.attempts > 1 ? ` after ${info.attempts} attempts` : '';
  console.error(
    `express-background-tasks: task "${info.name}" (${info.method} ${pathOf(info.url)}) failed${attempts}: ${describeError(error)}`,
  );
}

/** The default skip: a response that ended in a server error discards its tasks, as FastAPI does. */
export function skipServerErrors(_req: Request, res: Response): boolean {
  return res.statusCode >= 500;
}

const defaults: Settings = {
  onError: logTaskError,
  skip: skipServerErrors,
  stopOnError: false,
  timeout: Number.POSITIVE_INFINITY,
  concurrency: Number.POSITIVE_INFINITY,
  maxQueued: Number.POSITIVE_INFINITY,
  checkArgs: false,
  runner: undefined,
};

const WHERE = 'backgroundTasks()';

function checkRunner(value: unknown): QueueRunner | undefined {
  if (value === undefined) return undefined;
  const runner = value as Partial<QueueRunner> | null;
  if (runner === null || typeof runner !== 'object' || typeof runner.enqueue !== 'function') {
    throw new TypeError(`${WHERE}: option "runner" must be a queue runner, such as bullmqRunner() from express-background-tasks/bullmq`);
  }
  return value as QueueRunner;
}

export function parseOptions(options: unknown): Settings {
  const raw = checkOptionsObject(WHERE, options, Object.keys(defaults));
  const runner = checkRunner(raw.runner);
  return {
    onError: checkFunction(WHERE, 'onError', raw.onError, defaults.onError),
    skip: checkFunction(WHERE, 'skip', raw.skip, defaults.skip),
    stopOnError: checkBoolean(WHERE, 'stopOnError', raw.stopOnError, defaults.stopOnError),
    timeout: checkTimeout(WHERE, 'timeout', raw.timeout, defaults.timeout),
    concurrency: checkCount(WHERE, 'concurrency', raw.concurrency, 1, defaults.concurrency),
    maxQueued: checkCount(WHERE, 'maxQueued', raw.maxQueued, 0, defaults.maxQueued),
    // A queue stores arguments as JSON, so a queue runner always checks them.
    checkArgs: checkBoolean(WHERE, 'checkArgs', raw.checkArgs, defaults.checkArgs) || runner !== undefined,
    runner,
  };
}
