// Which recorded or watched tasks a filter names (a function, a defineTask task or definition, a name), and how a list of them reads in a message.
import { inspect } from 'node:util';
import { invalid, received } from '../check.js';
import { definitionOf, type TaskDefinition } from '../define-task.js';

/** A task function (plain or made with defineTask), a definition (`task.taskDefinition`), or a task name. */
export type TaskFilter = ((...args: never[]) => unknown) | TaskDefinition | string;

/** The name a filter stands for: a defineTask name, a function's own name, or the string itself. */
export function filterName(filter: TaskFilter): string {
  if (typeof filter === 'string') return filter;
  if (typeof filter === 'function') return definitionOf(filter)?.name ?? (filter.name || 'anonymous');
  return filter.name;
}

/** Checks a filter argument, naming the call and the argument when it is none of the accepted kinds. */
export function checkFilter(where: string, filter: unknown, optional: boolean): void {
  if (filter === undefined && optional) return;
  const ok =
    typeof filter === 'function' ||
    (typeof filter === 'string' && filter !== '') ||
    (filter !== null && typeof filter === 'object' && typeof (filter as { name?: unknown }).name === 'string');
  if (!ok) {
    invalid(
      `${where}: argument "task" must be a task function, a defineTask() task or its definition, or a task name; received ${received(filter)}`,
    );
  }
}

/**
 * Whether a task (its function, if known, and its name) is the one the filter names. A plain function matches itself
 * only; a defineTask task or definition matches every task of that name (the same task loaded twice is still the same
 * task). Without the task's function (watchTasks() never holds it), names are compared.
 */
export function matches(filter: TaskFilter | undefined, fn: unknown, name: string): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'string' || fn === undefined) return filterName(filter) === name;
  if (typeof filter === 'function') {
    if (filter === fn) return true;
    const definition = definitionOf(filter);
    return definition !== undefined && definition.name === name && definitionOf(fn) !== undefined;
  }
  return filter.name === name && definitionOf(fn) !== undefined;
}

/** One task call as a message shows it: `name(arg, arg)`. */
export function describeCall(name: string, args: readonly unknown[] | undefined): string {
  if (args === undefined) return name;
  return `${name}(${args.map((arg) => inspect(arg, { depth: 4, breakLength: Number.POSITIVE_INFINITY })).join(', ')})`;
}

/** A numbered list of tasks for an assertion message, or "(nothing)". */
export function describeList(
  tasks: ReadonlyArray<{ name: string; args?: readonly unknown[]; method: string; url: string; state: string }>,
): string {
  if (tasks.length === 0) return '  (nothing)';
  return tasks
    .map((task, i) => `  ${i + 1}. ${describeCall(task.name, task.args)} from ${task.method} ${task.url} (${task.state})`)
    .join('\n');
}
