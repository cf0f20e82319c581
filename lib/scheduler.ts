// App-wide for one middleware: admitting tasks (checks, maxQueued, policy), concurrency slots, the queue hand-off, drain().
import type { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkArgs } from './args-check.js';
import { invalid, parseDeadline } from './check.js';
import { definitionOf, type TaskDefinition } from './define-task.js';
import { BackgroundTasksFullError, DrainDeadlineError, InvalidArgumentError } from './errors.js';
import { type FlowControl, type FlowKeys, hashedKey } from './flow/flow-control.js';
import { ASYNC_SKIP, type OwnerOf, type Settings, type SkipRequest, type SkipResponse } from './options.js';
import { appendCallSite, Outcomes, type Stats, type TaskInfo } from './outcomes.js';
import type { Where } from './place.js';
import { holdPlatform } from './platform.js';
import { Policies } from './policy.js';
import type { QueuedTask, QueueRunner } from './queue-runner.js';
import { debug, describeError, pathOf, warn } from './report.js';
import { type RunOwner, type Status, TaskRun } from './run-task.js';
import { StatusStore } from './status-store.js';
import { ORIGIN, type Origin, type OriginSource, type Task, taskIdOf, taskName } from './task.js';
import { captureContext } from './task-context.js';
import { newEntry, type TaskEntry, TaskFeed, type TaskState } from './task-events.js';
import { Handle } from './task-handle.js';
import { newTaskId } from './task-id.js';
import { keptResult } from './task-record.js';
import { PROGRESS_WINDOW_MS, Throttle } from './throttle.js';
import { deduplicatedChannel, traceDeduplicated, traceEnqueue, tracingEnqueues } from './tracing.js';

/** Called with whether the list goes on (false: a task failed under stopOnError) once an asynchronous task has settled. */
export type Resume = (proceed: boolean) => void;

export interface DrainOptions {
  /** Give up after this many ms, aborting the signals of the tasks still running. Default: wait for ever. */
  readonly timeout?: number;
}

/** How a part of a list is handed to the queue (see handOff()). */
export interface HandOffPart {
  /** The caller waits for the store: reject within the runner's deadline rather than hold the tasks. */
  readonly flush?: boolean;
  /** What the store of the list's earlier part resolved to: this part runs after that one. */
  readonly after?: string | undefined;
}

export interface DrainResult {
  /** True when nothing was left queued or running. */
  readonly drained: boolean;
  /** Tasks still queued or running when drain() resolved. */
  readonly pending: number;
}

export class Scheduler implements RunOwner {
  readonly #settings: Settings;
  readonly #outcomes: Outcomes<TaskInfo>;
  readonly #policies: Policies;
  #slotsInUse = 0;
  /** Lists waiting for a concurrency slot, in arrival order; a freed slot is handed straight to the first. */
  readonly #slotWaiters: Array<() => void> = [];
  /**
   * Tasks counted in `queued` whose response has not finished yet (a slow client still sending its body, say): they
   * count against maxQueued only for their own list until then, so that slow clients cannot hold every slot.
   */
  #openTasks = 0;
  /** Aborted when drain() gives up: the queue runner then gives up the lists it holds, not yet stored. Made at the first hand-off. */
  #giveUp: AbortController | undefined;
  /** The task kinds holding debounced tasks now or before, for drain() to run them at once. */
  readonly #debouncing = new Set<FlowControl<Task>>();
  /** What the last add that admit() took apart from its list is about, for apartHandle(). */
  #apart: { task: Task; deduplicated: boolean } | undefined;
  /** Who observes this middleware's tasks (status records, the dashboard, the test kit); while nobody does, no entries are made. */
  readonly feed: TaskFeed;
  /** The status records (the status option), an observer of the feed; undefined while the option is off. */
  readonly status: StatusStore | undefined;
  /** The throttles of tasks that report progress, while they run. */
  readonly #progress = new Map<TaskEntry, Throttle>();

  constructor(settings: Settings) {
    this.#settings = settings;
    this.feed = new TaskFeed(settings.runner);
    this.#outcomes = new Outcomes(settings.onError);
    this.#policies = new Policies({
      timeout: settings.timeout,
      threads: settings.threads,
      threadsOption: 'backgroundTasks({ threads })',
      where: 'addTask()',
      queued: settings.runner !== undefined,
      debounced: (task) => this.#runApart(task),
    });
    this.status = settings.status === undefined ? undefined : new StatusStore(settings.status, settings.runner);
    if (this.status !== undefined) this.feed.observe(this.status);
  }

  /** The status option's owner(req), when it has one: addTask then asks for the owner of its request. */
  get owners(): OwnerOf | undefined {
    return this.#settings.status?.owner;
  }

  /** The owner of a request, checked: owner(req) must give a string or undefined (a throw reaches addTask's caller). */
  ownerOf(req: IncomingMessage): string | undefined {
    const owners = this.#settings.status?.owner;
    const owner = owners === undefined ? undefined : owners(req as SkipRequest);
    if (owner !== undefined && typeof owner !== 'string') {
      invalid(`backgroundTasks(): option "status.owner" must return a string or undefined; it returned ${typeof owner}`);
    }
    return owner;
  }

  /** The handle addTask returns for an accepted task. */
  handle(task: Task): Handle {
    return new Handle(task, this.status);
  }

  /**
   * The handle for the add admit() just took apart from its list (it answered undefined): the pending task's, marked
   * deduplicated when the add added nothing. Read at once by addTask, in the same synchronous call.
   */
  apartHandle(): Handle {
    const { task, deduplicated } = this.#apart as { task: Task; deduplicated: boolean };
    this.#apart = undefined;
    return new Handle(task, this.status, deduplicated);
  }

  /** Where this middleware's lists go: a queue, or undefined to run them here. Decided once, with the options. */
  get queue(): QueueRunner | undefined {
    return this.#settings.runner;
  }

  /** Whether each response's list is stored before the response ends (handOff 'before-response' with a runner). */
  get storeBeforeResponse(): boolean {
    return this.#settings.runner !== undefined && this.#settings.handOff === 'before-response';
  }

  /** Whether addTask captures its call site for failure reports (the captureCallSite option). */
  get captureCallSite(): boolean {
    return this.#settings.captureCallSite;
  }

  stats(): Stats {
    return this.#outcomes.stats();
  }

  /**
   * Checks a new task and counts it as queued; throws (and the task is not accepted) when it is not fit to run
   * where it would run, or when maxQueued is reached. `context` is read only once the task is accepted.
   * `openList` is how many tasks the list already holds while its response has not finished, or -1 once it has:
   * maxQueued counts the tasks of finished responses, and an unfinished response's own tasks.
   */
  admit(
    fn: Task['fn'],
    args: readonly unknown[],
    context: () => AsyncResource | undefined,
    openList: number,
    origin?: Origin,
    owner?: string,
    list?: OriginSource,
  ): Task | undefined {
    const settings = this.#settings;
    const policy = this.#policies.of(fn);
    // The common case (a plain in-process task, no checks) reads no name at all.
    if (settings.runner !== undefined || settings.checkArgs || policy.place.admit !== undefined) {
      const name = policy.name ?? (fn.name || 'anonymous');
      if (settings.runner !== undefined && policy.name === undefined) {
        invalid(
          `addTask(): task "${name}" must be made with defineTask(name, fn) when a queue runner is set, so that a worker can find it by name`,
        );
      }
      if (settings.checkArgs) checkArgs(name, args, 'queue');
      policy.place.admit?.(name, args);
    }
    const flow = policy.flow;
    let keys: FlowKeys | undefined;
    if (flow !== undefined) {
      keys = flow.keysOf(args);
      if (keys.dedupe !== undefined && this.#deduplicated(flow, keys.dedupe, args, list)) return undefined;
    }
    const waiting = this.#outcomes.queued - this.#openTasks;
    if (waiting + Math.max(openList, 0) >= settings.maxQueued) throw new BackgroundTasksFullError(settings.maxQueued);
    this.#outcomes.queued++;
    const accepted = this.#accepted(fn, args, context, origin, owner, policy);
    const task = flow === undefined ? accepted : this.#held(flow, keys as FlowKeys, accepted, list);
    // A task held apart from the list (debounced) waits like a finished response's: only the list's own count as open.
    if (task !== undefined && openList >= 0) this.#openTasks++;
    return task;
  }

  #accepted(
    fn: Task['fn'],
    args: readonly unknown[],
    context: () => AsyncResource | undefined,
    origin: Origin | undefined,
    owner: string | undefined,
    policy: Task['policy'],
  ): Task {
    const settings = this.#settings;
    if (origin === undefined) return { fn, args, context: context(), policy, id: undefined, entry: undefined };
    const id = newTaskId();
    const entry = newEntry({
      id,
      name: policy.name ?? (fn.name || 'anonymous'),
      where: settings.runner === undefined ? policy.place.where : 'queue',
      method: origin.method,
      path: pathOf(origin.url),
      owner,
    });
    this.feed.added(entry);
    return { fn, args, context: context(), policy, id, entry };
  }

  /**
   * An add of a key that is already pending: 'drop' adds nothing; 'debounce' gives the pending task these arguments
   * (and this add's context and origin) and starts its quiet again. Counted, and published on its own channel.
   */
  #deduplicated(flow: FlowControl<Task>, key: string, args: readonly unknown[], list: OriginSource | undefined): boolean {
    const mode = flow.definition.dedupe?.mode ?? 'drop';
    let existing: Task | undefined;
    if (mode === 'drop') {
      existing = flow.drop?.existing(key);
      if (existing === undefined) return false;
    } else {
      existing = flow.debounce?.pending(key);
      if (existing === undefined) return false;
      const origin = list?.[ORIGIN]() ?? existing.origin;
      // The same task (its id, its entry) with this add's arguments, context and origin.
      flow.debounce?.hold(key, { ...existing, args, context: captureContext(), origin });
    }
    this.#apart = { task: existing, deduplicated: true };
    this.#outcomes.deduplicated++;
    if (deduplicatedChannel.hasSubscribers) traceDeduplicated(flow.definition.name, mode, list?.[ORIGIN]() ?? { method: '', url: '' });
    if (debug.enabled) debug('task %s deduplicated (%s)', flow.definition.name, mode);
    return true;
  }

  /** A new task of a kind with flow control: its keys kept with it; a 'drop' key held, a 'debounce' one held apart from its list. */
  #held(flow: FlowControl<Task>, keys: FlowKeys, accepted: Task, list: OriginSource | undefined): Task | undefined {
    const task: Task = { ...accepted, keys };
    const key = keys.dedupe;
    if (key === undefined) return task;
    if (flow.debounce === undefined) {
      // Its id now: later adds get its handle, and the list may run a copy of it (captureCallSite).
      taskIdOf(task);
      flow.drop?.hold(key, task);
      return task;
    }
    // Run apart from its list, from a timer: it needs its own context and origin, and its id now (copies share it).
    taskIdOf(task);
    const origin = list?.[ORIGIN]() ?? { method: '', url: '' };
    const held: Task = { ...task, context: task.context ?? captureContext(), origin };
    flow.debounce.hold(key, held);
    this.#debouncing.add(flow);
    this.#apart = { task: held, deduplicated: false };
    return undefined;
  }

  /** A debounced task whose key has been quiet for its ttl: run here, or handed to the queue, on its own. */
  #runApart(task: Task): void {
    const origin = task.origin ?? { method: '', url: '' };
    if (this.#settings.runner !== undefined) {
      this.handOff([task], origin).catch(internalError);
      return;
    }
    this.run(task, origin, ignore);
  }

  /** A task of a dedupe key is no longer pending ('drop': its key stays taken for the rest of its ttl). */
  #released(task: Task): void {
    const key = task.keys?.dedupe;
    if (key !== undefined) task.policy.flow?.drop?.done(key, task);
  }

  /** Whether addTask should make entries for observers (it then passes the request's origin to admit()). */
  get observed(): boolean {
    return this.feed.active;
  }

  /** A response finished with `count` tasks in its list: they now count against maxQueued like every waiting task. */
  responseFinished(count: number): void {
    this.#openTasks -= count;
  }

  /** Tells the platform (if any) to wait for a list that starts now; returns what to call when the list is done. */
  holdPlatform(): (() => void) | undefined {
    return holdPlatform(this.#settings.platformWaitUntil);
  }

  /** Why a finished response's tasks are skipped, or undefined to run them. A skip() that throws is reported, and the tasks run. */
  skipReason(req: IncomingMessage, res: ServerResponse): string | undefined {
    try {
      const said: unknown = this.#settings.skip(req as SkipRequest, res as SkipResponse);
      if (said && !refusedAnswer(said)) return `skip() said so for status ${res.statusCode}`;
    } catch (error) {
      // Nothing added is dropped over a faulty predicate: report it, and run the tasks.
      warn(`skip() failed; running the tasks anyway: ${describeError(error)}`);
    }
    return undefined;
  }

  /** A queued task that will not run (its response was skipped, or an earlier task failed under stopOnError). */
  skip(task: Task, origin: Origin, why: string): void {
    if (task.entry !== undefined) this.#ended(task.entry, 'skipped', undefined, 0);
    if (task.policy.flow !== undefined) this.#released(task);
    if (debug.enabled) this.#outcomes.skip(true, taskName(task), `${origin.method} ${pathOf(origin.url)}`, why);
    else this.#outcomes.skip(true, '', '', why);
  }

  /**
   * Runs one queued task in this process once a slot is free. Returns whether its list goes on when that is known
   * at once (a synchronous task), or undefined and calls `resume` later. A callback rather than a promise: a pending
   * task then holds one promise reaction instead of a chain of promises.
   */
  run(task: Task, origin: Origin, resume: Resume): boolean | undefined {
    const flow = task.policy.flow;
    // A task waiting for its rate window or its key's slot holds no slot of the middleware meanwhile.
    if (flow?.gated && !flow.enter(task.keys as FlowKeys, () => this.#passed(task, origin, resume))) return undefined;
    return this.#slot(task, origin, resume);
  }

  #passed(task: Task, origin: Origin, resume: Resume): void {
    const proceed = this.#slot(task, origin, resume);
    if (proceed !== undefined) resume(proceed);
  }

  #slot(task: Task, origin: Origin, resume: Resume): boolean | undefined {
    if (this.#slotsInUse < this.#settings.concurrency) {
      this.#slotsInUse++;
      return this.#start(task, origin, resume);
    }
    this.#slotWaiters.push(() => {
      const proceed = this.#start(task, origin, resume);
      if (proceed !== undefined) resume(proceed);
    });
    return undefined;
  }

  #start(task: Task, origin: Origin, resume: Resume): boolean | undefined {
    this.#outcomes.started(1, true);
    task.policy.flow?.started(task.keys as FlowKeys);
    const run = new TaskRun(task, this, origin, resume);
    const entry = task.entry;
    if (entry !== undefined) {
      entry.state = 'running';
      entry.startedAt = Date.now();
      entry.attempts = 1;
      entry.abort = (reason) => run.cancel(reason ?? new Error('aborted'));
      this.feed.changed(entry);
    }
    if (run.start()) return this.#finished(run);
    this.#outcomes.track(run);
    return undefined;
  }

  /** @internal A run that went asynchronous has settled. */
  taskSettled(run: TaskRun): void {
    this.#outcomes.untrack(run);
    run.resume(this.#finished(run));
  }

  #finished(run: TaskRun): boolean {
    this.#releaseSlot();
    const { status, origin, task } = run;
    const flow = task.policy.flow;
    if (flow !== undefined) {
      flow.ended(task.keys as FlowKeys);
      this.#released(task);
    }
    if (status !== 'succeeded' && task.callSite !== undefined) appendCallSite(run.error, task.callSite);
    const info =
      status !== 'succeeded' || debug.enabled ? infoOf(taskName(task), origin, run.attempts, task.policy.place.where) : undefined;
    this.#outcomes.record(status, run.error, info, run.started);
    this.#outcomes.stopped(1);
    const entry = task.entry;
    if (entry !== undefined) {
      if (run.value !== undefined) entry.result = keptResult(taskName(task), run.value);
      this.#ended(entry, status, run.error, run.attempts);
    }
    return status === 'succeeded' || !this.#settings.stopOnError;
  }

  /** @internal A retry started: the entry stays running with one more attempt. */
  taskRetried(run: TaskRun): void {
    const entry = run.task.entry;
    if (entry === undefined) return;
    entry.attempts = run.attempts;
    this.feed.changed(entry);
  }

  /**
   * @internal The task's code called taskProgress(). The entry always holds the latest value; observers hear of it
   * at most once per PROGRESS_WINDOW_MS, so that a tight loop of taskProgress() costs a field write; the final state
   * carries the final value.
   */
  taskProgressed(run: TaskRun, value: number, message: string | undefined): void {
    const entry = run.task.entry;
    if (entry === undefined || entry.state !== 'running') return;
    entry.progress = value;
    entry.message = message;
    let throttle = this.#progress.get(entry);
    if (throttle === undefined) {
      throttle = new Throttle(PROGRESS_WINDOW_MS, () => this.feed.changed(entry));
      this.#progress.set(entry, throttle);
    }
    throttle.push();
  }

  /** An observed task reached its final state: the last change observers hear of. */
  #ended(entry: TaskEntry, state: TaskState, error: unknown, attempts: number): void {
    entry.state = state;
    entry.error = error;
    entry.attempts = attempts;
    entry.finishedAt = Date.now();
    entry.abort = undefined;
    if (this.#progress.size > 0) {
      this.#progress.get(entry)?.stop();
      this.#progress.delete(entry);
    }
    this.feed.changed(entry);
  }

  /**
   * Hands a list's remaining tasks to the queue. They stay counted as queued until the runner says they are stored
   * (which may take long: a runner may hold them while Redis is unreachable), so that maxQueued bounds them and
   * drain() waits for them; then each counts as succeeded, or as failed when the runner gave them up. Resolves to
   * what the runner said stands for the part's last task (for `after`).
   *
   * With `flush` (flush(), or handOff 'before-response'), the runner stores the part or rejects within its enqueue
   * deadline; a rejection then reaches the caller, and the tasks are not accepted: they leave `queued`, uncounted.
   */
  handOff(tasks: readonly Task[], origin: Origin, part: HandOffPart = {}): Promise<string | undefined> {
    // BullMQ refuses deduplication inside a chain: a task with a dedupe key is a job of its own, the others keep their chain.
    if (tasks.length > 1 && tasks.some((task) => task.keys?.dedupe !== undefined)) {
      const chained = tasks.filter((task) => task.keys?.dedupe === undefined);
      const apart = tasks.filter((task) => task.keys?.dedupe !== undefined);
      const alone: HandOffPart = part.flush ? { flush: true } : {};
      const sent = [
        ...(chained.length === 0 ? [] : [this.#handOff(chained, origin, part)]),
        ...apart.map((task) => this.#handOff([task], origin, alone)),
      ];
      // What a later part runs after: the chain's last task, or the earlier part's when this one chained nothing.
      return Promise.all(sent).then(([receipt]) => (chained.length === 0 ? part.after : receipt));
    }
    return this.#handOff(tasks, origin, part);
  }

  #handOff(tasks: readonly Task[], origin: Origin, part: HandOffPart): Promise<string | undefined> {
    const runner = this.#settings.runner as QueueRunner;
    const outcomes = this.#outcomes;
    const started = debug.enabled ? performance.now() : 0;
    const settle = (status: Status, error: unknown): void => {
      outcomes.started(tasks.length, true);
      const said = status === 'succeeded' ? 'enqueued' : undefined;
      for (const task of tasks) {
        if (task.policy.flow !== undefined) this.#released(task);
        if (status !== 'succeeded' && task.callSite !== undefined) appendCallSite(error, task.callSite);
        outcomes.record(status, error, infoOf(taskName(task), origin, 1, 'queue'), started, said);
        const entry = task.entry;
        if (entry === undefined) continue;
        if (status === 'succeeded') {
          // Stored: from here on the queue tells its state.
          entry.stored = true;
          this.feed.changed(entry);
        } else {
          this.#ended(entry, status, error, 0);
        }
      }
      outcomes.stopped(tasks.length);
    };
    this.#giveUp ??= new AbortController();
    const signal = this.#giveUp.signal;
    // biome-ignore lint/suspicious/noConfusingVoidType: what QueueRunner#enqueue resolves to.
    const enqueue = (from: Origin): Promise<string | void> => {
      try {
        const queued = tasks.map((task) => queuedTask(task));
        const status = this.#settings.status;
        return runner.enqueue(queued, {
          stopOnError: this.#settings.stopOnError,
          timeout: this.#settings.timeout,
          origin: from,
          signal,
          ...(part.flush ? { hold: false } : {}),
          ...(part.after === undefined ? {} : { after: part.after }),
          ...(status === undefined ? {} : { keepFor: status.ttl }),
        });
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const enqueued = tracingEnqueues() ? traceEnqueue(tasks.map(taskName), origin, enqueue) : enqueue(origin);
    return enqueued.then(
      (receipt) => {
        settle('succeeded', undefined);
        return typeof receipt === 'string' ? receipt : undefined;
      },
      (error: unknown) => {
        if (part.flush) {
          // Not accepted: out of queued without an outcome, as if addTask had thrown. A status record (the route
          // may have read the id) says failed, with the error, rather than queued for ever.
          outcomes.started(tasks.length, true);
          for (const task of tasks) if (task.entry !== undefined) this.#ended(task.entry, 'failed', error, 0);
          outcomes.stopped(tasks.length);
          throw error;
        }
        settle('failed', error);
        return undefined;
      },
    );
  }

  /** Watches a promise handed over with waitUntil(): already started, so it counts as running at once. */
  watch(promise: PromiseLike<unknown>, origin: Origin): void {
    const outcomes = this.#outcomes;
    outcomes.started(1, false);
    const started = debug.enabled ? performance.now() : 0;
    const settle = (status: Status, error: unknown): void => {
      outcomes.record(
        status,
        error,
        status !== 'succeeded' || debug.enabled ? infoOf('waitUntil', origin, 1, 'process') : undefined,
        started,
      );
      outcomes.stopped(1);
    };
    Promise.resolve(promise).then(
      () => settle('succeeded', undefined),
      (error: unknown) => settle('failed', error),
    );
  }

  /** Hands a freed slot straight to the first waiting list, on a microtask so that lists never nest in each other's stacks. */
  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next === undefined) this.#slotsInUse--;
    else queueMicrotask(next);
  }

  /**
   * Resolves once nothing is queued or running, counting work added while it waits. With a timeout,
   * resolves at the deadline instead, aborts the signals of the tasks still running, and tells the queue runner to
   * give up the lists it still holds (not yet stored; each reported to onError).
   */
  drain(options?: DrainOptions): Promise<DrainResult> {
    // Bad options throw here, synchronously, like every other bad argument.
    const timeout = parseDeadline('drain()', options, Number.POSITIVE_INFINITY);
    // Shutting down is no time to wait for quiet: debounced tasks run (or go to the queue) now.
    for (const flow of this.#debouncing) flow.debounce?.flush();
    const outcomes = this.#outcomes;
    if (outcomes.pending === 0) return Promise.resolve({ drained: true, pending: 0 });
    debug('drain: waiting for %d tasks', outcomes.pending);
    let left = 0;
    const deadline = (ms: number): Error => {
      left = outcomes.pending; // counted before the cancelled runs settle
      debug('drain: deadline of %dms reached with %d tasks pending', ms, left);
      const error = new DrainDeadlineError(ms);
      // Lists the queue runner still holds are given up (each reported to onError); later lists get a new signal.
      this.#giveUp?.abort(error);
      this.#giveUp = undefined;
      return error;
    };
    return outcomes.idleBy(timeout, deadline).then((drained) => {
      if (drained) debug('drain: done');
      return { drained, pending: drained ? 0 : left };
    });
  }
}

/** A promise from skip() is never taken for true: its tasks run, and it is reported as the InvalidArgumentError it is. */
function refusedAnswer(said: unknown): boolean {
  if (typeof (said as PromiseLike<unknown>).then !== 'function') return false;
  Promise.resolve(said).catch(() => {}); // its own rejection is not ours to leave unhandled
  throw new InvalidArgumentError(`backgroundTasks(): ${ASYNC_SKIP}`);
}

/** What the queue runner gets of a task: its definition and arguments, and for a dedupe key, BullMQ's deduplication (a hash, never the key). */
function queuedTask(task: Task): QueuedTask {
  const definition = definitionOf(task.fn) as TaskDefinition;
  const key = task.keys?.dedupe;
  const dedupe = definition.dedupe;
  const queued: QueuedTask = { definition, args: task.args, id: taskIdOf(task), owner: task.entry?.owner };
  if (key === undefined || dedupe === undefined) return queued;
  return {
    ...queued,
    dedupe: { id: hashedKey(definition.name, key), ttl: dedupe.ttl, debounce: dedupe.mode === 'debounce' },
  };
}

function ignore(): void {}

/** Running apart from a list never throws by design; if it ever does, say so rather than leave an unhandled rejection. */
function internalError(error: unknown): void {
  warn(`internal error, please report it: ${describeError(error)}`);
}

function infoOf(name: string, origin: Origin, attempts: number, where: Where): TaskInfo {
  return { name, method: origin.method, url: origin.url, attempts, where };
}
