// Checks shared by every options parser: each failure is a TypeError that names the option and the fix.
import { InvalidArgumentError } from './errors.js';

/** A short, safe description of a received value for error messages (never the whole value). */
export function received(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return `a value of type ${typeof value}`;
  }
}

/** Throws the package's TypeError for a bad option: `where: option "name" must be expected; received ...`. */
export function fail(where: string, name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`${where}: option "${name}" must be ${expected}; received ${received(value)}`);
}

/** Throws the package's TypeError with a message of the caller's. */
export function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

/** An option key as an error message may quote it: escaped, and cut when long (a key can be anything a caller sent). */
export function quotedKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);
}

/** Collections whose entries are not properties: passed as options, they would be read as an empty object. */
const COLLECTIONS: ReadonlyArray<{ type: new () => object; name: string }> = [
  { type: Map, name: 'a Map' },
  { type: Set, name: 'a Set' },
  { type: WeakMap, name: 'a WeakMap' },
];

/**
 * A plain options object (or undefined), whose keys are all known, copied to a null-prototype object of its own
 * properties: a property inherited from Object.prototype (polluted elsewhere in the app) is never read as an option.
 */
export function checkOptionsObject(where: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  const own = Object.create(null) as Record<string, unknown>;
  if (options === undefined) return own;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    invalid(`${where}: options must be an object; received ${received(options)}`);
  }
  const collection = COLLECTIONS.find(({ type }) => options instanceof type);
  if (collection !== undefined) {
    invalid(`${where}: options must be a plain object such as { timeout: 1000 }; received ${collection.name}, whose entries are not read`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      invalid(`${where}: unknown option ${quotedKey(key)}; the options are ${known.map((k) => `"${k}"`).join(', ')}`);
    own[key] = (options as Record<string, unknown>)[key];
  }
  return own;
}

/** One option's parser: gets the raw value (undefined when absent) and returns the setting. */
export type OptionParser<T> = (value: unknown) => T;

/** Every option's parser, by option name: the table is the known keys, the defaults and the checks at once. */
export type OptionTable<S> = { readonly [K in keyof S]: OptionParser<S[K]> };

/** Parses `options` with `table`: unknown keys are refused, and every setting comes out present. */
export function parseWithTable<S>(where: string, options: unknown, table: OptionTable<S>): S {
  const raw = checkOptionsObject(where, options, Object.keys(table));
  const settings = {} as S; // read from `raw`, which holds the caller's own properties only
  for (const key of Object.keys(table) as Array<keyof S & string>) settings[key] = table[key](raw[key]);
  return settings;
}

export function checkFunction<T>(where: string, name: string, value: unknown, { fallback }: { fallback: T }): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(where, name, 'a function', value);
  return value as T;
}

export function checkBoolean(where: string, name: string, value: unknown, { fallback }: { fallback: boolean }): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(where, name, 'true or false', value);
  return value;
}

export interface IntegerRule {
  /** The smallest allowed value. */
  readonly min: number;
  /** The value when the option is absent. */
  readonly fallback: number;
  /** Whether Infinity (no limit) is allowed. */
  readonly infinity: boolean;
  /** The largest allowed value: MAX_TIMER_MS for a number of ms that becomes a timer. Default: none. */
  readonly max?: number;
}

/** Node's timers take at most 2^31 - 1 ms; a longer one fires after 1 ms (with a warning), not later. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A whole number >= min (and <= max where given), or Infinity where allowed. */
export function checkInteger(
  where: string,
  name: string,
  value: unknown,
  { min, fallback, infinity, max = Number.MAX_SAFE_INTEGER }: IntegerRule,
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((infinity && value === Number.POSITIVE_INFINITY) || (Number.isSafeInteger(value) && value >= min && value <= max));
  if (!ok) {
    const upTo = max === Number.MAX_SAFE_INTEGER ? '' : ` and <= ${max}${max === MAX_TIMER_MS ? " (Node's timer limit)" : ''}`;
    fail(where, name, `an integer >= ${min}${upTo}${infinity ? ' (or Infinity for no limit)' : ''}`, value);
  }
  return value as number;
}

export interface TimeoutRule<F> {
  /** The value when the option is absent. */
  readonly fallback: F;
  /** Whether Infinity (no timeout) is allowed. Default true. */
  readonly infinity?: boolean;
  /** Said in the error when Infinity is refused. */
  readonly why?: string;
}

/** A timeout in ms: a positive number up to MAX_TIMER_MS, or Infinity for none where allowed. */
export function checkTimeout<F extends number | undefined>(
  where: string,
  name: string,
  value: unknown,
  { fallback, infinity = true, why }: TimeoutRule<F>,
): number | F {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) {
    if (infinity) return value;
    fail(where, name, `a finite number of milliseconds${why ? ` (${why})` : ''}`, value);
  }
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    const none = infinity ? ' (or Infinity for none)' : '';
    fail(where, name, `a number of milliseconds above 0 and at most ${MAX_TIMER_MS}${none}`, value);
  }
  return value;
}

/** The `{ timeout }` options of drain() and close(): a deadline in ms, or Infinity to wait for ever. */
export function parseDeadline(where: string, options: unknown, fallback: number): number {
  const raw = checkOptionsObject(where, options, ['timeout']);
  return checkTimeout(where, 'timeout', raw.timeout, { fallback });
}
