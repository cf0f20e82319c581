// The `connection` option (a redis:// URL or ioredis options) and the runner's fail-fast Redis client.
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { fail } from '../check.js';
import { backoffDelay } from '../define-task.js';

/** A redis:// (or rediss://) URL, or ioredis options such as `{ host, port }`. */
export type Connection = string | RedisOptions;

const EXPECTED =
  'a redis:// URL or a plain object of ioredis options such as { host, port } (not a client instance: connections are opened here)';

export function checkConnection(where: string, value: unknown): Connection {
  if (typeof value === 'string') {
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') fail(where, 'connection', EXPECTED, value);
    return value;
  }
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) fail(where, 'connection', EXPECTED, value);
  return value as RedisOptions;
}

/**
 * ioredis waits this long for a socket to end after disconnect() before destroying it, with a timer that also runs
 * (and holds the process) when the socket is already gone; its default is 2 s.
 */
const DISCONNECT_TIMEOUT_MS = 300;

/** What BullMQ takes as connection options: it opens its own clients (a worker needs a blocking one). */
export function bullmqConnection(connection: Connection): ConnectionOptions {
  const options = typeof connection === 'string' ? { url: connection } : connection;
  // BullMQ's own type for ioredis options differs from ioredis's in details (retryStrategy may return null there).
  // BullMQ's own reconnect schedule waits 1 s to 20 s; this one at most RETRY_CAP_MS (options given win).
  return { disconnectTimeout: DISCONNECT_TIMEOUT_MS, retryStrategy: retryDelay, ...options } as ConnectionOptions;
}

/** The first wait of the runner's retries (its Redis reconnects and its resends); doubled each time, up to the cap. */
const RETRY_BASE_MS = 50;
/** The longest wait between two tries: once Redis answers again, what the runner holds is sent within about this. */
export const RETRY_CAP_MS = 500;

/**
 * How long to wait before try number `attempt` (1, 2, ...): exponential from 50 ms (the formula of defineTask's
 * exponential backoff), capped at 500 ms, with jitter (between half of that and all of it) so that many web
 * processes do not all come back at the same instant. The one retry schedule of the runner.
 */
export function retryDelay(attempt: number): number {
  const capped = Math.min(backoffDelay({ type: 'exponential', delay: RETRY_BASE_MS }, Math.min(attempt, 30)), RETRY_CAP_MS);
  return Math.round(capped / 2 + (Math.random() * capped) / 2);
}

/**
 * A client for producing jobs that never queues commands in memory inside ioredis: commands fail at once when not
 * connected, and time out when Redis does not answer, so that a send can neither hang nor pile up (the runner keeps
 * what it could not send itself, in order). It reconnects for ever, at most RETRY_CAP_MS apart, so that a Redis that
 * is back is seen within about half a second (ioredis's own schedule grows to 2 s; a strategy that gives up would
 * leave the runner's buffer with no way out).
 * Auto-pipelining sends the enqueues of one event-loop turn in one write (about 13% more requests per second).
 */
export function producerClient(connection: Connection, timeoutMs: number): Redis {
  const base: RedisOptions = {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    enableAutoPipelining: true,
  };
  const forced: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: retryDelay };
  return typeof connection === 'string' ? new Redis(connection, { ...base, ...forced }) : new Redis({ ...base, ...connection, ...forced });
}
