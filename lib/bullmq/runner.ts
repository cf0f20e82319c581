// bullmqRunner(): the queue runner (BullmqQueueRunner): each response's tasks become a chain of BullMQ jobs, kept in memory and resent while Redis is unreachable.
import { type FlowJob, FlowProducer, Queue } from 'bullmq';
import { settlesWithin, withDeadline } from '../deadline.js';
import { EnqueueError } from '../errors.js';
import type { EnqueueOptions, FailedQueueJob, QueuedTask, QueueJobCounts, QueueRecord, QueueRunner } from '../queue-runner.js';
import { debug, describeError, printable, warn } from '../report.js';
import { clusterAdvice } from './cluster-advice.js';
import { type ProducerClient, producerClient, retryDelay } from './connection.js';
import { chain } from './flow.js';
import { LIST_JOB_NAME } from './job-data.js';
import { ListIndex, listJobOf, readListRecord } from './list-records.js';
import { type BullmqRunnerOptions, parseRunnerOptions, type RunnerSettings } from './options.js';
import { JobWatcher, readRecord } from './records.js';
import { isConnectionFailure, noAnswerError } from './redis-failure.js';

/** Counters of a runner: `buffered` is now; the rest are totals since it was created. */
export interface RunnerStats {
  /** Tasks kept in memory now because Redis could not take them yet (the middleware counts them as queued). */
  readonly buffered: number;
  /** Tasks stored in Redis. */
  readonly enqueued: number;
  /** Tries to store a list that failed and were followed by another try. */
  readonly retries: number;
  /**
   * Tasks given up, never stored in Redis: Redis refused their list (a reason other than the connection), the
   * runner closed, or drain() reached its deadline, with them still in memory.
   */
  readonly givenUp: number;
}

/** What close() reports: every task this runner gave up, never stored (at a drain() deadline or at close()). */
export interface RunnerCloseResult {
  readonly givenUp: number;
  /** How many of them per task name. */
  readonly tasks: Readonly<Record<string, number>>;
}

/** A queue runner for backgroundTasks({ runner }), with stats() and close() for shutdown. */
export interface BullmqRunner extends QueueRunner {
  readonly queueName: string;
  /** A stored task's status record from its job (any process on the same Redis can read it), or undefined. */
  record(id: string): Promise<QueueRecord | undefined>;
  /** Calls `changed` on each event of the task's job (BullMQ's QueueEvents), until the returned function is called. */
  watch(id: string, changed: () => void): () => void;
  stats(): RunnerStats;
  /** The queue's jobs by state (waiting includes prioritized jobs and chained tasks waiting for the one before). */
  jobCounts(): Promise<QueueJobCounts>;
  /** The latest failed jobs, newest first: id, name, when, attempts, the error's message and stack; never the job's data. */
  failedJobs(limit: number): Promise<readonly FailedQueueJob[]>;
  /** Moves a failed job back to waiting, for a worker to run again; false when no failed job has that id. */
  retryJob(id: string): Promise<boolean>;
  /**
   * Closes the Redis connection; call it after the middleware's drain(). Tasks still in memory (never stored) are
   * given up: each goes to onError as an EnqueueError, and one line names them. Later enqueues fail.
   */
  close(): Promise<RunnerCloseResult>;
}

const CLOSE_BOUND_MS = 2000;
/** Redis's default `proto-max-bulk-len` (512 MB): the largest argument it takes, until the server says otherwise. */
const DEFAULT_MAX_BULK = 512 * 1024 * 1024;
/**
 * How many held lists one resend sends together (auto-pipelined into one write). Lists that arrive while a resend
 * is under way wait for the next one, so a batch must hold what a busy web process adds meanwhile, or a backlog
 * left by an outage never drains under load.
 */
const BATCH = 1000;

/** One response's list on its way to Redis. */
interface Pending {
  /** Built once, job ids included, and sent as is on every try. */
  readonly flow: FlowJob;
  /** A list job's status index (status records on), written with it on every try. */
  readonly index: ListIndex | undefined;
  readonly names: readonly string[];
  readonly signal: AbortSignal | undefined;
  /** Resolves with the id of the list's last job (for a later part's `after`). */
  readonly resolve: (last: string) => void;
  readonly reject: (error: EnqueueError) => void;
  tries: number;
  lastError: unknown;
  /** hold: false (flush()): given up, to the caller only, once the enqueue deadline has passed. */
  deadline: NodeJS.Timeout | undefined;
  expired: boolean;
}

class BullmqQueueRunner implements BullmqRunner {
  readonly queueName: string;
  readonly #settings: RunnerSettings;
  readonly #client: ProducerClient;
  /** Adds a single task as a plain job: a quarter of the CPU of a one-job flow, and most lists hold one task. */
  readonly #queue: Queue;
  /** Adds a list of tasks as one chained flow. */
  readonly #producer: FlowProducer;
  /** Lists Redis has not taken yet, oldest first; sent again, in this order, once it answers. */
  #buffer: Pending[] = [];
  /** Tasks in #buffer and in a resend under way. */
  #buffered = 0;
  /** Sends under way (first tries and resends), for close() to wait on. */
  readonly #sending = new Set<Promise<void>>();
  #resending = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Failed resends in a row: the retry schedule's attempt number. */
  #failures = 0;
  /** Whether Redis was last seen answering; undefined until first known. Each change is said once. */
  #reachable: boolean | undefined;
  #lastError: unknown;
  /** The largest argument this Redis takes (its proto-max-bulk-len), read at each connect. */
  #maxBulk = DEFAULT_MAX_BULK;
  #enqueued = 0;
  #retries = 0;
  #givenUp = 0;
  readonly #givenUpByName = new Map<string, number>();
  #closing: Promise<RunnerCloseResult> | undefined;
  /** Registered once per signal (EventTarget ignores the same listener twice). */
  readonly #onAbort = (): void => this.#sweepAborted();
  /** Live status (the status option's event streams): opens its Redis connection at the first watch. */
  readonly #watcher: JobWatcher;

  constructor(settings: RunnerSettings) {
    this.#settings = settings;
    this.queueName = settings.queueName;
    this.#client = producerClient(settings.connection, settings.enqueueTimeout);
    this.#client.on('error', (error: unknown) => {
      if (debug.enabled && describeError(error) !== describeError(this.#lastError)) {
        debug('queue %s: Redis connection error: %s', this.queueName, describeError(error));
      }
      this.#lastError = error;
      this.#unreachable(error);
    });
    this.#client.on('close', () => this.#unreachable(this.#lastError ?? new Error('the connection to Redis closed')));
    this.#client.on('ready', () => {
      this.#lastError = undefined;
      this.#reached();
      this.#readMaxBulk();
      // A retry wait under way is kept (#resend does nothing until it ends): a list whose send drops the connection
      // must not be resent at every reconnect.
      this.#resend();
    });
    const prefix = settings.prefix === undefined ? {} : { prefix: settings.prefix };
    this.#queue = new Queue(settings.queueName, { connection: this.#client, ...prefix });
    this.#producer = new FlowProducer({ connection: this.#client, ...prefix });
    // BullMQ re-emits connection errors on these; an 'error' event without a listener would throw.
    this.#queue.on('error', () => {});
    this.#producer.on('error', () => {});
    this.#watcher = new JobWatcher(settings.queueName, settings.connection, settings.prefix);
  }

  /**
   * A stored task's status record, read from its job by any process sharing the queue (the status option); for a
   * task of a long list stored as one job, from that job and the outcomes its worker stored (list-records.ts).
   */
  async record(id: string): Promise<QueueRecord | undefined> {
    return (await readRecord(this.#queue, id)) ?? readListRecord(this.#client, this.#queue, id);
  }

  /**
   * Calls `changed` on each event of the task's job, or of its list job (and once the watch is ready), until the
   * returned function is called.
   */
  watch(id: string, changed: () => void): () => void {
    const stopTask = this.#watcher.watch(id, changed);
    let stopList: (() => void) | undefined;
    let stopped = false;
    listJobOf(this.#client, this.#queue, id).then(
      (listJob) => {
        if (listJob !== undefined && !stopped) stopList = this.#watcher.watch(listJob, changed);
      },
      (error: unknown) => debug('queue %s: task %s: list index not read: %s', this.queueName, printable(id), describeError(error)),
    );
    return () => {
      stopped = true;
      stopTask();
      stopList?.();
    };
  }

  stats(): RunnerStats {
    return { buffered: this.#buffered, enqueued: this.#enqueued, retries: this.#retries, givenUp: this.#givenUp };
  }

  async jobCounts(): Promise<QueueJobCounts> {
    const counts = await this.#queue.getJobCounts('waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'failed', 'completed');
    const of = (state: string): number => counts[state] ?? 0;
    return {
      waiting: of('waiting') + of('prioritized') + of('waiting-children'),
      active: of('active'),
      delayed: of('delayed'),
      failed: of('failed'),
      completed: of('completed'),
    };
  }

  async failedJobs(limit: number): Promise<readonly FailedQueueJob[]> {
    if (!(limit >= 1)) return [];
    const jobs = await this.#queue.getFailed(0, limit - 1);
    // Read from each job: its id, name and failure; its data (the task's arguments) is left alone.
    return jobs
      .filter((job) => job?.id !== undefined)
      .map((job) => ({
        id: job.id as string,
        name: job.name,
        failedAt: job.finishedOn,
        attempts: job.attemptsMade,
        reason: job.failedReason ?? '',
        stack: job.stacktrace?.at(-1) ?? undefined,
      }));
  }

  async retryJob(id: string): Promise<boolean> {
    const job = await this.#queue.getJob(id);
    if (job === undefined || !(await job.isFailed())) return false;
    await job.retry('failed');
    return true;
  }

  enqueue(tasks: readonly QueuedTask[], options: EnqueueOptions): Promise<string | undefined> {
    if (this.#closing !== undefined) return Promise.reject(this.#error(tasks.length, 'the runner is closed', undefined));
    if (tasks.length === 0) return Promise.resolve(undefined);
    return new Promise<string>((resolve, reject) => {
      const flow = chain(tasks, options, this.#settings);
      const entry: Pending = {
        flow,
        // Its tasks have no job of their own: an index finds each one's record in its list job.
        index:
          flow.name === LIST_JOB_NAME && options.keepFor !== undefined
            ? new ListIndex(flow.opts?.jobId as string, tasks, options.keepFor)
            : undefined,
        names: tasks.map((task) => task.definition.name),
        signal: options.signal,
        resolve,
        reject,
        tries: 0,
        lastError: undefined,
        deadline: undefined,
        expired: false,
      };
      if (options.hold === false) {
        const timeout = this.#settings.enqueueTimeout;
        entry.deadline = setTimeout(() => this.#expire(entry), timeout);
      }
      // Straight to Redis when nothing older waits; otherwise behind what does, so that lists go in order.
      if (this.#buffer.length === 0 && !this.#resending && this.#client.status === 'ready') this.#sendFirst(entry);
      else this.#hold(entry);
    });
  }

  #sendFirst(entry: Pending): void {
    const sent = this.#try(entry).then(
      () => this.#stored(entry),
      (error: unknown) => {
        entry.lastError = error;
        if (!isConnectionFailure(error)) {
          this.#refused([entry]);
          return;
        }
        this.#unreachable(error);
        this.#hold(entry);
      },
    );
    this.#track(sent);
  }

  /** Lists that failed for a reason other than the connection: trying again would fail again, so give them up now. */
  #refused(entries: readonly Pending[]): void {
    if (entries.length > 0) this.#giveUp(entries, 'Redis refused it, not a connection failure, so it is not tried again');
  }

  /** Reads the server's proto-max-bulk-len (refused on some managed Redis: then the default stands). */
  #readMaxBulk(): void {
    (this.#client.config('GET', 'proto-max-bulk-len') as Promise<unknown>).then(
      (reply) => {
        const value = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
        if (Number.isFinite(value) && value > 0) this.#maxBulk = value;
      },
      () => {},
    );
  }

  /** Keeps a list in memory until Redis takes it (or it is given up). */
  #hold(entry: Pending): void {
    if (entry.expired) {
      this.#rejectExpired(entry);
      return;
    }
    if (entry.signal?.aborted || this.#closing !== undefined) {
      this.#giveUp([entry], this.#closing !== undefined ? 'the runner was closed' : reasonOf(entry.signal));
      return;
    }
    if (entry.tries > 0) this.#retries++;
    this.#buffer.push(entry);
    this.#buffered += entry.names.length;
    entry.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#resend();
  }

  /** Sends the oldest lists held, a batch at a time, while Redis takes them; on a failure, waits (backoff) and tries again. */
  #resend(): void {
    if (this.#resending || this.#retryTimer !== undefined || this.#closing !== undefined || this.#buffer.length === 0) return;
    const status = this.#client.status;
    if (status !== 'ready') {
      if (status === 'wait') this.#client.connect().catch(() => {}); // lazyConnect: the 'ready' event resends
      return; // the client reconnects by itself; its 'ready' event calls here again
    }
    this.#resending = true;
    const batch = this.#buffer.splice(0, BATCH);
    const sent = Promise.all(batch.map((entry) => this.#try(entry).then(ok, (error: unknown) => fail(entry, error)))).then((results) => {
      this.#resending = false;
      const again: Pending[] = [];
      const refused: Pending[] = [];
      batch.forEach((entry, i) => {
        this.#buffered -= entry.names.length;
        if (results[i]) this.#stored(entry);
        else if (isConnectionFailure(entry.lastError)) again.push(entry);
        else refused.push(entry);
      });
      // Given up at once: later lists never wait behind a list Redis will never take.
      this.#refused(refused);
      if (again.length === 0) {
        this.#failures = 0;
        this.#resend();
        return;
      }
      // Back at the front, in their order, ahead of anything held meanwhile.
      for (const entry of again) if (entry.expired) this.#rejectExpired(entry);
      const kept = again.filter((entry) => !(entry.expired || entry.signal?.aborted || this.#closing !== undefined));
      const dropped = again.filter((entry) => !(entry.expired || kept.includes(entry)));
      if (dropped.length > 0) this.#giveUp(dropped, this.#closing !== undefined ? 'the runner was closed' : reasonOf(dropped[0]?.signal));
      this.#retries += kept.length;
      for (const entry of kept) this.#buffered += entry.names.length;
      this.#buffer = [...kept, ...this.#buffer];
      this.#unreachable(again[0]?.lastError);
      if (this.#buffer.length === 0 || this.#closing !== undefined) return;
      const wait = retryDelay(++this.#failures);
      if (debug.enabled) {
        debug(
          'queue %s: %d tasks kept in memory; next try in %dms (%s)',
          this.queueName,
          this.#buffered,
          wait,
          describeError(again[0]?.lastError),
        );
      }
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#resend();
      }, wait);
    });
    this.#track(sent);
  }

  /**
   * One try at storing a list. A chain that may already be stored (an earlier try's answer was lost) is checked
   * first: its jobs go in one transaction, and its root stays until the whole list has run. A single job needs no
   * check: BullMQ ignores its id while it exists, and its deduplication id for a while after (flow.ts).
   */
  #try(entry: Pending): Promise<void> {
    const { flow } = entry;
    const again = entry.tries++ > 0;
    const store = async (): Promise<void> => {
      if (flow.children === undefined) {
        // Sent together (one write with auto-pipelining); a resend writes both again, each idempotent.
        await Promise.all([entry.index?.write(this.#client, this.#queue), this.#queue.add(flow.name, flow.data, flow.opts)]);
        return;
      }
      if (again && (await this.#client.exists(this.#queue.toKey(flow.opts?.jobId as string))) === 1) return;
      await this.#producer.add(flow);
    };
    const timeout = this.#settings.enqueueTimeout;
    return withDeadline(store(), timeout, () => noAnswerError(timeout)).catch((error: unknown) => {
      // Redis drops the connection on an argument over its proto-max-bulk-len; inside a flow's transaction that
      // reaches us as a cut connection, which would be retried for ever.
      const size = isConnectionFailure(error) ? largestData(flow) : 0;
      if (size > this.#maxBulk) {
        throw new Error(`a job's data is ${size} bytes, more than this Redis takes (proto-max-bulk-len ${this.#maxBulk})`, {
          cause: error,
        });
      }
      throw error;
    });
  }

  #stored(entry: Pending): void {
    clearTimeout(entry.deadline);
    this.#enqueued += entry.names.length;
    this.#reached();
    entry.resolve(entry.flow.opts?.jobId as string);
  }

  /**
   * The deadline of a list whose caller waits (flush()) has passed: if it is held, it goes back to the caller now;
   * if a try is under way, when that try fails (a try that succeeds still counts: the list is stored).
   */
  #expire(entry: Pending): void {
    entry.expired = true;
    const at = this.#buffer.indexOf(entry);
    if (at === -1) return;
    this.#buffer.splice(at, 1);
    this.#buffered -= entry.names.length;
    this.#rejectExpired(entry);
  }

  /** Not stored in time for a caller that waits: it decides (a 503), so no line and no givenUp count here. */
  #rejectExpired(entry: Pending): void {
    const cause = entry.lastError ?? this.#lastError;
    const last = cause === undefined ? '' : `; last error: ${describeError(cause)}`;
    const why = `not stored within enqueueTimeout (${this.#settings.enqueueTimeout} ms), and not kept: the caller waits (flush())${last}`;
    entry.reject(this.#error(entry.names.length, why, cause));
  }

  #track(sending: Promise<void>): void {
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
  }

  /** drain() gave up: the lists held for it (not those being sent right now: they are decided when the send ends). */
  #sweepAborted(): void {
    const aborted = this.#buffer.filter((entry) => entry.signal?.aborted);
    if (aborted.length === 0) return;
    this.#buffer = this.#buffer.filter((entry) => !entry.signal?.aborted);
    for (const entry of aborted) this.#buffered -= entry.names.length;
    this.#giveUp(aborted, reasonOf(aborted[0]?.signal));
  }

  /** Gives lists up for good: each task goes to onError (through the rejection) and the counters, and one line names them. */
  #giveUp(entries: readonly Pending[], why: string): void {
    const names = new Map<string, number>();
    let count = 0;
    for (const entry of entries) {
      for (const name of entry.names) {
        names.set(name, (names.get(name) ?? 0) + 1);
        this.#givenUpByName.set(name, (this.#givenUpByName.get(name) ?? 0) + 1);
      }
      count += entry.names.length;
    }
    this.#givenUp += count;
    const list = [...names].map(([name, n]) => `${printable(name)} x${n}`).join(', ');
    warn(`queue "${this.queueName}": gave up ${count} task${count === 1 ? '' : 's'} never stored in Redis (${why}): ${list}`);
    for (const entry of entries) {
      clearTimeout(entry.deadline);
      // A list held without a try (the client was not connected) has the connection's error to tell.
      const cause = entry.lastError ?? this.#lastError;
      const last = cause === undefined ? '' : `; last error: ${describeError(cause)}`;
      entry.reject(this.#error(entry.names.length, `never stored in Redis: ${why}${last}`, cause));
    }
  }

  #error(count: number, why: string, cause: unknown): EnqueueError {
    const tasks = `${count} task${count === 1 ? '' : 's'}`;
    const advice = clusterAdvice(cause, this.#settings.connection);
    return new EnqueueError(
      `Could not enqueue ${tasks} to BullMQ queue "${this.queueName}": ${why}${advice === undefined ? '' : `; ${advice}`}`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Says once that Redis cannot be reached (at start-up, or lost), not once per task. */
  #unreachable(error: unknown): void {
    if (this.#reachable === false || this.#closing !== undefined) return;
    const what = this.#reachable === undefined ? 'cannot reach Redis at start-up' : 'lost Redis';
    this.#reachable = false;
    warn(
      `queue "${this.queueName}": ${what} (${describeError(error)}); tasks are kept in memory, in order, ` +
        'and sent when it answers (runner.stats().buffered)',
    );
  }

  /** Says once that Redis answers again. */
  #reached(): void {
    if (this.#reachable === true) return;
    const was = this.#reachable;
    this.#reachable = true;
    if (was === false && this.#closing === undefined) {
      warn(`queue "${this.queueName}": Redis answers again; sending the ${this.#buffered} tasks kept in memory`);
    }
  }

  close(): Promise<RunnerCloseResult> {
    this.#closing ??= (async () => {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      // Sends under way end within enqueueTimeout; what they fail to store is given up as they end.
      await settlesWithin(Promise.allSettled([...this.#sending]), this.#settings.enqueueTimeout + CLOSE_BOUND_MS);
      if (this.#buffer.length > 0) {
        const held = this.#buffer;
        this.#buffer = [];
        this.#buffered = 0;
        this.#giveUp(held, 'the runner was closed');
      }
      const client = this.#client;
      // Not connected: disconnecting first also ends BullMQ's wait for a connection that may never come.
      if (client.status !== 'ready') client.disconnect();
      await settlesWithin(Promise.all([this.#queue.close(), this.#producer.close(), this.#watcher.close()]), CLOSE_BOUND_MS);
      if (client.status === 'ready') await settlesWithin(client.quit(), CLOSE_BOUND_MS);
      client.disconnect();
      return { givenUp: this.#givenUp, tasks: Object.fromEntries(this.#givenUpByName) };
    })();
    return this.#closing;
  }
}

/** The size in bytes of the largest job data in a list (a walk, not a recursion: a chain can be long). */
function largestData(flow: FlowJob): number {
  let largest = 0;
  let node: FlowJob | undefined = flow;
  const nodes: FlowJob[] = [];
  while (node !== undefined) {
    largest = Math.max(largest, Buffer.byteLength(JSON.stringify(node.data)));
    nodes.push(...(node.children ?? []));
    node = nodes.pop();
  }
  return largest;
}

function ok(): boolean {
  return true;
}

function fail(entry: Pending, error: unknown): boolean {
  entry.lastError = error;
  return false;
}

function reasonOf(signal: AbortSignal | undefined): string {
  return `given up at the middleware's drain() deadline (${describeError(signal?.reason)})`;
}

/**
 * A queue runner for `backgroundTasks({ runner })`: once a response has finished, its tasks (all made with
 * defineTask) become BullMQ jobs on `queueName`, chained so that they run in the order added. While Redis cannot
 * take them they are kept in memory and sent again until it does. Run them with runWorker() in other processes.
 */
export function bullmqRunner(options: BullmqRunnerOptions): BullmqRunner {
  return new BullmqQueueRunner(parseRunnerOptions(options));
}
