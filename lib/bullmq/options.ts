// Options of bullmqRunner() and runWorker(): their types, defaults and checks (each failure a TypeError naming the option).

import {
  checkFunction,
  checkInteger,
  checkOptionsObject,
  checkTimeout,
  fail,
  invalid,
  MAX_TIMER_MS,
  type OptionTable,
  parseWithTable,
  received,
} from '../check.js';
import type { DefinedTask } from '../define-task.js';
import { definitionOf } from '../define-task.js';
import { checkThreads } from '../options.js';
import type { ThreadPool } from '../place.js';
import { type Connection, checkClusterPrefix, checkConnection } from './connection.js';
import type { Keep } from './flow.js';

export interface BullmqRunnerOptions {
  /**
   * Redis: a redis:// URL, ioredis options (one server, or Sentinel with `{ sentinels, name }`), or
   * `{ cluster: [{ host, port }], ...Cluster options }`. The runner opens its own client, which never queues commands offline.
   */
  readonly connection: Connection;
  /** The BullMQ queue the jobs go to; the worker must use the same name. */
  readonly queueName: string;
  /** BullMQ's key prefix (default 'bull', and '{bull}' on a cluster, where it must hold a hash tag); the worker must use the same. */
  readonly prefix?: string;
  /**
   * How long one try at storing a list waits for Redis to answer, in ms, before the list is kept in memory and tried
   * again (it is never dropped for this). Default 5000.
   */
  readonly enqueueTimeout?: number;
  /** BullMQ's removeOnComplete for the jobs. Default true: a finished job and its arguments leave Redis. */
  readonly removeOnComplete?: Keep;
  /** BullMQ's removeOnFail for the jobs. Default true. */
  readonly removeOnFail?: Keep;
}

/** What the worker's onError learns about a failed task (never its arguments). */
export interface WorkerTaskInfo {
  /** The task's defineTask name (the job's name). */
  readonly name: string;
  /** The task id (also the BullMQ job id), as taskId() returned it to the task. */
  readonly taskId: string;
  /** The method of the request the task was added during. */
  readonly method: string;
  /** That request's path (the query string is never stored). */
  readonly url: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** The queue the job came from. */
  readonly queueName: string;
  /** Where the task ran: always 'queue' here. */
  readonly where: 'queue';
}

export type WorkerErrorHandler = (error: unknown, info: WorkerTaskInfo) => void;

export interface RunWorkerOptions {
  /** Redis: as the runner's connection (a URL, ioredis options for one server or Sentinel, or `{ cluster: [...] }`). */
  readonly connection: Connection;
  /** The queue to take jobs from: the runner's queueName. */
  readonly queueName: string;
  /** The tasks this worker can run, made with defineTask(); a job is matched to one by its name. */
  // biome-ignore lint/suspicious/noExplicitAny: any defined task, whatever its arguments.
  readonly tasks: readonly DefinedTask<any[], unknown>[];
  /** How many jobs run at once in this worker (different lists; one list's tasks always run in order). Default 1. */
  readonly concurrency?: number;
  /** Called once for each task that failed for good (after its last attempt). Default: one console.error line. */
  readonly onError?: WorkerErrorHandler;
  /** BullMQ's key prefix (default 'bull', and '{bull}' on a cluster): the runner's prefix. */
  readonly prefix?: string;
  /** Where tasks defined with `thread: true` run: threadPool() from express-background-tasks/threads. */
  readonly threads?: ThreadPool;
  /**
   * BullMQ's lockDuration, in ms (default 30000): how long a job stays locked to this worker without a renewal (renewed
   * every half of it while the task runs). After a crash the job is delivered again once its lock has expired and a
   * stalled-job check has seen it: at most about lockDuration + 2 x stalledInterval later (README, Worker timings).
   */
  readonly lockDuration?: number;
  /** BullMQ's stalledInterval, in ms (default 30000): how often this worker looks for jobs whose lock expired. */
  readonly stalledInterval?: number;
}

export interface RunnerSettings {
  readonly connection: Connection;
  readonly queueName: string;
  readonly prefix: string | undefined;
  readonly enqueueTimeout: number;
  readonly removeOnComplete: Keep;
  readonly removeOnFail: Keep;
}

export interface WorkerSettings {
  readonly connection: Connection;
  readonly queueName: string;
  // biome-ignore lint/suspicious/noExplicitAny: any defined task, whatever its arguments.
  readonly tasks: ReadonlyMap<string, DefinedTask<any[], unknown>>;
  readonly concurrency: number;
  readonly onError: WorkerErrorHandler | undefined;
  readonly prefix: string | undefined;
  readonly threads: ThreadPool | undefined;
  readonly lockDuration: number;
  readonly stalledInterval: number;
}

function checkQueueName(where: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes(':')) {
    fail(where, 'queueName', "a non-empty string without ':' (BullMQ uses ':' in its keys)", value);
  }
  return value;
}

function checkPrefix(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') fail(where, 'prefix', 'a non-empty string', value);
  return value;
}

function checkKeep(where: string, name: string, value: unknown): Keep {
  if (value === undefined) return true;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return checkInteger(where, name, value, { min: 0, fallback: 0, infinity: false });
  const expected = 'true, false, a count of jobs to keep, or { age, count } as BullMQ takes it';
  if (value === null || typeof value !== 'object') fail(where, name, expected, value);
  const keep = checkOptionsObject(`${where}: option "${name}"`, value, ['age', 'count', 'limit']);
  for (const key of ['age', 'count', 'limit']) checkInteger(where, `${name}.${key}`, keep[key], { min: 0, fallback: 0, infinity: false });
  if (keep.age === undefined && keep.count === undefined) fail(where, name, expected, value);
  return value as Keep;
}

const RUNNER = 'bullmqRunner()';

/** bullmqRunner()'s options: each one's check and default. */
const RUNNER_OPTIONS: OptionTable<RunnerSettings> = {
  connection: (value) => checkConnection(RUNNER, value),
  queueName: (value) => checkQueueName(RUNNER, value),
  prefix: (value) => checkPrefix(RUNNER, value),
  enqueueTimeout: (value) =>
    checkTimeout(RUNNER, 'enqueueTimeout', value, { fallback: 5000, infinity: false, why: 'an enqueue must never hang' }),
  removeOnComplete: (value) => checkKeep(RUNNER, 'removeOnComplete', value),
  removeOnFail: (value) => checkKeep(RUNNER, 'removeOnFail', value),
};

export function parseRunnerOptions(options: unknown): RunnerSettings {
  if (options === undefined) invalid(`${RUNNER}: options are required: { connection, queueName }`);
  const settings = parseWithTable(RUNNER, options, RUNNER_OPTIONS);
  return { ...settings, prefix: checkClusterPrefix(RUNNER, settings.connection, settings.prefix, settings.queueName) };
}

function checkTasks(where: string, value: unknown): WorkerSettings['tasks'] {
  if (!Array.isArray(value) || value.length === 0) fail(where, 'tasks', 'a non-empty array of tasks made with defineTask()', value);
  // biome-ignore lint/suspicious/noExplicitAny: any defined task, whatever its arguments.
  const tasks = new Map<string, DefinedTask<any[], unknown>>();
  value.forEach((task: unknown, i: number) => {
    const definition = definitionOf(task);
    if (typeof task !== 'function' || definition === undefined) {
      invalid(`${where}: option "tasks[${i}]" must be a task made with defineTask(name, fn); received ${received(task)}`);
    }
    if (tasks.has(definition.name)) invalid(`${where}: option "tasks" names "${definition.name}" twice`);
    // biome-ignore lint/suspicious/noExplicitAny: any defined task, whatever its arguments.
    tasks.set(definition.name, task as DefinedTask<any[], unknown>);
  });
  return tasks;
}

const WORKER = 'runWorker()';
/** Below this a lock would need renewing more often than Redis round trips reliably allow. */
const MIN_LOCK_MS = 100;

/** runWorker()'s options: each one's check and default. */
const WORKER_OPTIONS: OptionTable<WorkerSettings> = {
  connection: (value) => checkConnection(WORKER, value),
  queueName: (value) => checkQueueName(WORKER, value),
  tasks: (value) => checkTasks(WORKER, value),
  concurrency: (value) => checkInteger(WORKER, 'concurrency', value, { min: 1, fallback: 1, infinity: false }),
  onError: (value) => checkFunction<WorkerErrorHandler | undefined>(WORKER, 'onError', value, { fallback: undefined }),
  prefix: (value) => checkPrefix(WORKER, value),
  threads: (value) => checkThreads(WORKER, value),
  lockDuration: (value) =>
    checkInteger(WORKER, 'lockDuration', value, { min: MIN_LOCK_MS, fallback: 30_000, infinity: false, max: MAX_TIMER_MS }),
  stalledInterval: (value) =>
    checkInteger(WORKER, 'stalledInterval', value, { min: MIN_LOCK_MS, fallback: 30_000, infinity: false, max: MAX_TIMER_MS }),
};

export function parseWorkerOptions(options: unknown): WorkerSettings {
  if (options === undefined) invalid(`${WORKER}: options are required: { connection, queueName, tasks }`);
  const parsed = parseWithTable(WORKER, options, WORKER_OPTIONS);
  const settings = { ...parsed, prefix: checkClusterPrefix(WORKER, parsed.connection, parsed.prefix, parsed.queueName) };
  const threadTask = [...settings.tasks.values()].find((task) => definitionOf(task)?.thread);
  if (threadTask !== undefined && settings.threads === undefined) {
    invalid(
      `${WORKER}: task "${threadTask.taskName}" is defined with { thread: true }: pass threads: threadPool({ module }) from express-background-tasks/threads`,
    );
  }
  return settings;
}
