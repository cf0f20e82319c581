// rateLimit and concurrency across every worker of a queue: a sliding window and leased slots per key in Redis, checked before a job runs.
import { DelayedError, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { TaskDefinition } from '../define-task.js';
import { hashedKey, keysOf } from '../flow/flow-control.js';
import { type Connection, commandClient } from './connection.js';

/**
 * The sliding window of one rate key, with its waiting jobs in order. KEYS: starts (zset: start time), waiting (zset:
 * arrival number), the arrival counter, due (hash: when each waiting job said it would be back). A job starts when the
 * window has room for it counting the jobs ahead of it, or has room and the job's foretold turn has come (a job ahead
 * that is late does not hold back the ones behind it); so jobs of a key start in about the order they first asked.
 * Else the answer is how long to wait, in ms: until the start that frees its place is `per` old, so that a waiting job
 * comes back when its turn comes rather than polling. A waiting job not back `late` ms
 * after it said (its worker died, the job was removed) loses its place. Redis's clock is the one clock for every worker.
 */
const RATE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, limit, per, late = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head or head == id then break end
  local due = tonumber(redis.call('HGET', KEYS[4], head) or '0')
  if now - due <= late then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[4], head)
end
local count = redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], id)
if not rank then
  rank = redis.call('ZCARD', KEYS[2])
  if rank + count >= limit then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), id)
  end
end
local keep = per * 2 + late
local due = tonumber(redis.call('HGET', KEYS[4], id) or 'inf')
-- Room for it behind the jobs ahead of it, or its turn (as foretold when it was told to wait) has come.
if rank + count < limit or (count < limit and due <= now) then
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZADD', KEYS[1], now, id .. ':' .. now)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], keep) end
  return 0
end
-- The window has \`limit\` lanes: \`room\` of them free now, the others free when their start is \`per\` old; a job at
-- rank r takes lane r % limit, in the lane's round r // limit (each round \`per\` later).
local room = limit - count
local lane = rank % limit
local base = now
if lane >= room then
  base = tonumber(redis.call('ZRANGE', KEYS[1], lane - room, lane - room, 'WITHSCORES')[2]) + per
end
local wait = base + per * math.floor(rank / limit) - now
if wait < 1 then wait = 1 end
redis.call('HSET', KEYS[4], id, now + wait)
keep = keep + wait
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], keep) end
return wait
`;

/**
 * One slot of a concurrency key: leases (zset: expiry) so that a worker that dies frees its slots when their leases
 * expire. Answers 0 when the slot is taken (or renewed), else 1.
 */
const SLOT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + lease, id)
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  return 0
end
return 1
`;

/** How long a job waiting for a slot of its key waits before it asks again (nobody tells it when a slot frees). */
export const SLOT_POLL_MS = 100;

type LimitClient = (Redis | Cluster) & LimitCommands;

interface LimitCommands {
  ebtRate(
    starts: string,
    waiting: string,
    counter: string,
    seen: string,
    id: string,
    limit: number,
    per: number,
    stale: number,
  ): Promise<number>;
  ebtSlot(slots: string, id: string, limit: number, lease: number): Promise<number>;
}

/** A slot held while the job runs, renewed until it is released. */
export interface SlotLease {
  release(): Promise<void>;
}

export interface LimitSettings {
  readonly connection: Connection;
  readonly queueName: string;
  readonly prefix: string | undefined;
  /** How long a slot is leased without a renewal (the worker's lockDuration): a dead worker's slots come back after it. */
  readonly leaseMs: number;
}

/** The limits of one worker: a Redis client of its own, opened at the first limited job only. */
export class QueueLimits {
  readonly #settings: LimitSettings;
  #client: LimitClient | undefined;

  constructor(settings: LimitSettings) {
    this.#settings = settings;
  }

  #redis(): LimitClient {
    if (this.#client === undefined) {
      const client = commandClient(this.#settings.connection);
      client.on('error', () => {}); // a failing command fails the job's attempt, which BullMQ retries
      client.defineCommand('ebtRate', { numberOfKeys: 4, lua: RATE_SCRIPT });
      client.defineCommand('ebtSlot', { numberOfKeys: 1, lua: SLOT_SCRIPT });
      this.#client = client as LimitClient;
    }
    return this.#client;
  }

  /** A key's Redis key: the queue's, then a hash of the task name and key (never the key itself). */
  #key(kind: string, name: string, key: string): string {
    return `${this.#settings.prefix ?? 'bull'}:${this.#settings.queueName}:ebt:${kind}:${hashedKey(name, key)}`;
  }

  /**
   * Takes the job's slot of its concurrency key, then its place in its rate window. When either is not free, the job
   * goes back to the queue as delayed (holding no worker slot) and this throws BullMQ's DelayedError; no attempt is counted.
   */
  async enter(job: Job, token: string | undefined, definition: TaskDefinition, args: readonly unknown[]): Promise<SlotLease | undefined> {
    const keys = keysOf(definition, args);
    const redis = this.#redis();
    const id = String(job.id);
    let lease: SlotLease | undefined;
    const { concurrency, rateLimit } = definition;
    if (concurrency !== undefined && keys.slot !== undefined) {
      const slots = this.#key('slot', definition.name, keys.slot);
      const leaseMs = this.#settings.leaseMs;
      if ((await redis.ebtSlot(slots, id, concurrency.limit, leaseMs)) !== 0) {
        await this.#delay(job, token, SLOT_POLL_MS / 2 + Math.random() * SLOT_POLL_MS);
      }
      lease = this.#lease(slots, id, concurrency.limit, leaseMs);
    }
    if (rateLimit !== undefined && keys.rate !== undefined) {
      const base = this.#key('rate', definition.name, keys.rate);
      const stale = rateLimit.per + this.#settings.leaseMs;
      const wait = await redis.ebtRate(
        `${base}:starts`,
        `${base}:waiting`,
        `${base}:n`,
        `${base}:seen`,
        id,
        rateLimit.limit,
        rateLimit.per,
        stale,
      );
      if (wait > 0) {
        await lease?.release();
        await this.#delay(job, token, wait);
      }
    }
    return lease;
  }

  #lease(slots: string, id: string, limit: number, leaseMs: number): SlotLease {
    const redis = this.#redis();
    const renew = setInterval(() => {
      redis.ebtSlot(slots, id, limit, leaseMs).catch(() => {});
    }, leaseMs / 2);
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await redis.zrem(slots, id).catch(() => {});
      },
    };
  }

  async #delay(job: Job, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.ceil(ms), token);
    throw new DelayedError();
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.quit().catch(() => client.disconnect());
  }
}
