// The test kit's one active scope: recordTasks() or watchTasks(), one at a time in a process, from its call to restore().
import { TestScopeError } from '../errors.js';

interface Active {
  readonly kind: 'recordTasks()' | 'watchTasks()';
  /** Where it was started: the caller's frame, so that a forgotten restore() is easy to find. */
  readonly site: string;
}

let active: Active | undefined;

/**
 * Starts a scope, or throws when one is active: a recording must not leak into a later test, and tasks cannot be
 * both recorded and run (a watchTasks() inside a recordTasks() would wait for tasks that never run). Returns the
 * function that ends it (idempotent).
 */
export function beginScope(kind: Active['kind'], caller: (...args: never[]) => unknown): () => void {
  if (active !== undefined) {
    throw new TestScopeError(
      `${kind} cannot start: ${active.kind} is still active (started ${active.site}). Call its restore() first ` +
        '(in afterEach, or declare it with `using`): one recordTasks() or watchTasks() at a time',
    );
  }
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, caller);
  const frame = holder.stack?.split('\n').find((line) => /^\s+at /.test(line));
  const scope: Active = { kind, site: frame === undefined ? 'at an unknown place' : frame.trim() };
  active = scope;
  return () => {
    if (active === scope) active = undefined;
  };
}
