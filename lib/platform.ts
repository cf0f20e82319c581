// Serverless platforms that may freeze the process after the response: telling them to wait for a list's tasks.
import { describeError, warn } from './report.js';

/** A platform's way to keep a function alive for a promise, such as Vercel's or Cloudflare's `waitUntil`. */
export type PlatformWaitUntil = (promise: Promise<void>) => void;

/** Where Vercel's runtime keeps the current request's context (Sentry reaches its waitUntil the same way). */
const VERCEL_CONTEXT = Symbol.for('@vercel/request-context');

interface VercelContext {
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Vercel's waitUntil for the current request, when running there; undefined elsewhere (one property read). May throw. */
function vercelWaitUntil(): PlatformWaitUntil | undefined {
  const store = (globalThis as { [VERCEL_CONTEXT]?: { get?: () => VercelContext | undefined } })[VERCEL_CONTEXT];
  if (store === undefined) return undefined;
  const context = typeof store.get === 'function' ? store.get() : undefined;
  const waitUntil = context?.waitUntil;
  if (typeof waitUntil !== 'function') return undefined;
  return (promise) => waitUntil.call(context, promise);
}

/**
 * Tells the platform to wait until a list is done: with the `platformWaitUntil` option, or Vercel's own when it is
 * there (option undefined), or not at all (option false). Returns what to call once the list is done, if anything.
 * Never throws: it runs in addTask after the task was counted, so a platform fault (a request context whose get()
 * throws, a waitUntil that throws) is reported and the tasks run anyway.
 */
export function holdPlatform(option: PlatformWaitUntil | false | undefined): (() => void) | undefined {
  let waitUntil: PlatformWaitUntil | undefined;
  try {
    waitUntil = option === undefined ? vercelWaitUntil() : option || undefined;
  } catch (error) {
    warn(`Vercel's request context threw; the tasks run anyway, without waitUntil: ${describeError(error)}`);
    return undefined;
  }
  if (waitUntil === undefined) return undefined;
  let done!: () => void;
  const promise = new Promise<void>((resolve) => {
    done = resolve;
  });
  try {
    waitUntil(promise);
  } catch (error) {
    warn(`platformWaitUntil threw; the tasks run anyway: ${describeError(error)}`);
  }
  return done;
}
