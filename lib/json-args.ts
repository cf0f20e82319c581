// Refuses task arguments that would not survive a trip through JSON (and so through a queue) unchanged.
import { invalid } from './check.js';

const ALLOWED = 'strings, finite numbers, booleans, null, arrays and plain objects';

function kind(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : String(value);
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return undefined;
      return `a ${(proto?.constructor as { name?: string } | undefined)?.name || 'class'} instance`;
    }
    case 'bigint':
      return 'a BigInt';
    default:
      return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
  }
}

function key(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

/** @throws TypeError naming the task and the offending path, e.g. `args[1].when` */
export function checkJsonArgs(taskName: string, args: readonly unknown[]): void {
  const seen = new Set<object>();
  const visit = (value: unknown, path: string): void => {
    const bad = kind(value);
    if (bad !== undefined) {
      invalid(`addTask(): task "${taskName}": ${path} is ${bad}, which is not JSON-safe; use only ${ALLOWED}`);
    }
    if (value === null || typeof value !== 'object') return;
    if (seen.has(value)) invalid(`addTask(): task "${taskName}": ${path} refers back to itself (a cycle), which is not JSON-safe`);
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value[i], `${path}[${i}]`);
    } else {
      for (const name of Object.keys(value)) visit((value as Record<string, unknown>)[name], key(path, name));
    }
    seen.delete(value);
  };
  for (let i = 0; i < args.length; i++) visit(args[i], `args[${i}]`);
}
