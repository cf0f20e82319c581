// threadPool(): a piscina pool as a place where thread tasks' attempts run, with their signal, a grace, and termination.

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { checkArgs } from '../args-check.js';
import { checkInteger, checkTimeout, fail, invalid, type OptionTable, parseDeadline, parseWithTable } from '../check.js';
import { settlesWithin } from '../deadline.js';
import { ThreadPoolClosedError, ThreadPoolCloseTimeoutError, ThreadTaskNotFoundError } from '../errors.js';
import type { ThreadPool, ThreadPoolCloseOptions, ThreadPoolCloseResult } from '../place.js';
import { debug, describeError, warn } from '../report.js';
import type { AbortRelay, TaskRun } from '../run-task.js';
import { type Task, taskIdOf, taskName } from '../task.js';
import { resultOf } from '../task-record.js';
import {
  type AbortMessage,
  type PoolData,
  receiveError,
  type SentProgress,
  sendError,
  type ThreadAnswer,
  type ThreadJob,
  type UpMessage,
} from './messages.js';
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

/** The file a file: URL names, or a clear error naming the option (Node's own errors name neither). */
function fileOf(url: URL | string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    // Not `instanceof Error`: Node's own errors may come from another realm (a vm context, jest).
    const message = (error as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' ? message.replace(/\.$/, '') : 'it names no file';
    invalid(
      `${WHERE}: option "module" is not a usable file: URL (${why}); pass an absolute path, or a URL such as new URL('./tasks.js', import.meta.url)`,
    );
  }
}

function checkModule(value: unknown): string {
  const expected = "an absolute path or a file: URL, such as new URL('./tasks.js', import.meta.url) or require.resolve('./tasks')";
  let url: URL | undefined;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.startsWith('file:')) {
    url = URL.canParse(value) ? new URL(value) : invalid(`${WHERE}: option "module" is not a valid URL; it must be ${expected}`);
  } else if (typeof value === 'string' && path.isAbsolute(value)) url = pathToFileURL(value);
  if (url === undefined || url.protocol !== 'file:') fail(WHERE, 'module', expected, value);
  const file = fileOf(url);
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

/** What the main thread's signal listener and piscina need of one attempt that may end on a thread. */
interface PiscinaAbortTarget {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * One attempt in flight on the pool, from its hand-off to piscina until piscina settles it. It is the signal piscina
 * watches to terminate the thread (one object, where an AbortController per attempt cost measurably), and it relays the
 * run's abort to the thread when the task's code listens for it.
 */
class Flight implements PiscinaAbortTarget, AbortRelay {
  readonly run: TaskRun;
  readonly name: string;
  readonly attempt: number;
  readonly #pool: PiscinaThreadPool;
  /** Set when the attempt is stopped here (its thread terminated): the outcome the attempt ends with. */
  stopReason: unknown;
  aborted = false;
  /** The thread's code asked for its signal: aborts are sent to it. */
  listening = false;
  /** The progress last handed to the run (the answer repeats the last value, which may have come already). */
  progressed: SentProgress | undefined;
  /** Why the run's signal aborted, once it has. */
  abortReason: Error | undefined;
  #terminate: (() => void) | undefined;
  #grace: NodeJS.Timeout | undefined;

  constructor(pool: PiscinaThreadPool, run: TaskRun, name: string, attempt: number) {
    this.#pool = pool;
    this.run = run;
    this.name = name;
    this.attempt = attempt;
  }

  get reason(): unknown {
    return this.stopReason;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#terminate = listener;
  }

  removeEventListener(_type: 'abort', _listener: () => void): void {
    this.#terminate = undefined;
  }

  /** The run's signal aborted (timeout, drain deadline): the task hears of it at once; ignored, its thread ends after the grace. */
  runAborted(reason: unknown): void {
    this.abortReason = reason instanceof Error ? reason : new Error(describeError(reason));
    if (this.listening) this.#pool.sendAbort(this);
    this.#grace = setTimeout(() => {
      debug('task %s still running %dms after its signal aborted: terminating its thread', this.name, TERMINATE_GRACE_MS);
      this.stop(reason);
    }, TERMINATE_GRACE_MS);
  }

  /** Ends the attempt now: piscina terminates its thread (or drops it from its queue); it settles with `reason`. */
  stop(reason: unknown): void {
    if (this.aborted) return;
    this.stopReason = reason;
    this.aborted = true;
    this.#terminate?.();
  }

  /** Piscina settled the attempt. */
  done(): void {
    clearTimeout(this.#grace);
    this.run.onAbort(undefined);
    this.#pool.landed(this);
  }
}

class PiscinaThreadPool implements ThreadPool {
  readonly where = 'thread';
  readonly module: string;
  readonly #piscina: Piscina<ThreadJob, ThreadAnswer>;
  #closing: Promise<ThreadPoolCloseResult> | undefined;
  /** The module's task names as this process sees them, once known: lets addTask refuse an unknown name at once. */
  readonly #known: Set<string> | undefined;
  /** The attempts handed to piscina and not yet settled, by attempt number. */
  readonly #flights = new Map<number, Flight>();
  #attempts = 0;
  #idle: (() => void) | undefined;
  /** The pool's channels (aborts down to the threads; "listen" and progress up), opened at the first message. */
  readonly #channel: string;
  #down: BroadcastChannel | undefined;
  #up: BroadcastChannel | undefined;

  constructor(settings: PoolSettings) {
    this.module = settings.module;
    this.#channel = `express-background-tasks:threads:${randomUUID()}`;
    const workerData: PoolData = { module: settings.module, channel: this.#channel };
    this.#piscina = new Piscina({
      filename: WORKER_FILE,
      workerData,
      maxThreads: settings.maxThreads,
      minThreads: Math.min(1, settings.maxThreads),
      idleTimeout: settings.idleTimeout === Number.POSITIVE_INFINITY ? 2 ** 31 - 1 : settings.idleTimeout,
    });
    // A thread that fails outside any task (a timer a task left behind threw): piscina replaces it and emits 'error',
    // which would crash the process unheard.
    this.#piscina.on('error', (error: unknown) => warn(`threadPool(): a thread failed outside any task: ${describeError(error)}`));
    this.#known = knownTasks(settings.module);
    // Messages from the threads are heard from the start (a thread opens the channel only when it needs it).
    this.#up = new BroadcastChannel(`${this.#channel}:up`);
    (this.#up as unknown as { unref(): void }).unref();
    this.#up.onmessage = (event) => this.#received((event as MessageEvent<UpMessage>).data);
  }

  admit(name: string, args: readonly unknown[]): void {
    if (this.#known !== undefined && !this.#known.has(name)) {
      throw new ThreadTaskNotFoundError(
        `addTask(): thread tasks module ${this.module} exports no task "${name}"; it exports ${[...this.#known].map((n) => `"${n}"`).join(', ') || 'no defineTask() task'}`,
      );
    }
    checkArgs(name, args, 'clone');
  }

  attempt(task: Task, run: TaskRun): Promise<unknown> {
    const name = taskName(task);
    if (this.#closing !== undefined) throw new ThreadPoolClosedError(name);
    const flight = new Flight(this, run, name, ++this.#attempts);
    this.#flights.set(flight.attempt, flight);
    run.onAbort(flight);
    const args = task.args as unknown[];
    let buffers: number[] | undefined;
    for (let i = 0; i < args.length; i++) {
      if (!Buffer.isBuffer(args[i])) continue;
      buffers ??= [];
      buffers.push(i);
    }
    // taskId() in the thread answers the task's id, made now if nothing asked for it before (it cannot be asked for later).
    const id = taskIdOf(run.task);
    const job: ThreadJob =
      buffers === undefined ? { name, args, id, attempt: flight.attempt } : { name, args, id, attempt: flight.attempt, buffers };
    const transferList = transferListOf(args);
    const options = transferList === undefined ? { signal: flight } : { signal: flight, transferList };
    return this.#piscina.run(job, options).then(
      (answer) => {
        flight.done();
        if (answer === undefined) return;
        if (answer.kind !== 'not-found' && answer.progress !== undefined) this.#progress(flight, answer.progress);
        if (answer.kind === 'ok') return answer.result === undefined ? undefined : resultOf(name, answer.result);
        if (answer.kind === 'error') throw receiveError(answer.error);
        if (answer.kind === 'not-found') throw new ThreadTaskNotFoundError(answer.message);
        throw answer.value;
      },
      (error: unknown) => {
        flight.done();
        // Stopped here (terminated for ignoring its signal, or at close()'s deadline): the outcome is the stop's reason.
        throw flight.aborted ? flight.stopReason : error;
      },
    );
  }

  #received(message: UpMessage): void {
    const flight = this.#flights.get(message.attempt);
    if (flight === undefined) return; // settled meanwhile
    if (message.kind === 'progress') this.#progress(flight, message.progress);
    else {
      flight.listening = true;
      if (flight.abortReason !== undefined) this.sendAbort(flight);
    }
  }

  #progress(flight: Flight, progress: SentProgress): void {
    const last = flight.progressed;
    if (last !== undefined && last.value === progress.value && last.message === progress.message) return;
    flight.progressed = progress;
    flight.run.progress(progress.value, progress.message);
  }

  sendAbort(flight: Flight): void {
    if (this.#down === undefined) {
      this.#down = new BroadcastChannel(`${this.#channel}:down`);
      (this.#down as unknown as { unref(): void }).unref();
    }
    const reason = flight.abortReason ?? new Error('aborted');
    const message: AbortMessage = { attempt: flight.attempt, reason: sendError(reason) };
    this.#down.postMessage(message);
  }

  landed(flight: Flight): void {
    this.#flights.delete(flight.attempt);
    if (this.#flights.size === 0) this.#idle?.();
  }

  close(options?: ThreadPoolCloseOptions): Promise<ThreadPoolCloseResult> {
    // Bad options throw here, synchronously, like every other bad argument.
    const timeout = parseDeadline('threadPool().close()', options, Number.POSITIVE_INFINITY);
    this.#closing ??= this.#close(timeout);
    return this.#closing;
  }

  async #close(timeout: number): Promise<ThreadPoolCloseResult> {
    const idle = new Promise<void>((resolve) => {
      if (this.#flights.size === 0) resolve();
      else this.#idle = resolve;
    });
    debug('threads: closing with %d tasks in flight', this.#flights.size);
    let pending = 0;
    const drained = await settlesWithin(idle, timeout);
    if (!drained) {
      pending = this.#flights.size;
      debug('threads: close() deadline of %dms reached with %d tasks in flight: terminating their threads', timeout, pending);
      for (const flight of this.#flights.values()) {
        const reason = new ThreadPoolCloseTimeoutError(flight.name, timeout);
        flight.run.cancel(reason); // no further attempt; its signal aborts
        flight.stop(reason);
      }
      await idle;
    }
    // destroy(), not close(): nothing is in flight any more, and close() would leave its own 30 s timer behind.
    await this.#piscina.destroy();
    this.#up?.close();
    this.#down?.close();
    return { drained, pending };
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
