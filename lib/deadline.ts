// Bounding a promise in time: a task's timeout, and Redis and BullMQ calls that can wait for ever when Redis is gone.

/** Resolves to true if `promise` settled within `ms` (Infinity: whenever it does), false otherwise; never rejects. */
export function settlesWithin(promise: PromiseLike<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = ms === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => resolve(false), ms);
    timer?.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms`; a late rejection of `promise` is swallowed.
 * `keepAlive: false` lets the process exit while only this timer is left.
 */
export function withDeadline<T>(promise: PromiseLike<T>, ms: number, onTimeout: () => unknown, keepAlive = false): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    if (!keepAlive) timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
