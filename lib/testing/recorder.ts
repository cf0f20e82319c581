// recordTasks(): every middleware in the process records the tasks its responses add instead of running them; runAll() runs them through the real pipeline.
import { AssertionError } from 'node:assert';
import type { AsyncResource } from 'node:async_hooks';
import { isDeepStrictEqual } from 'node:util';
import { checkBoolean, checkTimeout, parseWithTable } from '../check.js';
import { interception, type ListRecorder } from '../interception.js';
import { eventLoop, type Place, type Where } from '../place.js';
import type { TaskPolicy } from '../policy.js';
import { pathOf } from '../report.js';
import type { Scheduler } from '../scheduler.js';
import { type Origin, type Task, taskIdOf, taskName } from '../task.js';
import { captureContext } from '../task-context.js';
import { newEntry, observeProcess, type TaskEntry } from '../task-events.js';
import { throughQueue, throughThread } from './crossing.js';
import { checkFilter, describeCall, describeList, filterName, matches, type TaskFilter } from './match.js';
import { beginScope } from './scope.js';

/**
 * A recorded task's state: 'recorded' (waiting for runAll()), 'skipped' (its response was skipped, as the real
 * middleware decides, or stopOnError stopped its list, or the recording ended before it ran), 'running', or its outcome.
 */
export type RecordedState = 'recorded' | 'running' | 'skipped' | 'succeeded' | 'failed' | 'timedOut';

/** One task a request added, as recordTasks() saw it. */
export interface RecordedTask {
  /** The task's id: the `id` of the handle addTask returned, and what taskId() returns inside the task. */
  readonly id: string;
  /** The defineTask name, the function's name, or 'anonymous'. */
  readonly name: string;
  /** The function given to addTask. */
  readonly fn: (...args: never[]) => unknown;
  /** The arguments exactly as given to addTask. */
  readonly args: readonly unknown[];
  /** The request that added it: its method and URL (`req.originalUrl`, query string included). */
  readonly method: string;
  readonly url: string;
  /** Where it would have run: this event loop, a worker thread, or a queue (a queue runner's middleware). */
  readonly where: Where;
  readonly state: RecordedState;
  /** Attempts made by runAll() (0 until it runs). */
  readonly attempts: number;
  /** The final error of a failed or timed-out task. */
  readonly error?: unknown;
}

export interface RunAllOptions {
  /** Overrides every task's own timeout (ms): a test need not wait for a real one. Default: each task's own. */
  readonly timeout?: number;
  /** false: retries start at once, without the definitions' backoff waits. Default true. */
  readonly backoff?: boolean;
}

/** What recordTasks() returns: the recorded tasks, assertions on them, and running them. */
export interface TaskRecorder extends Disposable {
  /** The recorded tasks in the order added (optionally only those of one function, defineTask task or name), as they are now. */
  added(task?: TaskFilter): RecordedTask[];
  /**
   * Passes when a task of `task` was added (with exactly these arguments, compared deeply, when any are given);
   * otherwise throws an AssertionError that lists what was added instead.
   */
  assertAdded(task: TaskFilter, ...args: unknown[]): void;
  /** Passes when no task of `task` was added; otherwise throws an AssertionError that lists those added. */
  assertNotAdded(task: TaskFilter): void;
  /**
   * Runs every recorded task not yet run, each response's list in order, through the middleware's real pipeline
   * (retries, backoff, timeout, stopOnError, taskSignal(), taskId(), taskProgress(), onError, counters), after the
   * crossing the real place would make: the queue's encoding (args-codec.ts) for a queue, a structured clone for a thread (run here,
   * on this thread). Resolves with the tasks it ran or skipped, in their final states.
   */
  runAll(options?: RunAllOptions): Promise<RecordedTask[]>;
  /** Forgets every recorded task; those not yet run are dropped (counted as skipped by their middleware). */
  clear(): void;
  /** Ends the recording: tasks run as usual again. Tasks not yet run are dropped (counted as skipped). Idempotent. */
  restore(): void;
}

const WHERE = 'runAll()';

const RUN_ALL_OPTIONS = {
  timeout: (value: unknown) => checkTimeout(WHERE, 'timeout', value, { fallback: undefined }),
  backoff: (value: unknown) => checkBoolean(WHERE, 'backoff', value, { fallback: true }),
};

/** One recorded task and what running it needs. */
interface Recorded {
  readonly id: string;
  readonly task: Task;
  readonly name: string;
  readonly where: Where;
  readonly origin: Origin;
  readonly scheduler: Scheduler;
  /** The request context an in-process task runs in (captured at the hand-over for a list's first task). */
  readonly context: AsyncResource | undefined;
  state: RecordedState;
  attempts: number;
  error: unknown;
}

class Recorder implements TaskRecorder, ListRecorder {
  /** One entry per response list, in the order the lists were handed over. */
  #lists: Recorded[][] = [];
  readonly #endScope: () => void;
  readonly #stopObserving: () => void;
  #restored = false;

  constructor() {
    this.#endScope = beginScope('recordTasks()', recordTasks);
    // Observed, every middleware makes an entry (with its id) for each task: runAll() reads the outcome there.
    this.#stopObserving = observeProcess({});
    interception.recorder = this;
  }

  /** @internal Called by a list at the moment it would run its tasks or hand them to a queue. */
  take(tasks: readonly Task[], origin: Origin, skipReason: string | undefined, scheduler: Scheduler): boolean {
    const skipped = skipReason !== undefined;
    const list = tasks.map((task, i): Recorded => {
      const where: Where = scheduler.queue !== undefined ? 'queue' : task.policy.place.where;
      // A list's first task has no context of its own (the drain runs in it): capture it now, from the drain.
      const context = where !== 'process' || skipped ? undefined : (task.context ?? (i === 0 ? captureContext() : undefined));
      return {
        id: taskIdOf(task),
        task,
        name: taskName(task),
        where,
        origin,
        scheduler,
        context,
        state: skipped ? 'skipped' : 'recorded',
        attempts: 0,
        error: undefined,
      };
    });
    this.#lists.push(list);
    // A skipped list goes on as usual: the scheduler skips and counts its tasks.
    return !skipped;
  }

  added(task?: TaskFilter): RecordedTask[] {
    checkFilter('added(task?)', task, true);
    return this.#all()
      .filter((item) => matches(task, item.task.fn, item.name))
      .map(view);
  }

  assertAdded(task: TaskFilter, ...args: unknown[]): void {
    checkFilter('assertAdded(task, ...args)', task, false);
    const withArgs = args.length > 0;
    const all = this.added();
    const same = all.filter((item) => matches(task, item.fn, item.name));
    if (same.some((item) => !withArgs || isDeepStrictEqual(item.args, args))) return;
    const name = filterName(task);
    const expected = withArgs ? describeCall(name, args) : `"${name}"`;
    throw new AssertionError({
      message: `expected a task ${expected} to be added; added instead:\n${describeList(all)}`,
      actual: same.length > 0 ? same.map((item) => item.args) : all.map((item) => describeCall(item.name, item.args)),
      expected: same.length > 0 ? [args] : [withArgs ? describeCall(name, args) : name],
      operator: 'assertAdded',
      stackStartFn: this.assertAdded,
    });
  }

  assertNotAdded(task: TaskFilter): void {
    checkFilter('assertNotAdded(task)', task, false);
    const same = this.added(task);
    if (same.length === 0) return;
    throw new AssertionError({
      message: `expected no task "${filterName(task)}" to be added; added:\n${describeList(same)}`,
      actual: same.map((item) => describeCall(item.name, item.args)),
      expected: [],
      operator: 'assertNotAdded',
      stackStartFn: this.assertNotAdded,
    });
  }

  async runAll(options?: RunAllOptions): Promise<RecordedTask[]> {
    const { timeout, backoff } = parseWithTable(WHERE, options, RUN_ALL_OPTIONS);
    const lists = this.#lists;
    const done: Recorded[] = [];
    // By index: lists handed over while this runs are run too.
    for (let i = 0; i < lists.length; i++) {
      let proceed = true;
      for (const item of lists[i] as Recorded[]) {
        if (item.state !== 'recorded') continue;
        if (proceed) proceed = await this.#run(item, timeout, backoff);
        else this.#drop(item, 'an earlier task failed and stopOnError is set');
        done.push(item);
      }
    }
    return done.map(view);
  }

  /** Runs one task through its middleware's scheduler (slots, TaskRun, counters, onError); resolves with whether its list goes on. */
  async #run(item: Recorded, timeout: number | undefined, backoff: boolean): Promise<boolean> {
    const { task, where } = item;
    item.state = 'running';
    let fn = task.fn;
    let args: readonly unknown[];
    let retries = task.policy.retries;
    try {
      args = where === 'queue' ? throughQueue(task.args) : where === 'thread' ? throughThread(task.args) : task.args;
    } catch (error) {
      // What production would refuse on the way (the queue's encoding, structuredClone) fails the task the same way.
      fn = () => {
        throw error;
      };
      args = [];
      retries = 0;
    }
    // Here, on this event loop, still reported where it would have run.
    const place: Place = where === 'process' ? eventLoop : { where, attempt: eventLoop.attempt };
    const policy: TaskPolicy = {
      ...task.policy,
      retries,
      place,
      timeout: timeout ?? task.policy.timeout,
      backoff: backoff ? task.policy.backoff : undefined,
    };
    const entry = task.entry ?? detachedEntry(item);
    const run: Task = {
      fn,
      args,
      context: item.context,
      policy,
      id: item.id,
      entry,
      callSite: task.callSite,
    };
    const proceed = await new Promise<boolean>((resolve) => {
      const now = item.scheduler.run(run, item.origin, resolve);
      if (now !== undefined) resolve(now);
    });
    item.state = entry.state === 'skipped' || entry.state === 'queued' || entry.state === 'running' ? 'failed' : entry.state;
    item.attempts = entry.attempts;
    item.error = entry.error;
    return proceed;
  }

  /** A recorded task that will not run: its middleware counts it as skipped (so that drain() does not wait for it). */
  #drop(item: Recorded, why: string): void {
    item.state = 'skipped';
    item.scheduler.skip(item.task, item.origin, why);
  }

  #all(): Recorded[] {
    return this.#lists.flat();
  }

  clear(): void {
    for (const item of this.#all()) if (item.state === 'recorded') this.#drop(item, 'the recorder was cleared before runAll() ran it');
    this.#lists = [];
  }

  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    if (interception.recorder === this) interception.recorder = undefined;
    this.#stopObserving();
    this.#endScope();
    for (const item of this.#all()) if (item.state === 'recorded') this.#drop(item, 'the recorder was restored before runAll() ran it');
  }

  [Symbol.dispose](): void {
    this.restore();
  }
}

function view(item: Recorded): RecordedTask {
  const { id, name, task, where, origin, state, attempts, error } = item;
  const shown = { id, name, fn: task.fn, args: task.args, method: origin.method, url: origin.url, where, state, attempts };
  return state === 'failed' || state === 'timedOut' ? { ...shown, error } : shown;
}

/** The entry a task added before the recording started never got (nothing observed it then): runAll() reads its outcome there. */
function detachedEntry(item: Recorded): TaskEntry {
  const { id, name, where, origin } = item;
  return newEntry({ id, name, where, method: origin.method, path: pathOf(origin.url), owner: undefined });
}

/**
 * From now until restore(), every backgroundTasks() middleware in the process (made before or after this call)
 * records the tasks its finished responses would run or hand to a queue, instead of running them: nothing needs
 * Redis or threads. The skip decision is the real one (a 5xx, skip()), and skipped tasks are recorded as 'skipped'.
 * @throws TestScopeError when another recordTasks() or watchTasks() is active
 */
export function recordTasks(): TaskRecorder {
  return new Recorder();
}
