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

/** A plain options object (or undefined), whose keys are all known. */
export function checkOptionsObject(where: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    invalid(`${where}: options must be an object; received ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) invalid(`${where}: unknown option "${key}"; the options are ${known.map((k) => `"${k}"`).join(', ')}`);
  }
  return options as Record<string, unknown>;
}

/** One option's parser: gets the raw value (undefined when absent) and returns the setting. */
export type OptionParser<T> = (value: unknown) => T;

/** Every option's parser, by option name: the table is the known keys, the defaults and the checks at once. */
export type OptionTable<S> = { readonly [K in keyof S]: OptionParser<S[K]> };

/** Parses `options` with `table`: unknown keys are refused, and every setting comes out present. */
export function parseWithTable<S>(where: string, options: unknown, table: OptionTable<S>): S {
  const raw = checkOptionsObject(where, options, Object.keys(table));
  const settings = {} as S;
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
}

/** A whole number >= min, or Infinity where allowed. */
export function checkInteger(where: string, name: string, value: unknown, { min, fallback, infinity }: IntegerRule): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' && ((infinity && value === Number.POSITIVE_INFINITY) || (Number.isSafeInteger(value) && value >= min));
  if (!ok) fail(where, name, `an integer >= ${min}${infinity ? ' (or Infinity for no limit)' : ''}`, value);
  return value as number;
}

/** Node's timers take at most 2^31 - 1 ms; a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

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
