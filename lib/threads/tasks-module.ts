// Reading a thread tasks module: its defineTask tasks by name, whatever its export names and module kind.
import { fileURLToPath } from 'node:url';

export type TaskFn = (...args: unknown[]) => unknown;

/** The module's tasks: named exports first, then those of a default export object. */
export function tasksIn(namespace: Record<string, unknown>): Map<string, TaskFn> {
  const found = new Map<string, TaskFn>();
  for (const exported of [namespace, namespace.default]) {
    if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) continue;
    for (const value of Object.values(exported as Record<string, unknown>)) {
      const name = (value as { taskDefinition?: { name?: unknown } } | null)?.taskDefinition?.name;
      if (typeof value === 'function' && typeof name === 'string' && !found.has(name)) found.set(name, value as TaskFn);
    }
  }
  return found;
}

/** require() of a file: URL: CommonJS, TypeScript under a require hook such as tsx's, or an ES module where Node can. */
export function requireModule(url: string): Record<string, unknown> {
  // biome-ignore lint/style/noCommonJs: a tasks module is loaded at run time, by a path only known then.
  return require(fileURLToPath(url));
}

/** Loads a module the way Node would for its kind: require() first, import() for an ES module that require() cannot load. */
export async function loadModule(url: string): Promise<Record<string, unknown>> {
  try {
    return requireModule(url);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
    return import(url);
  }
}
