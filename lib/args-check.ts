// Refuses, at addTask, arguments that would not arrive intact where the task runs: through JSON (a queue) or a structured clone (a thread).
import { invalid } from './check.js';

/** Deeper than this is refused rather than walked: a hostile body must not overflow a stack here or in JSON. */
export const MAX_ARG_DEPTH = 1000;

/** Which crossing the arguments must survive. */
export type Crossing = 'json' | 'clone';

const ALLOWED: Record<Crossing, string> = {
  json: 'strings, finite numbers, booleans, null, arrays and plain objects',
  clone:
    'primitives, arrays, plain objects, Date, RegExp, Map, Set, Error, ArrayBuffer, typed arrays, DataView and Buffer (see README "Blocking and CPU-heavy tasks")',
};

const CROSSING: Record<Crossing, string> = { json: 'JSON-safe', clone: 'able to cross to a worker thread intact' };

/** Built-in classes a structured clone keeps (a Buffer arrives as a Uint8Array and is made a Buffer again there). */
const CLONEABLE = new Set<unknown>([
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  SharedArrayBuffer.prototype,
  DataView.prototype,
  Buffer.prototype,
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
  ...[
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
  ].map((type) => type.prototype),
]);

/** Why `value` itself cannot cross, or undefined when it can (its contents are walked apart). */
function refusal(value: unknown, crossing: Crossing): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return crossing === 'clone' || Number.isFinite(value) ? undefined : String(value);
    case 'undefined':
      return crossing === 'clone' ? undefined : 'undefined';
    case 'bigint':
      return crossing === 'clone' ? undefined : 'a BigInt';
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        if (crossing === 'clone' && Object.getOwnPropertySymbols(value).length > 0) return 'an object with symbol keys (they are dropped)';
        return undefined;
      }
      if (crossing === 'clone' && CLONEABLE.has(proto)) return undefined;
      return `a ${(proto?.constructor as { name?: string } | undefined)?.name || 'class'} instance`;
    }
    default:
      return `a ${typeof value}`;
  }
}

function key(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

/** A path short enough for an error message. */
function shown(path: string): string {
  return path.length > 200 ? `${path.slice(0, 120)}...${path.slice(-60)}` : path;
}

/** The children of a value the crossing walks into, each with its path. */
function children(value: object, path: string): Array<[unknown, string]> {
  if (Array.isArray(value)) return value.map((item, i) => [item, `${path}[${i}]`]);
  if (value instanceof Map) {
    const out: Array<[unknown, string]> = [];
    let i = 0;
    for (const [k, v] of value) {
      out.push([k, `${path}.<map key ${i}>`], [v, `${path}.<map value ${i}>`]);
      i++;
    }
    return out;
  }
  if (value instanceof Set) return [...value].map((item, i) => [item, `${path}.<set item ${i}>`]);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return []; // a cloneable built-in: nothing inside to check
  return Object.keys(value).map((name) => [(value as Record<string, unknown>)[name], key(path, name)]);
}

/**
 * Walks the arguments without recursion (a 20,000-deep JSON body must not overflow the stack), refusing the first
 * value that would not arrive intact, a cycle (for JSON), or nesting deeper than MAX_ARG_DEPTH.
 * @throws TypeError naming the task and the offending path, e.g. `args[1].when`
 */
export function checkArgs(taskName: string, args: readonly unknown[], crossing: Crossing, caller = 'addTask()'): void {
  const where = `${caller}: task "${taskName}"`;
  // Depth-first; an `exit` entry takes an object off the current path once its children are done.
  const stack: Array<{ value: unknown; path: string; depth: number; exit: boolean }> = [];
  for (let i = args.length - 1; i >= 0; i--) stack.push({ value: args[i], path: `args[${i}]`, depth: 0, exit: false });
  const onPath = new Set<object>();
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { value, path, depth } = entry;
    if (entry.exit) {
      onPath.delete(value as object);
      continue;
    }
    const bad = refusal(value, crossing);
    if (bad !== undefined) invalid(`${where}: ${shown(path)} is ${bad}, which is not ${CROSSING[crossing]}; use only ${ALLOWED[crossing]}`);
    if (value === null || typeof value !== 'object') continue;
    if (onPath.has(value)) {
      if (crossing === 'clone') continue; // a structured clone keeps cycles
      invalid(`${where}: ${shown(path)} refers back to itself (a cycle), which is not JSON-safe`);
    }
    if (depth >= MAX_ARG_DEPTH) {
      invalid(`${where}: ${shown(path)} is nested deeper than ${MAX_ARG_DEPTH} levels, the limit for task arguments`);
    }
    onPath.add(value);
    stack.push({ value, path, depth, exit: true });
    const inner = children(value, path);
    for (let i = inner.length - 1; i >= 0; i--) {
      const [child, childPath] = inner[i] as [unknown, string];
      stack.push({ value: child, path: childPath, depth: depth + 1, exit: false });
    }
  }
}
