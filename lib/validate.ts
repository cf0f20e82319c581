// Checks shared by every options parser: each failure is a TypeError that names the option and the fix.

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

export function fail(where: string, name: string, expected: string, value: unknown): never {
  throw new TypeError(`${where}: option "${name}" must be ${expected}; received ${received(value)}`);
}

/** A plain options object (or undefined), whose keys are all known. */
export function checkOptionsObject(where: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object; received ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option "${key}"; the options are ${known.map((k) => `"${k}"`).join(', ')}`);
    }
  }
  return options as Record<string, unknown>;
}

export function checkFunction<T>(where: string, name: string, value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(where, name, 'a function', value);
  return value as T;
}

export function checkBoolean(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(where, name, 'true or false', value);
  return value;
}

/** A whole number >= min, or Infinity where allowed. */
export function checkCount(where: string, name: string, value: unknown, min: number, fallback: number, infinity = true): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' && ((infinity && value === Number.POSITIVE_INFINITY) || (Number.isSafeInteger(value) && value >= min));
  if (!ok) fail(where, name, `an integer >= ${min}${infinity ? ' (or Infinity for no limit)' : ''}`, value);
  return value as number;
}

/** Node's timers take at most 2^31 - 1 ms; a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A timeout in ms: a positive number up to MAX_TIMER_MS, or Infinity for none. */
export function checkTimeout<F extends number | undefined>(where: string, name: string, value: unknown, fallback: F): number | F {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    fail(where, name, `a number of milliseconds above 0 and at most ${MAX_TIMER_MS} (or Infinity for none)`, value);
  }
  return value;
}
