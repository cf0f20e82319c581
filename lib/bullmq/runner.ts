// bullmqRunner(): the queue runner (BullmqQueueRunner) that turns each response's tasks into a chain of BullMQ jobs, failing fast without Redis.
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { settlesWithin, withDeadline } from '../deadline.js';
import { EnqueueError } from '../errors.js';
import type { EnqueueOptions, QueuedTask, QueueRunner } from '../queue-runner.js';
import { debug, describeError } from '../report.js';
import { producerClient } from './connection.js';
import { chain } from './flow.js';
import { type BullmqRunnerOptions, parseRunnerOptions, type RunnerSettings } from './options.js';

/** A queue runner for backgroundTasks({ runner }), with close() for shutdown. */
export interface BullmqRunner extends QueueRunner {
  readonly queueName: string;
  /** Closes the Redis connection; call it after the middleware's drain(). Later enqueues fail. */
  close(): Promise<void>;
}

const CLOSE_BOUND_MS = 2000;

class BullmqQueueRunner implements BullmqRunner {
  readonly queueName: string;
  readonly #settings: RunnerSettings;
  readonly #client: Redis;
  /** Adds a single task as a plain job: a quarter of the CPU of a one-job flow, and most lists hold one task. */
  readonly #queue: Queue;
  /** Adds a list of tasks as one chained flow. */
  readonly #producer: FlowProducer;
  /** While the client connects, every enqueue waits on this one promise (rather than each adding its own listeners). */
  #connecting: Promise<void> | undefined;
  #lastError: unknown;
  #closing: Promise<void> | undefined;

  constructor(settings: RunnerSettings) {
    this.#settings = settings;
    this.queueName = settings.queueName;
    this.#client = producerClient(settings.connection, settings.enqueueTimeout);
    this.#client.on('error', (error: unknown) => {
      // Each failed enqueue is reported to onError; here only the debug output hears of the connection.
      if (debug.enabled && describeError(error) !== describeError(this.#lastError)) {
        debug('queue %s: Redis connection error: %s', this.queueName, describeError(error));
      }
      this.#lastError = error;
    });
    this.#client.on('ready', () => {
      if (this.#lastError !== undefined) debug('queue %s: Redis connection ready again', this.queueName);
      this.#lastError = undefined;
    });
    const prefix = settings.prefix === undefined ? {} : { prefix: settings.prefix };
    this.#queue = new Queue(settings.queueName, { connection: this.#client, ...prefix });
    this.#producer = new FlowProducer({ connection: this.#client, ...prefix });
    // BullMQ re-emits connection errors on these; an 'error' event without a listener would throw.
    this.#queue.on('error', () => {});
    this.#producer.on('error', () => {});
  }

  async enqueue(tasks: readonly QueuedTask[], options: EnqueueOptions): Promise<void> {
    const count = `${tasks.length} task${tasks.length === 1 ? '' : 's'}`;
    const failure = (why: string, cause?: unknown): EnqueueError =>
      new EnqueueError(
        `Could not enqueue ${count} to BullMQ queue "${this.queueName}": ${why}`,
        cause === undefined ? undefined : { cause },
      );
    if (this.#closing !== undefined) throw failure('the runner is closed');
    if (tasks.length === 0) return;
    const flow = chain(tasks, options, this.#settings);
    const timeout = this.#settings.enqueueTimeout;
    try {
      const add = (): Promise<unknown> =>
        flow.children === undefined ? this.#queue.add(flow.name, flow.data, flow.opts) : this.#producer.add(flow);
      await withDeadline(
        this.#connected().then(add),
        timeout,
        () => new Error(`no answer from Redis within ${timeout} ms (enqueueTimeout)`),
      );
    } catch (error) {
      throw failure(describeError(error), error);
    }
  }

  /** Resolves once the client is ready; rejects at once when it is known to be down. */
  #connected(): Promise<void> {
    const client = this.#client;
    switch (client.status) {
      case 'ready':
        return Promise.resolve();
      case 'wait': // lazyConnect
      case 'connecting':
      case 'connect':
        if (client.status === 'wait') client.connect().catch(() => {});
        this.#connecting ??= new Promise<void>((resolve, reject) => {
          const settle = (error?: unknown): void => {
            client.off('ready', onReady);
            client.off('error', onError);
            client.off('close', onClose);
            this.#connecting = undefined;
            if (error === undefined) resolve();
            else reject(error);
          };
          const onReady = (): void => settle();
          const onError = (error: unknown): void => settle(error);
          const onClose = (): void => settle(new Error('the connection to Redis closed'));
          client.on('ready', onReady);
          client.on('error', onError);
          client.on('close', onClose);
        });
        return this.#connecting;
      default: {
        const why = this.#lastError === undefined ? '' : `: ${describeError(this.#lastError)}`;
        return Promise.reject(new Error(`Redis is not connected (${client.status}${why})`));
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const client = this.#client;
      // Not connected: disconnecting first also ends BullMQ's wait for a connection that may never come.
      if (client.status !== 'ready') client.disconnect();
      await settlesWithin(Promise.all([this.#queue.close(), this.#producer.close()]), CLOSE_BOUND_MS);
      if (client.status === 'ready') await settlesWithin(client.quit(), CLOSE_BOUND_MS);
      client.disconnect();
    })();
    return this.#closing;
  }
}

/**
 * A queue runner for `backgroundTasks({ runner })`: once a response has finished, its tasks (all made with
 * defineTask) become BullMQ jobs on `queueName`, chained so that they run in the order added. Run them with
 * runWorker() in other processes.
 */
export function bullmqRunner(options: BullmqRunnerOptions): BullmqRunner {
  return new BullmqQueueRunner(parseRunnerOptions(options));
}
