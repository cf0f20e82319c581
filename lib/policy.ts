// A task's policy (name, retries, backoff, timeout, place, flow control), worked out once when the task is accepted.

import { invalid } from './check.js';
import { type Backoff, definitionOf, type TaskDefinition } from './define-task.js';
import { FlowControl, hasFlow } from './flow/flow-control.js';
import { eventLoop, type Place, type ThreadPool } from './place.js';
import type { Task } from './task.js';

export interface TaskPolicy {
  /** The defineTask name; undefined for a plain function, reported under its own name. */
  readonly name: string | undefined;
  /** Attempts after the first (0: one attempt). */
  readonly retries: number;
  readonly backoff: Backoff | undefined;
  /** Per-attempt timeout in ms; Infinity for none. */
  readonly timeout: number;
  /** Where each attempt runs. */
  readonly place: Place;
  /** The kind's dedupe, rate limit and slots per key in this middleware; undefined (one field read) for most tasks. */
  readonly flow: FlowControl<Task> | undefined;
  /** Whether its return value is kept on its status record (defineTask's `result: true`). */
  readonly result: boolean;
}

/** What a middleware (or worker) adds to every task's own definition. */
export interface PolicyDefaults {
  /** The timeout of tasks whose definition sets none. */
  readonly timeout: number;
  /** The retries a queue worker allows itself: 0, since BullMQ does the retries there. Undefined: the definition's. */
  readonly retries?: number;
  /** Where tasks defined with `thread: true` run; undefined refuses them. */
  readonly threads?: ThreadPool | undefined;
  /** The call and option that take `threads`, for the error that says to set it. */
  readonly threadsOption: string;
  /** Who refuses a thread task without a pool, as the error's prefix ('addTask()', 'runWorker()'). */
  readonly where: string;
  /** True where tasks are handed to a queue: a worker, not this process, decides where they run. */
  readonly queued?: boolean;
  /** Runs a debounced task once its key has been quiet for its ttl (the scheduler's); absent, no flow state is kept (a queue worker's limits are in Redis). */
  readonly debounced?: (task: Task) => void;
}

/**
 * The policies of one middleware or worker. A plain function shares one policy object and a defined task's is
 * made once per definition, so that accepting a task allocates nothing for its policy.
 */
export class Policies {
  readonly #defaults: PolicyDefaults;
  readonly #plain: TaskPolicy;
  readonly #defined = new WeakMap<TaskDefinition, TaskPolicy>();
  /** One flow state per definition, whatever the timeout its policy was made with. */
  readonly #flows = new WeakMap<TaskDefinition, FlowControl<Task>>();

  constructor(defaults: PolicyDefaults) {
    this.#defaults = defaults;
    this.#plain = Object.freeze({
      name: undefined,
      retries: 0,
      backoff: undefined,
      timeout: defaults.timeout,
      place: eventLoop,
      flow: undefined,
      result: false,
    });
  }

  /** The policy of `fn`, and its definition if it was made with defineTask(). */
  of(fn: unknown): TaskPolicy {
    const definition = definitionOf(fn);
    return definition === undefined ? this.#plain : this.ofDefinition(definition);
  }

  ofDefinition(definition: TaskDefinition, timeout = this.#defaults.timeout): TaskPolicy {
    const cached = timeout === this.#defaults.timeout ? this.#defined.get(definition) : undefined;
    if (cached !== undefined) return cached;
    const policy: TaskPolicy = Object.freeze({
      name: definition.name,
      retries: this.#defaults.retries ?? definition.retries,
      backoff: definition.backoff,
      timeout: definition.timeout ?? timeout,
      place: definition.thread && this.#defaults.queued !== true ? this.#threads(definition.name) : eventLoop,
      flow: this.#flow(definition),
      result: definition.result,
    });
    if (timeout === this.#defaults.timeout) this.#defined.set(definition, policy);
    return policy;
  }

  #flow(definition: TaskDefinition): FlowControl<Task> | undefined {
    const fire = this.#defaults.debounced;
    if (fire === undefined || !hasFlow(definition)) return undefined;
    let flow = this.#flows.get(definition);
    if (flow === undefined) {
      flow = new FlowControl<Task>(definition, fire);
      this.#flows.set(definition, flow);
    }
    return flow;
  }

  #threads(name: string): ThreadPool {
    const threads = this.#defaults.threads;
    if (threads === undefined) {
      invalid(
        `${this.#defaults.where}: task "${name}" is defined with { thread: true }, but no thread pool was given: pass ${this.#defaults.threadsOption}: ` +
          'threadPool({ module }) from express-background-tasks/threads',
      );
    }
    return threads;
  }
}
