// A task's policy (name, retries, backoff, timeout, place), worked out once when the task is accepted.
import { type Backoff, definitionOf, type TaskDefinition } from './define-task.js';
import { eventLoop, type Place } from './place.js';

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
}

/** What a middleware (or worker) adds to every task's own definition. */
export interface PolicyDefaults {
  /** The timeout of tasks whose definition sets none. */
  readonly timeout: number;
  /** The retries a queue worker allows itself: 0, since BullMQ does the retries there. Undefined: the definition's. */
  readonly retries?: number;
}

/**
 * The policies of one middleware or worker. A plain function shares one policy object and a defined task's is
 * made once per definition, so that accepting a task allocates nothing for its policy.
 */
export class Policies {
  readonly #defaults: PolicyDefaults;
  readonly #plain: TaskPolicy;
  readonly #defined = new WeakMap<TaskDefinition, TaskPolicy>();

  constructor(defaults: PolicyDefaults) {
    this.#defaults = defaults;
    this.#plain = Object.freeze({ name: undefined, retries: 0, backoff: undefined, timeout: defaults.timeout, place: eventLoop });
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
      place: eventLoop,
    });
    if (timeout === this.#defaults.timeout) this.#defined.set(definition, policy);
    return policy;
  }
}
