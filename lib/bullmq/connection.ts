// The `connection` option (a redis:// URL or ioredis options) and the runner's fail-fast Redis client.
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { fail } from '../validate.js';

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

/** What BullMQ takes as connection options: it opens its own clients (a worker needs a blocking one). */
export function bullmqConnection(connection: Connection): ConnectionOptions {
  // BullMQ's own type for ioredis options differs from ioredis's in details (retryStrategy may return null there).
  return (typeof connection === 'string' ? { url: connection } : connection) as ConnectionOptions;
}

/**
 * A client for producing jobs that never queues commands in memory while Redis is away: commands fail at once
 * when not connected, and time out when Redis does not answer, so that an enqueue can neither hang nor pile up.
 */
export function producerClient(connection: Connection, timeoutMs: number): Redis {
  const base: RedisOptions = { connectTimeout: timeoutMs, commandTimeout: timeoutMs };
  const forced: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0 };
  return typeof connection === 'string' ? new Redis(connection, { ...base, ...forced }) : new Redis({ ...base, ...connection, ...forced });
}
