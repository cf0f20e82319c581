// Shared test helpers: deferred promises, Express-version switch, waiting on counters without sleeping.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { BackgroundTasksMiddleware } from '../lib/index.js';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The Express under test: EXPRESS_VERSION=4 runs the suite against Express 4 (the express4 alias). */
export function loadExpress(): typeof import('express') {
  // biome-ignore lint/style/noCommonJs: the Express version is chosen at run time.
  return process.env.EXPRESS_VERSION === '4' ? require('express4') : require('express');
}

/** Resolves once drain() reports idle: tasks have settled and counters are final. */
export async function settled(middleware: BackgroundTasksMiddleware): Promise<void> {
  const result = await middleware.drain();
  if (!result.drained) throw new Error('drain() did not drain');
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
