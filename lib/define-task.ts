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

/** A key computed from a task's arguments at addTask (a customer id, a user id): tasks of one key share a limit. */
export type KeyFunction<A extends unknown[] = unknown[]> = (...args: A) => string;

export interface DedupeOptions<A extends unknown[] = unknown[]> {
  /** The key: adds of the same task name and key are one task. */
  readonly key: KeyFunction<A>;
  /** 'drop': how long after an add later adds are dropped (also while it is queued or running). 'debounce': the quiet before the run. In ms. */
  readonly ttl: number;
  /** 'drop' (default): later adds add nothing and get the first task's handle. 'debounce': one run, with the last arguments, ttl ms after the last add. */
  readonly mode?: 'drop' | 'debounce';
}

export interface RateLimitOptions<A extends unknown[] = unknown[]> {
  /** At most this many starts... */
  readonly limit: number;
  /** ...in any window of this many ms (a sliding window). */
  readonly per: number;
  /** Per key when given; else one limit for the task. */
  readonly key?: KeyFunction<A>;
}

export interface ConcurrencyOptions<A extends unknown[] = unknown[]> {
  /** At most this many tasks of this kind running at once... */
  readonly limit: number;
  /** ...per key when given. */
  readonly key?: KeyFunction<A>;
}

export interface Backoff {
  /** 'fixed' waits `delay` ms between attempts; 'exponential' waits delay * 2^(attempt - 1), as BullMQ does. */
  readonly type: 'fixed' | 'exponential';
  /** Milliseconds. */
  readonly delay: number;
}

export interface TaskOptions<A extends unknown[] = unknown[]> {
  /** How many times a failed attempt is tried again (default 0). */
  readonly retries?: number;
  /** How long to wait between attempts (default: no wait). */
  readonly backoff?: Backoff;
  /** Per-attempt timeout in ms (Infinity for none); overrides the middleware's `timeout`. */
  readonly timeout?: number;
  /** Run on a worker thread of the `threads` pool (see express-background-tasks/threads). Default false. */
  readonly thread?: boolean;
  /** Deduplicate or debounce adds by a key (see README "Flow control"). */
  readonly dedupe?: DedupeOptions<A>;
  /** At most `limit` starts in any `per` ms, per key when given; tasks over it wait, in order. */
  readonly rateLimit?: RateLimitOptions<A>;
  /** At most `limit` running at once, per key when given; the middleware's own `concurrency` still caps all tasks. */
  readonly concurrency?: ConcurrencyOptions<A>;
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
  readonly dedupe: Required<DedupeOptions> | undefined;
  readonly rateLimit: RateLimitOptions | undefined;
  readonly concurrency: ConcurrencyOptions | undefined;
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
  dedupe: (value: unknown) => checkDedupe(value),
  rateLimit: (value: unknown) => checkRateLimit(value),
  concurrency: (value: unknown) => checkConcurrency(value),
  result: (value: unknown) => checkBoolean(WHERE, 'result', value, { fallback: false }),
};

/** A nested options object: its keys, each unknown one refused with the list of known ones. */
function nested(name: string, value: unknown, example: string, known: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(WHERE, name, `an object like ${example}`, value);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) invalid(`${WHERE}: unknown key "${name}.${key}"; ${name} takes ${known.map((k) => `"${k}"`).join(', ')}`);
  }
  return value as Record<string, unknown>;
}

function checkKey(name: string, value: unknown, required: boolean): KeyFunction | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'function') fail(WHERE, name, "a function of the task's arguments that returns a string", value);
  return value as KeyFunction;
}

function checkDedupe(value: unknown): Required<DedupeOptions> | undefined {
  if (value === undefined) return undefined;
  const raw = nested('dedupe', value, "{ key: (userId) => userId, ttl: 5000, mode: 'debounce' }", ['key', 'ttl', 'mode']);
  const mode = raw.mode ?? 'drop';
  if (mode !== 'drop' && mode !== 'debounce') fail(WHERE, 'dedupe.mode', "'drop' or 'debounce'", raw.mode);
  if (raw.ttl === undefined) fail(WHERE, 'dedupe.ttl', 'a number of milliseconds above 0', raw.ttl);
  const ttl = checkTimeout(WHERE, 'dedupe.ttl', raw.ttl, { fallback: 0, infinity: false });
  return Object.freeze({ key: checkKey('dedupe.key', raw.key, true) as KeyFunction, ttl, mode });
}

function checkRateLimit(value: unknown): RateLimitOptions | undefined {
  if (value === undefined) return undefined;
  const raw = nested('rateLimit', value, '{ limit: 10, per: 1000 }', ['limit', 'per', 'key']);
  if (raw.limit === undefined) fail(WHERE, 'rateLimit.limit', 'an integer >= 1', raw.limit);
  const limit = checkInteger(WHERE, 'rateLimit.limit', raw.limit, { min: 1, fallback: 1, infinity: false });
  if (raw.per === undefined) fail(WHERE, 'rateLimit.per', 'a number of milliseconds above 0', raw.per);
  const per = checkTimeout(WHERE, 'rateLimit.per', raw.per, { fallback: 0, infinity: false });
  const key = checkKey('rateLimit.key', raw.key, false);
  return Object.freeze(key === undefined ? { limit, per } : { limit, per, key });
}

function checkConcurrency(value: unknown): ConcurrencyOptions | undefined {
  if (value === undefined) return undefined;
  const raw = nested('concurrency', value, '{ limit: 2, key: (customerId) => customerId }', ['limit', 'key']);
  if (raw.limit === undefined) fail(WHERE, 'concurrency.limit', 'an integer >= 1', raw.limit);
  const limit = checkInteger(WHERE, 'concurrency.limit', raw.limit, { min: 1, fallback: 1, infinity: false });
  const key = checkKey('concurrency.key', raw.key, false);
  return Object.freeze(key === undefined ? { limit } : { limit, key });
}

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

export function defineTask<A extends unknown[], R>(name: string, fn: (...args: A) => R, options?: TaskOptions<A>): DefinedTask<A, R> {
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
