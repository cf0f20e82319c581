// The middleware's options: their types, and one table that holds each option's default and check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBoolean, checkFunction, checkInteger, checkTimeout, fail, type OptionTable, parseWithTable } from './check.js';
import { InvalidArgumentError } from './errors.js';
import { logTaskError, type TaskInfo } from './outcomes.js';
import type { ThreadPool } from './place.js';
import type { PlatformWaitUntil } from './platform.js';
import type { QueueRunner } from './queue-runner.js';

export type ErrorHandler = (error: unknown, info: TaskInfo) => void;

/** When a response's list goes to the queue runner: after the response (default), or stored before it is sent. */
export type HandOff = 'after-response' | 'before-response';

/**
 * The request as skip() sees it: Node's, with the Express properties most predicates read. Described here rather
 * than imported from Express, so that the package's types compile where Express's are not installed.
 */
export interface SkipRequest extends IncomingMessage {
  readonly originalUrl: string;
  readonly path: string;
  readonly baseUrl: string;
  /** Express 5 types a wildcard parameter as an array. */
  readonly params: Record<string, string | string[]>;
  readonly query: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: Express types the parsed body as any.
  readonly body: any;
  get(name: string): string | undefined;
}

/** The response as skip() sees it: Node's, with Express's locals and header getter. */
export interface SkipResponse extends ServerResponse {
  readonly locals: Record<string, unknown>;
  get(field: string): string | undefined;
}

/**
 * Decides, when a response finishes, whether its tasks are skipped. The parameters are bivariant (as a method's
 * are), so a predicate written against Express's own `Request` and `Response` types fits as well.
 */
export type SkipPredicate = { bivariant(req: SkipRequest, res: SkipResponse): boolean }['bivariant'];

/** Who a request belongs to, for the status records' owner check: a user or tenant id, or undefined for nobody. */
export type OwnerOf = { bivariant(req: SkipRequest): string | undefined }['bivariant'];

/** The `status` option's settings (or `status: true` for every default). */
export interface StatusOptions {
  /** How long a record is kept after its task settles, in ms. Default 3600000 (one hour). */
  readonly ttl?: number;
  /** At most this many records in memory; the oldest settled ones go first, a running task's never. Default 10000. */
  readonly max?: number;
  /**
   * The owner of a request (such as its user id): a record remembers the owner of the request that added its task,
   * and taskStatusRouter() serves it only to requests with the same owner (undefined matches only undefined).
   */
  readonly owner?: OwnerOf;
  /** Put the error's message on failed records (`error.message`). Default false: messages can leak internals. */
  readonly exposeErrors?: boolean;
}

export interface StatusSettings {
  readonly ttl: number;
  readonly max: number;
  readonly owner: OwnerOf | undefined;
  readonly exposeErrors: boolean;
}

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
  /**
   * At most this many tasks wait to start (with a runner: wait to be stored); beyond it addTask throws
   * BackgroundTasksFullError. Default: Infinity, or 10,000 with a runner.
   */
  readonly maxQueued?: number;
  /**
   * With a runner: `'after-response'` (default) hands each response's list to the queue once the response has
   * finished; `'before-response'` stores it first and only then ends the response (503 if it cannot be stored
   * within the runner's enqueue deadline), as if the route had called `flush()` before answering.
   */
  readonly handOff?: HandOff;
  /** Refuse, at addTask, arguments a queue could not carry intact (always on with a queue runner). Default false. */
  readonly checkArgs?: boolean;
  /** Hand tasks to a queue instead of running them in this process (see express-background-tasks/bullmq). */
  readonly runner?: QueueRunner;
  /**
   * Called once per response list with a promise that settles when the list's tasks are done (or skipped), for
   * platforms that freeze the process after the response. Default: Vercel's `waitUntil` where it is present,
   * nothing elsewhere. `false` turns the default off.
   */
  readonly platformWaitUntil?: PlatformWaitUntil | false;
  /** Where tasks defined with `thread: true` run: threadPool() from express-background-tasks/threads. */
  readonly threads?: ThreadPool;
  /**
   * Capture the call site of each addTask, and append it to the stack of a failed task's error (below a line
   * `--- addTask() call site ---`), so that a report points at the route that added the task. Default false.
   */
  readonly captureCallSite?: boolean;
  /**
   * Keep a status record for every task, read with `handle.status()`, `handle.settled()` and taskStatusRouter():
   * `true`, or `{ ttl, max, owner, exposeErrors }`. Default: off (then no record is kept).
   */
  readonly status?: boolean | StatusOptions;
}

/** The parsed options, every one present. */
export interface Settings {
  readonly onError: ErrorHandler;
  readonly skip: SkipPredicate;
  readonly stopOnError: boolean;
  readonly timeout: number;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly handOff: HandOff;
  readonly checkArgs: boolean;
  readonly runner: QueueRunner | undefined;
  readonly platformWaitUntil: PlatformWaitUntil | false | undefined;
  readonly threads: ThreadPool | undefined;
  readonly captureCallSite: boolean;
  /** Undefined while status records are off. */
  readonly status: StatusSettings | undefined;
}

/** The default skip: a response that ended in a server error discards its tasks, as FastAPI does. */
export function skipServerErrors(_req: SkipRequest, res: SkipResponse): boolean {
  return res.statusCode >= 500;
}

const WHERE = 'backgroundTasks()';

/**
 * maxQueued when a runner is set and the option is not: tasks waiting to be stored sit in memory, so a frozen Redis
 * must become 503s, not a growing heap. A held one-task list is about 1.4 KB in the BullMQ runner (plus the
 * middleware's own per-task cost): a few tens of MB at most, far above the few hundred a healthy Redis leaves waiting
 * (bench/results.md).
 */
export const MAX_QUEUED_WITH_RUNNER = 10_000;

const HAND_OFFS: readonly HandOff[] = ['after-response', 'before-response'];

function checkHandOff(value: unknown): HandOff {
  if (value === undefined) return 'after-response';
  if (!HAND_OFFS.includes(value as HandOff)) fail(WHERE, 'handOff', "'after-response' or 'before-response'", value);
  return value as HandOff;
}

function checkRunner(value: unknown): QueueRunner | undefined {
  if (value === undefined) return undefined;
  const runner = value as Partial<QueueRunner> | null;
  if (runner === null || typeof runner !== 'object' || typeof runner.enqueue !== 'function') {
    throw new InvalidArgumentError(
      `${WHERE}: option "runner" must be a queue runner, such as bullmqRunner() from express-background-tasks/bullmq`,
    );
  }
  return value as QueueRunner;
}

/** A pool made by threadPool(), checked by shape so that the main entry never loads the threads entry. */
export function checkThreads(where: string, value: unknown): ThreadPool | undefined {
  if (value === undefined) return undefined;
  const pool = value as Partial<ThreadPool> | null;
  if (pool === null || typeof pool !== 'object' || pool.where !== 'thread' || typeof pool.attempt !== 'function') {
    throw new InvalidArgumentError(
      `${where}: option "threads" must be a thread pool made with threadPool({ module }) from express-background-tasks/threads`,
    );
  }
  return pool as ThreadPool;
}

/** Why a promise cannot be a skip() answer, said when one is refused (at creation for an async function, else at its first call). */
export const ASYNC_SKIP =
  'option "skip" must return true or false synchronously: a promise would count as true and skip every task. ' +
  'Decide from req and res as they are when the response finishes; do asynchronous checks inside the task instead';

function checkSkip(value: unknown): SkipPredicate {
  const skip = checkFunction<SkipPredicate>(WHERE, 'skip', value, { fallback: skipServerErrors });
  // An async function always returns a promise: refused now, not at the first response.
  if (Object.prototype.toString.call(skip) === '[object AsyncFunction]') throw new InvalidArgumentError(`${WHERE}: ${ASYNC_SKIP}`);
  return skip;
}

const STATUS = `${WHERE} option "status"`;

/** The `status` sub-options: their checks and defaults. */
const STATUS_OPTIONS: OptionTable<StatusSettings> = {
  ttl: (value) => checkTimeout(WHERE, 'status.ttl', value, { fallback: 3_600_000 }),
  max: (value) => checkInteger(WHERE, 'status.max', value, { min: 1, fallback: 10_000, infinity: true }),
  owner: (value) => checkFunction<OwnerOf | undefined>(WHERE, 'status.owner', value, { fallback: undefined }),
  exposeErrors: (value) => checkBoolean(WHERE, 'status.exposeErrors', value, { fallback: false }),
};

function checkStatus(value: unknown): StatusSettings | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return parseWithTable(STATUS, undefined, STATUS_OPTIONS);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(WHERE, 'status', 'true, false, or an object like { ttl, max, owner, exposeErrors }', value);
  }
  return parseWithTable(STATUS, value, STATUS_OPTIONS);
}

/** Every option: its check and its default, in one place. */
const OPTIONS: OptionTable<Settings> = {
  onError: (value) => checkFunction<ErrorHandler>(WHERE, 'onError', value, { fallback: logTaskError }),
  skip: checkSkip,
  stopOnError: (value) => checkBoolean(WHERE, 'stopOnError', value, { fallback: false }),
  timeout: (value) => checkTimeout(WHERE, 'timeout', value, { fallback: Number.POSITIVE_INFINITY }),
  concurrency: (value) => checkInteger(WHERE, 'concurrency', value, { min: 1, fallback: Number.POSITIVE_INFINITY, infinity: true }),
  maxQueued: (value) => checkInteger(WHERE, 'maxQueued', value, { min: 0, fallback: Number.POSITIVE_INFINITY, infinity: true }),
  handOff: checkHandOff,
  checkArgs: (value) => checkBoolean(WHERE, 'checkArgs', value, { fallback: false }),
  runner: checkRunner,
  threads: (value) => checkThreads(WHERE, value),
  platformWaitUntil: (value) =>
    value === false ? false : checkFunction<PlatformWaitUntil | undefined>(WHERE, 'platformWaitUntil', value, { fallback: undefined }),
  captureCallSite: (value) => checkBoolean(WHERE, 'captureCallSite', value, { fallback: false }),
  status: checkStatus,
};

export function parseOptions(options: unknown): Settings {
  const settings = parseWithTable(WHERE, options, OPTIONS);
  if (settings.runner === undefined) return settings;
  // Given by the caller as an own property (an inherited one is no option, see check.ts).
  const given = Object.hasOwn(options as object, 'maxQueued') && (options as { maxQueued?: unknown }).maxQueued !== undefined;
  // A queue carries only what its encoding can (args-codec.ts), so a queue runner always checks the arguments.
  return { ...settings, checkArgs: true, maxQueued: given ? settings.maxQueued : MAX_QUEUED_WITH_RUNNER };
}
