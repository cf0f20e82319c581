// The worker-thread side of a thread pool: finds a task by its defineTask name in the tasks module and runs one attempt.
import { workerData } from 'node:worker_threads';
import { definitionOf } from '../define-task.js';
import { describeError } from '../report.js';
import { isThenable } from '../run-task.js';
import { callInScope, type TaskScope } from '../task-context.js';
import { resultProblem } from '../task-record.js';
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
import { loadModule, type TaskFn, tasksIn } from './tasks-module.js';

/** At most one progress message per task in this many ms; the last value is always sent, at the latest with the outcome. */
export const PROGRESS_INTERVAL_MS = 250;

const pool = workerData as PoolData;

/** The pool's tasks by name, loaded once per thread. */
let tasks: Promise<Map<string, TaskFn>> | undefined;

/** The attempts running on this thread, by attempt number: where an abort from the main thread goes. */
const running = new Map<number, ThreadScope>();

/**
 * The pool's channels, opened by the first attempt that asks for its signal or reports progress: an attempt that does
 * neither costs no message beyond its job and its answer (one channel per attempt made dispatch measurably slower).
 */
let channels: { up: BroadcastChannel; down: BroadcastChannel } | undefined;

function up(message: UpMessage): void {
  if (channels === undefined) {
    const down = new BroadcastChannel(`${pool.channel}:down`);
    // Unref'd: the thread lives as long as piscina keeps it, never longer because of this channel.
    (down as unknown as { unref(): void }).unref();
    down.onmessage = (event) => {
      const { attempt, reason } = (event as MessageEvent<AbortMessage>).data;
      running.get(attempt)?.aborted(receiveError(reason));
    };
    const upChannel = new BroadcastChannel(`${pool.channel}:up`);
    (upChannel as unknown as { unref(): void }).unref();
    channels = { up: upChannel, down };
  }
  channels.up.postMessage(message);
}

const NOT_YET: unique symbol = Symbol('not yet');

/** One attempt as its code sees it on this thread: its signal (made when asked for) and its progress (throttled). */
class ThreadScope implements TaskScope {
  readonly task: { readonly id: string | undefined };
  readonly #attempt: number;
  #controller: AbortController | undefined;
  #reason: unknown = NOT_YET;
  /** performance.now() when progress was last sent. */
  #sentAt = Number.NEGATIVE_INFINITY;
  /** Progress reported and not sent yet (throttled). */
  #unsent: SentProgress | undefined;
  /** The last progress reported, sent or not. */
  #last: SentProgress | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(attempt: number, id: string | undefined) {
    this.#attempt = attempt;
    this.task = { id };
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      // The main thread sends the abort only to an attempt that listens (or at once, if it has aborted already).
      if (this.#reason === NOT_YET) up({ kind: 'listen', attempt: this.#attempt });
      else this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  aborted(reason: Error): void {
    if (this.#reason !== NOT_YET) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  progress(value: number, message: string | undefined): void {
    this.#unsent = { value, message };
    this.#last = this.#unsent;
    if (this.#timer !== undefined) return; // the timer sends the latest value
    const wait = this.#sentAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#send();
    else this.#timer = setTimeout(() => this.#send(), wait);
  }

  #send(): void {
    this.#timer = undefined;
    const progress = this.#unsent;
    if (progress === undefined) return;
    this.#unsent = undefined;
    this.#sentAt = performance.now();
    up({ kind: 'progress', attempt: this.#attempt, progress });
  }

  /**
   * The attempt is over: stop listening, and hand back the last progress, sent or not. It goes with the answer, since a
   * message on the channel may arrive after the answer (two ports, no order between them), when it is too late.
   */
  end(): SentProgress | undefined {
    running.delete(this.#attempt);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsent = undefined;
    return this.#last;
  }
}

type Failure = Extract<ThreadAnswer, { kind: 'error' | 'thrown' }>;

function thrown(value: unknown): Failure {
  if (value instanceof Error) return { kind: 'error', error: sendError(value) };
  try {
    structuredClone(value);
    return { kind: 'thrown', value };
  } catch {
    return { kind: 'thrown', value: describeError(value) };
  }
}

/** The tasks module's tasks once loaded: later attempts then start without waiting a turn. */
let loaded: Map<string, TaskFn> | undefined;

/**
 * Runs one attempt on this thread. Never rejects: a failure is answered, so that its name and stack survive. A task
 * that returns no promise is answered at once, without a promise of its own (piscina takes either): an async function
 * here cost two promise turns per attempt.
 */
export default function runThreadJob(job: ThreadJob): ThreadAnswer | Promise<ThreadAnswer> {
  if (loaded !== undefined) return runFound(loaded, job);
  tasks ??= loadModule(pool.module).then(tasksIn);
  return tasks.then(
    (found) => {
      loaded = found;
      return runFound(found, job);
    },
    (error: unknown): ThreadAnswer => ({
      kind: 'not-found',
      message: `thread tasks module ${pool.module} could not be loaded: ${describeError(error)}`,
    }),
  );
}

function runFound(found: Map<string, TaskFn>, job: ThreadJob): ThreadAnswer | Promise<ThreadAnswer> {
  const fn = found.get(job.name);
  if (fn === undefined) {
    const known = [...found.keys()].map((name) => `"${name}"`).join(', ') || 'no defineTask() task';
    return { kind: 'not-found', message: `thread tasks module ${pool.module} exports no task "${job.name}"; it exports ${known}` };
  }
  const scope = new ThreadScope(job.attempt, job.id);
  running.set(job.attempt, scope);
  const args = job.args;
  if (job.buffers !== undefined) {
    for (const i of job.buffers) {
      const bytes = args[i] as Uint8Array;
      args[i] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }
  let value: unknown;
  let later: boolean;
  try {
    value = callInScope(scope, undefined, fn, args);
    later = isThenable(value); // a hostile value's `then` getter may throw too
  } catch (error) {
    return answer(scope, fn, thrown(error), undefined);
  }
  if (!later) return answer(scope, fn, undefined, value);
  return Promise.resolve(value).then(
    (settled) => answer(scope, fn, undefined, settled),
    (error: unknown) => answer(scope, fn, thrown(error), undefined),
  );
}

/** The attempt is over: its answer, with its last progress and a { result: true } task's value. */
function answer(scope: ThreadScope, fn: TaskFn, failure: Failure | undefined, value: unknown): ThreadAnswer {
  const progress = scope.end();
  // A { result: true } task's value crosses as checked JSON: a value no clone can carry must not fail the answer.
  const result = failure === undefined && value !== undefined && definitionOf(fn)?.result === true ? resultProblem(value) : undefined;
  if (progress === undefined && result === undefined) return failure;
  if (failure !== undefined) return { ...failure, progress };
  return { kind: 'ok', ...(progress === undefined ? {} : { progress }), ...(result === undefined ? {} : { result }) };
}
