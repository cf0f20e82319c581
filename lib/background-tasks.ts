// One response's task list: addTask and waitUntil, and the drain that starts when the response finishes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import onFinished from 'on-finished';
import { invalid, received } from './check.js';
import { interception } from './interception.js';
import { debug, describeError, printable, printablePath, warn } from './report.js';
import type { Resume, Scheduler } from './scheduler.js';
import { ORIGIN, type Origin, type OriginSource, type Task } from './task.js';
import { captureContext } from './task-context.js';
import type { TaskHandle } from './task-handle.js';

const OPEN = 0; // the response has not finished: tasks wait
const DRAINING = 1; // tasks are running one after another
const IDLE = 2; // finished and drained: a new task starts a run of its own

/**
 * The tasks of one response, at `res.locals.background`. Shared by every middleware and handler
 * of the request; its tasks run one after another, in the order added, once the response is finished.
 */
export class BackgroundTasks implements OriginSource {
  readonly #scheduler: Scheduler;
  // Held only until the response finishes, so that a pending task does not keep them alive.
  #req: IncomingMessage | undefined;
  #res: ServerResponse | undefined;
  #origin: Origin | undefined;
  #tasks: Array<Task | undefined> | undefined;
  #next = 0;
  #state = OPEN;
  /** Why later tasks are skipped, once the response was skipped or a task failed under stopOnError. */
  #skipReason: string | undefined;
  /** Carries the drain on after an async task; made at the list's first async task. */
  #resume: Resume | undefined;
  /** Tells a serverless platform the list is done (Vercel's waitUntil, or the platformWaitUntil option). */
  #releasePlatform: (() => void) | undefined;
  /** Settles (never rejects) once the flush() calls so far are done; the rest of the list is handed off after it. */
  #flushing: Promise<void> | undefined;
  /** What the runner said stands for the last task stored by flush(), so that later parts run after it. */
  #after: string | undefined;

  /** @internal Made by the middleware; apps use `res.locals.background`. */
  constructor(scheduler: Scheduler, req: IncomingMessage, res: ServerResponse) {
    this.#scheduler = scheduler;
    this.#req = req;
    this.#res = res;
  }

  /**
   * Adds a task to run after the response is finished: `fn(...args)`, sync or async, with the arguments
   * exactly as given, in the AsyncLocalStorage context of this call. Returns the task's handle: its `id`, and with
   * the `status` option its record (`status()`, `settled()`).
   * @throws TypeError when `fn` is not a function (or, with a queue runner, not a defineTask() task, or its args could not go through a queue intact)
   * @throws BackgroundTasksFullError when maxQueued tasks are already waiting
   */
  addTask<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): TaskHandle {
    if (typeof fn !== 'function') {
      invalid(`addTask(fn, ...args): argument "fn" must be a function; received ${received(fn)}`);
    }
    // The drain starts from the first task's async context (on-finished binds its listener to it), so that task
    // needs no capture of its own. Later ones might come from any context (als.run() keeps the same async
    // resource), so they capture theirs.
    const first = this.#tasks === undefined;
    const scheduler = this.#scheduler;
    // Observers (status records, the dashboard, the test kit) need the request; unobserved, nothing is read. With
    // status.owner, the request's owner is asked once, while the request is at hand, and kept with the origin.
    if (scheduler.owners !== undefined && this.#origin === undefined) {
      this.#origin = { ...this.#where(), owner: scheduler.ownerOf(this.#req as IncomingMessage) };
    }
    const origin = scheduler.observed ? this.#where() : undefined;
    // While the response is open, maxQueued counts this list's own tasks only (see Scheduler#admit).
    const openList = this.#state === OPEN ? (this.#tasks?.length ?? 0) : -1;
    let task = scheduler.admit(fn as Task['fn'], args, first ? noContext : captureContext, openList, origin, origin?.owner, this);
    // Taken by flow control: deduplicated onto a pending task, or debounced apart from the list.
    if (task === undefined) return scheduler.apartHandle();
    if (scheduler.captureCallSite) task = withCallSite(task, this.addTask);
    if (this.#tasks === undefined) {
      this.#tasks = [task];
      this.#releasePlatform = scheduler.holdPlatform();
      if (this.#state === OPEN) {
        if (this.#scheduler.storeBeforeResponse) this.#storeBeforeEnd(this.#res as ServerResponse);
        onFinished(this.#res as ServerResponse, () => this.#finish());
      } else {
        this.#state = DRAINING;
        queueMicrotask(() => this.#carryOn());
      }
    } else {
      this.#tasks.push(task);
    }
    return scheduler.handle(task);
  }

  /**
   * Hands over an already started promise: it counts as running at once (outside the list's order, the
   * concurrency cap and skip), drain() waits for it, and a rejection is reported like a failed task's.
   */
  waitUntil(promise: PromiseLike<unknown>): void {
    if (promise === null || typeof promise !== 'object' || typeof (promise as PromiseLike<unknown>).then !== 'function') {
      invalid(`waitUntil(promise): argument "promise" must be a promise; received ${received(promise)}`);
    }
    this.#scheduler.watch(promise, this.#where());
  }

  /**
   * With a queue runner: hands the tasks added so far (and not yet handed off) to the queue now, and resolves once
   * they are stored, so that the route can answer knowing they are. Rejects with the runner's EnqueueError when they
   * cannot be stored within its enqueue deadline: those tasks are then not accepted (not counted), and the route
   * can answer 503. Tasks added later are handed off after the response, and run after these.
   * Without a runner, or with nothing new to hand off, resolves at once (tasks run here after the response).
   */
  flush(): Promise<void> {
    const tasks = this.#tasks;
    if (this.#scheduler.queue === undefined || tasks === undefined || this.#state !== OPEN || this.#next >= tasks.length) {
      return this.#flushing ?? Promise.resolve();
    }
    const part = tasks.slice(this.#next) as Task[];
    tasks.fill(undefined, this.#next);
    this.#next = tasks.length;
    const origin = this.#where();
    // After the earlier flush() (stored or not), so that this part can run after what it stored.
    const flushed = (this.#flushing ?? Promise.resolve())
      .then(() => this.#scheduler.handOff(part, origin, { flush: true, after: this.#after }))
      .then((receipt) => {
        if (receipt !== undefined) this.#after = receipt;
      });
    this.#flushing = flushed.then(noop, noop);
    return flushed;
  }

  /** handOff 'before-response': the response's end waits for flush(); a list that cannot be stored turns it into a 503. */
  #storeBeforeEnd(res: ServerResponse): void {
    const end = res.end;
    const store = (): Promise<void> => this.#flushUnlessSkipped();
    res.end = function endOnceStored(...args: unknown[]) {
      res.end = end;
      store().then(
        () => (end as (...a: unknown[]) => ServerResponse).apply(res, args),
        (error: unknown) => refuse(res, end, error),
      );
      return res;
    } as typeof res.end;
  }

  /** flush(), unless skip() says the response's tasks are skipped (then there is nothing to store). */
  #flushUnlessSkipped(): Promise<void> {
    const req = this.#req;
    const res = this.#res;
    if (req !== undefined && res !== undefined && this.#scheduler.skipReason(req, res) !== undefined) return Promise.resolve();
    return this.flush();
  }

  /** @internal Where this list's tasks come from, for a task that runs apart from it (debounced). */
  [ORIGIN](): Origin {
    return this.#where();
  }

  #where(): Origin {
    if (this.#origin !== undefined) return this.#origin;
    const req = this.#req as IncomingMessage & { originalUrl?: string };
    return { method: req.method ?? 'GET', url: req.originalUrl ?? req.url ?? '' };
  }

  /** The response is finished (or its connection gone): decide whether to skip, let go of req and res, start. */
  #finish(): void {
    const req = this.#req as IncomingMessage;
    const res = this.#res as ServerResponse;
    this.#origin = this.#where();
    this.#req = undefined;
    this.#res = undefined;
    this.#state = DRAINING;
    this.#scheduler.responseFinished(this.#tasks?.length ?? 0);
    this.#skipReason = this.#scheduler.skipReason(req, res);
    if (debug.enabled) {
      const { method, url } = this.#origin;
      debug(
        'list start %s %s: %d tasks%s',
        printable(method),
        printablePath(url),
        this.#tasks?.length ?? 0,
        this.#skipReason ? ' (skipped)' : '',
      );
    }
    this.#carryOn();
  }

  /**
   * Runs the list's tasks one after another. A synchronous task's outcome is known at once, so a list of them
   * runs in one go; an async one ends this call, and its outcome calls #resume, which carries on from there.
   * No async function here: a suspended frame and its promises per pending task cost memory and CPU.
   */
  #drain(): void {
    const scheduler = this.#scheduler;
    const origin = this.#origin as Origin;
    const tasks = this.#tasks as Array<Task | undefined>;
    const queued = scheduler.queue !== undefined;
    // The test kit's record mode (recordTasks()) takes what would run or be handed off now, after the skip decision.
    const recorder = interception.recorder;
    if (
      recorder !== undefined &&
      this.#next < tasks.length &&
      recorder.take(tasks.slice(this.#next) as Task[], origin, this.#skipReason, scheduler)
    ) {
      tasks.fill(undefined, this.#next);
      this.#next = tasks.length;
    }
    while (this.#next < tasks.length) {
      if (queued && this.#skipReason === undefined) {
        // A queue takes the whole list at once, so it can chain the jobs in order.
        const batch = tasks.slice(this.#next) as Task[];
        tasks.fill(undefined, this.#next);
        this.#next = tasks.length;
        // After what flush() stored (if anything), and ordered after it by the runner.
        const handOff = (): Promise<void> =>
          scheduler.handOff(batch, origin, { after: this.#after }).then((receipt) => {
            if (receipt !== undefined) this.#after = receipt;
            this.#carryOn();
          });
        if (this.#flushing === undefined) handOff().catch(internalError);
        else this.#flushing.then(handOff).catch(internalError);
        return;
      }
      const task = tasks[this.#next] as Task;
      tasks[this.#next++] = undefined; // let the task's arguments go as soon as it starts
      if (this.#skipReason !== undefined) {
        scheduler.skip(task, origin, this.#skipReason);
        continue;
      }
      this.#resume ??= (proceed) => {
        this.#settled(proceed);
        this.#carryOn();
      };
      const proceed = scheduler.run(task, origin, this.#resume);
      if (proceed === undefined) return; // still running: #resume takes over
      this.#settled(proceed);
    }
    if (debug.enabled) debug('list end %s %s', printable(origin.method), printablePath(origin.url));
    this.#tasks = undefined;
    this.#next = 0;
    this.#after = undefined;
    this.#state = IDLE;
    if (this.#releasePlatform !== undefined) {
      this.#releasePlatform();
      this.#releasePlatform = undefined;
    }
  }

  #settled(proceed: boolean): void {
    if (!proceed) this.#skipReason = 'an earlier task failed and stopOnError is set';
  }

  /** Continues the drain from a callback, where a throw would otherwise become an unhandled rejection. */
  #carryOn(): void {
    try {
      this.#drain();
    } catch (error) {
      internalError(error);
    }
  }
}

/** The drain never throws by design; if it ever does, say so rather than leave an unhandled rejection. */
function internalError(error: unknown): void {
  warn(`internal error, please report it: ${describeError(error)}`);
}

/** The task with its addTask call site: V8 records the frames above `addTask` now and formats them only if they are read. */
function withCallSite(task: Task, addTask: (...args: never[]) => unknown): Task {
  const callSite: { stack?: string } = {};
  Error.captureStackTrace(callSite, addTask);
  return { ...task, callSite };
}

function noop(): void {}

/** The list could not be stored before the response: a 503 instead of the route's answer, or a cut connection once headers are out. */
function refuse(res: ServerResponse, end: ServerResponse['end'], error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 503;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  (end as (chunk: string) => ServerResponse).call(
    res,
    JSON.stringify({ error: "The request's background tasks could not be stored; try again later." }),
  );
}

function noContext(): undefined {
  return undefined;
}
