// defineTask(): a named task with its own retries, backoff and timeout, still callable like the function it wraps.
import {
  checkBoolean,
  checkInteger,
  checkOptionsObject,
  checkTimeout,
  fail,
  invalid,
  MAX_TIMER_MS,
  parseWithTable,
  received,
} from './check.js';

export interface Backoff {
  /** 'fixed' waits `delay` ms between attempts; 'exponential' waits delay * 2^(attempt - 1), as BullMQ does. */
  readonly type: 'fixed' | 'exponential';
  /** Milliseconds. */
  readonly delay: number;
}

export interface TaskOptions {
  /** How many times a failed attempt is tried again (default 0). */
  readonly retries?: number;
  /** How long to wait between attempts (default: no wait). */
  readonly backoff?: Backoff;
  /** Per-attempt timeout in ms (Infinity for none); overrides the middleware's `timeout`. */
  readonly timeout?: number;
  /** Run on a worker thread of the `threads` pool (see express-background-tasks/threads). Default false. */
  readonly thread?: boolean;
  /**
   * Keep the return value on the task's status record (`record.result`; the `status` option): it must be
   * JSON-serializable and at most 64 KiB as JSON, else the record gets none and a line says why. Default false.
   */
  readonly result?: boolean;
}

/** What defineTask() recorded; read once, when a task is accepted (see policy.ts). */
export interface TaskDefinition {
  readonly name: string;
  readonly retries: number;
  readonly backoff: Backoff | undefined;
  readonly timeout: number | undefined;
  readonly thread: boolean;
  readonly result: boolean;
}

/** A task made with defineTask(): call it like `fn`, or pass it to `addTask` with type-checked arguments. */
export type DefinedTask<A extends unknown[] = unknown[], R = unknown> = ((...args: A) => R) & {
  readonly taskName: string;
  readonly taskDefinition: TaskDefinition;
};

const WHERE = 'defineTask()';

/** defineTask()'s options: known keys, defaults and checks in one table. */
const TASK_OPTIONS = {
  retries: (value: unknown) => checkInteger(WHERE, 'retries', value, { min: 0, fallback: 0, infinity: false }),
  backoff: (value: unknown) => checkBackoff(value),
  timeout: (value: unknown) => checkTimeout(WHERE, 'timeout', value, { fallback: undefined }),
  thread: (value: unknown) => checkBoolean(WHERE, 'thread', value, { fallback: false }),
  result: (value: unknown) => checkBoolean(WHERE, 'result', value, { fallback: false }),
};

function checkBackoff(value: unknown): Backoff | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') fail(WHERE, 'backoff', "an object like { type: 'fixed', delay: 1000 }", value);
  // Own properties only, as every option is read.
  const { type, delay } = checkOptionsObject(`${WHERE}: option "backoff"`, value, ['type', 'delay']);
  if (type !== 'fixed' && type !== 'exponential') fail(WHERE, 'backoff.type', "'fixed' or 'exponential'", type);
  if (delay === undefined) fail(WHERE, 'backoff.delay', 'a whole number of milliseconds >= 0', delay);
  return { type, delay: checkInteger(WHERE, 'backoff.delay', delay, { min: 0, fallback: 0, infinity: false, max: MAX_TIMER_MS }) };
}

/** The wait before attempt `attempt + 1`, after `attempt` failed attempts (never above a timer's limit). */
export function backoffDelay(backoff: Backoff | undefined, attempt: number): number {
  if (backoff === undefined) return 0;
  return Math.min(backoff.type === 'fixed' ? backoff.delay : Math.round(2 ** (attempt - 1) * backoff.delay), MAX_TIMER_MS);
}

export function defineTask<A extends unknown[], R>(name: string, fn: (...args: A) => R, options?: TaskOptions): DefinedTask<A, R> {
  if (typeof name !== 'string' || name.trim() === '') {
    invalid(`${WHERE}: argument "name" must be a non-empty string; received ${received(name)}`);
  }
  if (typeof fn !== 'function') {
    invalid(`${WHERE}: argument "fn" must be a function; received ${received(fn)}`);
  }
  const definition: TaskDefinition = Object.freeze({ name, ...parseWithTable(WHERE, options, TASK_OPTIONS) });
  const task = function (this: unknown, ...args: A): R {
    return fn.apply(this, args);
  };
  Object.defineProperties(task, {
    name: { value: name },
    taskName: { value: name, enumerable: true },
    taskDefinition: { value: definition, enumerable: true },
  });
  return task as DefinedTask<A, R>;
}

/** The definition behind a task function, if it was made with defineTask(). */
export function definitionOf(fn: unknown): TaskDefinition | undefined {
  return (fn as Partial<DefinedTask>).taskDefinition;
}
