// One task kind's flow control in one middleware: its keys, its dedupe or debounce, its rate gate and its slots per key.
import { createHash } from 'node:crypto';
import { invalid } from '../check.js';
import type { KeyFunction, TaskDefinition } from '../define-task.js';
import { InvalidArgumentError } from '../errors.js';
import { Debouncer, DropDedupe } from './dedupe.js';
import { KeySlots } from './key-slots.js';
import { RateGate } from './rate-gate.js';

/** A task's keys, computed once at addTask from its arguments. Never logged nor traced: they come from the arguments. */
export interface FlowKeys {
  readonly dedupe: string | undefined;
  /** '' when the rate limit has no key (one window for the task). */
  readonly rate: string | undefined;
  /** '' when the concurrency limit has no key. */
  readonly slot: string | undefined;
}

/**
 * The key a key function gives for `args`; a throw or a non-string is the caller's bug, a TypeError naming the task
 * and the option (the thrown error as its cause; neither message carries the arguments or the key).
 */
export function keyOf(name: string, option: string, fn: KeyFunction | undefined, args: readonly unknown[]): string | undefined {
  if (fn === undefined) return undefined;
  let key: unknown;
  try {
    key = fn(...args);
  } catch (error) {
    throw new InvalidArgumentError(
      `addTask(): the ${option} function of task "${name}" threw; it must return a string for any arguments the task takes`,
      { cause: error },
    );
  }
  if (typeof key !== 'string') {
    invalid(
      `addTask(): the ${option} function of task "${name}" returned ${key === null ? 'null' : `a ${typeof key}`}; it must return a string`,
    );
  }
  return key;
}

/** The keys of a task of `definition` for `args` (throws as keyOf does). */
export function keysOf(definition: TaskDefinition, args: readonly unknown[]): FlowKeys {
  const { name, dedupe, rateLimit, concurrency } = definition;
  return {
    dedupe: keyOf(name, 'dedupe.key', dedupe?.key, args),
    rate: rateLimit === undefined ? undefined : (keyOf(name, 'rateLimit.key', rateLimit.key, args) ?? ''),
    slot: concurrency === undefined ? undefined : (keyOf(name, 'concurrency.key', concurrency.key, args) ?? ''),
  };
}

/** What stands for a key outside this process (BullMQ's deduplication id, Redis keys): a hash of the name and key, never the key. */
export function hashedKey(name: string, key: string): string {
  return createHash('sha256').update(name).update('\0').update(key).digest('hex').slice(0, 32);
}

/** Whether a definition asks for any flow control (read once per definition, when its policy is made). */
export function hasFlow(definition: TaskDefinition): boolean {
  return definition.dedupe !== undefined || definition.rateLimit !== undefined || definition.concurrency !== undefined;
}

/**
 * The state of one task kind's limits in one middleware. `T` is what the scheduler holds for a task (its Task), so
 * that this file knows nothing of how tasks run.
 */
export class FlowControl<T> {
  readonly definition: TaskDefinition;
  readonly drop: DropDedupe<T> | undefined;
  readonly debounce: Debouncer<T> | undefined;
  readonly #rate: RateGate | undefined;
  readonly #slots: KeySlots | undefined;

  constructor(definition: TaskDefinition, fire: (task: T) => void) {
    this.definition = definition;
    const { dedupe, rateLimit, concurrency } = definition;
    this.drop = dedupe?.mode === 'drop' ? new DropDedupe(dedupe.ttl) : undefined;
    this.debounce = dedupe?.mode === 'debounce' ? new Debouncer(dedupe.ttl, fire) : undefined;
    this.#rate = rateLimit === undefined ? undefined : new RateGate(rateLimit.limit, rateLimit.per);
    this.#slots = concurrency === undefined ? undefined : new KeySlots(concurrency.limit);
  }

  keysOf(args: readonly unknown[]): FlowKeys {
    return keysOf(this.definition, args);
  }

  /** Whether tasks wait here before a concurrency slot of the middleware (a rate limit or slots per key). */
  get gated(): boolean {
    return this.#rate !== undefined || this.#slots !== undefined;
  }

  /**
   * Waits for the task's slot of its key, then for its rate window, and calls `go`; returns true without calling it
   * when both are open now. While it waits the task holds no slot of the middleware: it takes one after `go`.
   */
  enter(keys: FlowKeys, go: () => void): boolean {
    const slots = this.#slots;
    if (slots !== undefined && !slots.take(keys.slot as string, () => this.#afterSlot(keys, go, false))) return false;
    return this.#afterSlot(keys, go, true);
  }

  #afterSlot(keys: FlowKeys, go: () => void, sync: boolean): boolean {
    const rate = this.#rate;
    const open = rate === undefined || rate.pass(keys.rate as string, go);
    if (open && !sync) go();
    return open && sync;
  }

  /** The task starts now: its start enters its rate window. */
  started(keys: FlowKeys): void {
    if (keys.rate !== undefined) this.#rate?.started(keys.rate);
  }

  /** The task ended (after all its attempts): its slot goes to the next of its key. */
  ended(keys: FlowKeys): void {
    if (keys.slot !== undefined) this.#slots?.release(keys.slot);
  }
}
