// Refuses, at addTask, arguments that would not arrive intact where the task runs: through a structured clone (a thread) or the queue's encoding.
import { types } from 'node:util';
import { invalid } from './check.js';

/** Deeper than this is refused rather than walked: a hostile body must not overflow a stack here or where it is copied. */
export const MAX_ARG_DEPTH = 1000;

/**
 * Which crossing the arguments must survive: a structured clone to a worker thread, or the queue's encoding
 * (`args-codec.ts`: Node's serializer, the same clone rules but a SharedArrayBuffer cannot be stored).
 */
export type Crossing = 'clone' | 'queue';

const ALLOWED: Record<Crossing, string> = {
  clone:
    'primitives, arrays, plain objects, Date, RegExp, Map, Set, Error, ArrayBuffer, typed arrays, DataView and Buffer (see README "Blocking and CPU-heavy tasks")',
  queue:
    'primitives (BigInt and undefined included), arrays, plain objects, Date, RegExp, Map, Set, Error, ArrayBuffer, typed arrays, DataView and Buffer (see README "Arguments through a queue")',
};

const CROSSING: Record<Crossing, string> = { clone: 'able to cross to a worker thread intact', queue: 'able to go through a queue intact' };

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
].map((type) => type.prototype);

/** Built-in classes both crossings keep (a Buffer arrives as a Uint8Array in a thread and is made a Buffer again there). */
const CLONEABLE = new Set<unknown>([
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  Buffer.prototype,
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
  ...TYPED_ARRAYS,
]);

/** Why `value` itself cannot cross, or undefined when it can (its contents are walked apart). */
function refusal(value: unknown, crossing: Crossing): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'undefined':
    case 'bigint':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      // First: any other look at a Proxy (its prototype, its keys) would run its traps.
      if (types.isProxy(value)) return 'a Proxy (a copy would lose its behaviour, and reading it runs its traps)';
      if (Array.isArray(value)) return undefined;
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        if (Object.getOwnPropertySymbols(value).length > 0) return 'an object with symbol keys (they are dropped)';
        return undefined;
      }
      if (CLONEABLE.has(proto)) return undefined;
      if (proto === SharedArrayBuffer.prototype)
        return crossing === 'clone' ? undefined : 'a SharedArrayBuffer (memory cannot be shared through a queue)';
      return `a ${(proto?.constructor as { name?: string } | undefined)?.name || 'class'} instance`;
    }
    default:
      return `a ${typeof value}`;
  }
}

/** Whether `key` (from Object.keys of an array) is one of its indices. */
function isIndex(key: string, length: number): boolean {
  const index = Number(key);
  return Number.isInteger(index) && index >= 0 && index < length && String(index) === key;
}

/** Why an array's shape cannot cross, or undefined: its indices, holes included, are what crosses. */
function arrayRefusal(keys: readonly string[], array: readonly unknown[]): string | undefined {
  // Object.keys lists an array's indices first, in order: a last key that is no index means other properties.
  const last = keys[keys.length - 1];
  if (last !== undefined && !isIndex(last, array.length)) return 'an array with properties besides its items (they would be dropped)';
  if (Object.getOwnPropertySymbols(array).length > 0) return 'an array with symbol keys (they are dropped)';
  return undefined;
}

/** Whether every argument is a primitive both crossings keep (what refusal() passes without a walk); a symbol is not. */
function allPrimitive(args: readonly unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (value === null) continue;
    const type = typeof value;
    if (type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'undefined' && type !== 'bigint') return false;
  }
  return true;
}

/**
 * One value on the walk. The path is kept as a link to the parent and one step, and written out only for an error:
 * never an object key (a key can be personal data, as the package never logs arguments), only positions.
 */
interface Visit {
  readonly value: unknown;
  readonly parent: Visit | undefined;
  /** `[3]`, `.<key 2>`, `.<map key 0>`, ... */
  readonly step: string;
  readonly depth: number;
}

function pathOf(visit: Visit): string {
  const steps: string[] = [];
  for (let at: Visit | undefined = visit; at !== undefined; at = at.parent) steps.push(at.step);
  return steps.reverse().join('');
}

/** A path short enough for an error message. */
function shown(path: string): string {
  return path.length > 200 ? `${path.slice(0, 120)}...${path.slice(-60)}` : path;
}

/**
 * Walks the arguments without recursion (a 20,000-deep JSON body must not overflow the stack), refusing the first
 * value that would not arrive intact, or nesting deeper than MAX_ARG_DEPTH. Each object is visited once, however
 * many references lead to it (both crossings keep shared references and cycles), so the walk is linear in the
 * arguments' size.
 * @throws TypeError naming the task and the offending path by position, e.g. `args[1].<key 0>`
 */
export function checkArgs(taskName: string, args: readonly unknown[], crossing: Crossing, caller = 'addTask()'): void {
  // The common case, arguments that are all primitives (an id, an email): nothing to walk, nothing allocated.
  if (allPrimitive(args)) return;
  const where = `${caller}: task "${taskName}"`;
  const refuse = (visit: Visit, why: string): never =>
    invalid(`${where}: ${shown(pathOf(visit))} is ${why}, which is not ${CROSSING[crossing]}; use only ${ALLOWED[crossing]}`);
  const stack: Visit[] = [];
  for (let i = args.length - 1; i >= 0; i--) stack.push({ value: args[i], parent: undefined, step: `args[${i}]`, depth: 0 });
  const seen = new Set<object>();
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value, depth } = visit;
    if (value !== null && typeof value === 'object' && seen.has(value)) continue;
    const bad = refusal(value, crossing);
    if (bad !== undefined) refuse(visit, bad);
    if (value === null || typeof value !== 'object') continue;
    seen.add(value);
    if (depth >= MAX_ARG_DEPTH) {
      invalid(`${where}: ${shown(pathOf(visit))} is nested deeper than ${MAX_ARG_DEPTH} levels, the limit for task arguments`);
    }
    const child = (item: unknown, step: string): void => {
      stack.push({ value: item, parent: visit, step, depth: depth + 1 });
    };
    // Children are pushed last first, so that the first bad value in reading order is the one named.
    if (Array.isArray(value)) {
      const keys = Object.keys(value);
      const shape = arrayRefusal(keys, value);
      if (shape !== undefined) refuse(visit, shape);
      // Only the items present: a hole crosses as a hole, and `new Array(1e9)` costs nothing to check.
      for (let k = keys.length - 1; k >= 0; k--) child(value[Number(keys[k])], `[${keys[k]}]`);
    } else if (value instanceof Map) {
      const entries = [...value];
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i] as [unknown, unknown];
        child(v, `.<map value ${i}>`);
        child(k, `.<map key ${i}>`);
      }
    } else if (value instanceof Set) {
      const items = [...value];
      for (let i = items.length - 1; i >= 0; i--) child(items[i], `.<set item ${i}>`);
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) continue; // a cloneable built-in: nothing inside to check
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        let item: unknown;
        try {
          item = (value as Record<string, unknown>)[keys[i] as string];
        } catch {
          refuse({ value, parent: visit, step: `.<key ${i}>`, depth: depth + 1 }, 'a getter that throws (a copy reads every property)');
        }
        child(item, `.<key ${i}>`);
      }
    }
  }
}
