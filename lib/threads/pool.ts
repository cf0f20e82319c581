// threadPool(): a piscina pool as a place where thread tasks' attempts run, with their signal, a grace, and termination.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { checkArgs } from '../args-check.js';
import { checkInteger, checkTimeout, fail, invalid, type OptionTable, parseWithTable } from '../check.js';
import { ThreadPoolClosedError, ThreadTaskNotFoundError } from '../errors.js';
import type { ThreadPool } from '../place.js';
import { debug, describeError } from '../report.js';
import type { TaskRun } from '../run-task.js';
import { type Task, taskIdOf, taskName } from '../task.js';
import { receiveError, sendError, type ThreadAnswer, type ThreadJob } from './messages.js';
import { requireModule, tasksIn } from './tasks-module.js';
import { transferListOf } from './transfer.js';

export interface ThreadPoolOptions {
  /** The module that exports the thread tasks (any export names): a path or a file: URL. */
  readonly module: string | URL;
  /** At most this many threads. Default: the machine's cores - 1, at least 1. */
  readonly maxThreads?: number;
  /** An idle thread above the first ends after this many ms. Default 30000. */
  readonly idleTimeout?: number;
}

interface PoolSettings {
  readonly module: string;
  readonly maxThreads: number;
  readonly idleTimeout: number;
}

/**
 * How long a thread task may go on after its signal aborted (timeout, drain deadline) before its thread is
 * terminated (and replaced by the pool). Long enough for a task that heeds its signal to finish its own way.
 */
export const TERMINATE_GRACE_MS = 1000;

const WHERE = 'threadPool()';

function checkModule(value: unknown): string {
  let url: URL | undefined;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.startsWith('file:')) url = new URL(value);
  else if (typeof value === 'string' && path.isAbsolute(value)) url = pathToFileURL(value);
  const expected = "an absolute path or a file: URL, such as new URL('./tasks.js', import.meta.url) or require.resolve('./tasks')";
  if (url === undefined || url.protocol !== 'file:') fail(WHERE, 'module', expected, value);
  const file = fileURLToPath(url);
  if (existsSync(file)) return url.href;
  // Run from TypeScript sources (tsx in development), './tasks.js' names the tasks.ts beside the app: the same
  // option then serves the sources and the compiled output.
  const source = file.replace(/\.(c|m)?js$/, '.$1ts');
  if (source !== file && existsSync(source)) return pathToFileURL(source).href;
  invalid(`${WHERE}: option "module": no file at ${file}`);
}

const OPTIONS: OptionTable<PoolSettings> = {
  module: checkModule,
  maxThreads: (value) =>
    checkInteger(WHERE, 'maxThreads', value, { min: 1, fallback: Math.max(availableParallelism() - 1, 1), infinity: false }),
  idleTimeout: (value) => checkTimeout(WHERE, 'idleTimeout', value, { fallback: 30_000 }),
};

/** The worker-thread side, next to this file (worker.js when built, worker.ts under tsx). */
const WORKER_FILE = path.join(__dirname, `worker${path.extname(__filename)}`);

/**
 * The module's task names, if this process can load it synchronously (the app imports it anyway, for addTask's
 * sake, so this is usually a cache hit): then addTask refuses an unknown name at once. Otherwise (an ES module on a
 * Node that cannot require() it) the thread finds out when the task runs, and reports it.
 */
function knownTasks(url: string): Set<string> | undefined {
  try {
    return new Set(tasksIn(requireModule(url)).keys());
  } catch (error) {
    debug('threads: %s not loaded in this process (%s); its threads will look for its tasks', url, describeError(error));
    return undefined;
  }
}

class PiscinaThreadPool implements ThreadPool {
  readonly where = 'thread';
  readonly module: string;
  readonly #piscina: Piscina<ThreadJob, ThreadAnswer>;
  #closing: Promise<void> | undefined;
  /** The module's task names as this process sees them, once known: lets addTask refuse an unknown name at once. */
  readonly #known: Set<string> | undefined;

  constructor(settings: PoolSettings) {
    this.module = settings.module;
    this.#piscina = new Piscina({
      filename: WORKER_FILE,
      maxThreads: settings.maxThreads,
      minThreads: Math.min(1, settings.maxThreads),
      idleTimeout: settings.idleTimeout === Number.POSITIVE_INFINITY ? 2 ** 31 - 1 : settings.idleTimeout,
    });
    this.#known = knownTasks(settings.module);
  }

  admit(name: string, args: readonly unknown[]): void {
    if (this.#known !== undefined && !this.#known.has(name)) {
      throw new ThreadTaskNotFoundError(
        `addTask(): thread tasks module ${this.module} exports no task "${name}"; it exports ${[...this.#known].map((n) => `"${n}"`).join(', ') || 'no defineTask() task'}`,
      );
    }
    checkArgs(name, args, 'clone');
  }

  attempt(task: Task, run: TaskRun): Promise<void> {
    const name = taskName(task);
    if (this.#closing !== undefined) throw new ThreadPoolClosedError(name);
    const { port1, port2 } = new MessageChannel();
    const signal = run.signal;
    const terminate = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    // The task hears of the abort at once; a task that ignores it has its thread terminated after the grace.
    const aborted = (): void => {
      port1.postMessage(sendError(signal.reason instanceof Error ? signal.reason : new Error(describeError(signal.reason))));
      grace = setTimeout(() => {
        debug('task %s still running %dms after its signal aborted: terminating its thread', name, TERMINATE_GRACE_MS);
        terminate.abort();
      }, TERMINATE_GRACE_MS);
    };
    if (signal.aborted) aborted();
    else signal.addEventListener('abort', aborted, { once: true });
    const buffers: number[] = [];
    task.args.forEach((arg, i) => {
      if (Buffer.isBuffer(arg)) buffers.push(i);
    });
    const job: ThreadJob = { module: this.module, name, args: task.args as unknown[], id: taskIdOf(run.task), port: port2, buffers };
    const done = (): void => {
      clearTimeout(grace);
      signal.removeEventListener('abort', aborted);
      port1.close();
    };
    return this.#piscina.run(job, { signal: terminate.signal, transferList: [port2, ...transferListOf(task.args)] }).then(
      (answer) => {
        done();
        if (answer === undefined) return;
        if (answer.kind === 'error') throw receiveError(answer.error);
        if (answer.kind === 'not-found') throw new ThreadTaskNotFoundError(answer.message);
        throw answer.value;
      },
      (error: unknown) => {
        done();
        // Terminated for ignoring its signal: the outcome is the abort's reason (the timeout, the deadline).
        throw terminate.signal.aborted ? signal.reason : error;
      },
    );
  }

  close(): Promise<void> {
    this.#closing ??= this.#piscina.close();
    return this.#closing;
  }
}

/**
 * A pool of worker threads for tasks defined with `thread: true`: pass it as `backgroundTasks({ threads })` or
 * `runWorker({ threads })`. `module` exports the thread tasks; each thread loads it and finds a task by its name.
 */
export function threadPool(options: ThreadPoolOptions): ThreadPool {
  if (options === undefined) invalid(`${WHERE}: options are required: { module }`);
  return new PiscinaThreadPool(parseWithTable(WHERE, options, OPTIONS));
}
