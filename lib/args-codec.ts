// How task arguments travel through a queue: plain JSON where that is exact, Node's own serializer (a structured clone) for the rest.
import { deserialize, serialize } from 'node:v8';
import { InvalidArgumentError } from './errors.js';

/**
 * A list's arguments as stored in a job: `args` holds each argument as JSON where JSON carries it exactly, and the
 * rest as base64 strings written by Node's serializer (`node:v8`, the structured clone a worker thread gets: Buffer,
 * typed arrays, Date, Map, Set, BigInt, undefined, NaN, shared references and cycles); `encoded` lists the indices
 * of those, and is left out when there are none. Plain arguments stay readable in a dashboard such as Bull Board.
 */
export interface EncodedArgs {
  readonly args: readonly unknown[];
  readonly encoded?: readonly number[];
}

/**
 * Whether JSON carries `value` exactly: strings, finite numbers (not -0), booleans, null, dense arrays and plain
 * (or null-prototype) objects, each reached by one path only (JSON would copy a shared object, and loop on a cycle).
 */
function jsonExact(value: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(item) || Object.is(item, -0)) return false;
        continue;
      case 'object': {
        if (item === null) continue;
        if (seen.has(item)) return false;
        seen.add(item);
        if (Array.isArray(item)) {
          const keys = Object.keys(item);
          if (keys.length !== item.length || Object.getPrototypeOf(item) !== Array.prototype) return false;
          for (const element of item) stack.push(element);
          continue;
        }
        const proto = Object.getPrototypeOf(item);
        // A null-prototype object arrives as a plain object either way (Node's serializer does not keep it either).
        if (proto !== Object.prototype && proto !== null) return false;
        for (const key of Object.keys(item)) {
          if (key === '__proto__') return false; // JSON.parse would make it an own property, not what was sent
          stack.push((item as Record<string, unknown>)[key]);
        }
        continue;
      }
      default:
        return false;
    }
  }
  return true;
}

/**
 * Encodes a task's arguments for a queue. The arguments were checked at addTask (`checkArgs(..., 'queue')`), so
 * the serializer takes them, unless they were changed since.
 * @throws InvalidArgumentError naming the argument by position (never the serializer's message, which quotes a
 * function's source)
 */
export function encodeArgs(args: readonly unknown[]): EncodedArgs {
  let encoded: number[] | undefined;
  const out = args.map((arg, i) => {
    if (jsonExact(arg)) return arg;
    encoded ??= [];
    encoded.push(i);
    try {
      return serialize(arg).toString('base64');
    } catch {
      throw new InvalidArgumentError(
        `args[${i}] cannot go through a queue: it holds a value Node's serializer cannot write (such as a function or a ` +
          'class instance), most likely set after addTask() checked it',
      );
    }
  });
  return encoded === undefined ? { args: out } : { args: out, encoded };
}

/** The arguments as the task gets them, or a string saying why they cannot be read (never quoting them). */
export function decodeArgs(stored: { readonly args: unknown; readonly encoded?: unknown }): unknown[] | string {
  const { args, encoded } = stored;
  if (!Array.isArray(args)) return 'its args are not an array';
  if (encoded === undefined) return args;
  if (!Array.isArray(encoded)) return 'its list of encoded arguments is not an array';
  const out = [...args];
  for (const index of encoded) {
    if (!Number.isSafeInteger(index) || index < 0 || index >= out.length || typeof out[index] !== 'string') {
      return 'its list of encoded arguments names an argument that is not an encoded string';
    }
    try {
      out[index] = deserialize(Buffer.from(out[index] as string, 'base64'));
    } catch {
      return `its argument ${index} cannot be decoded (corrupt, or written by a newer Node whose serializer this one cannot read)`;
    }
  }
  return out;
}
