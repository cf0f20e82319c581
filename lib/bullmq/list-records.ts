// Status records of the tasks of a list job (a long list stored as one job): an index from each task id to its list job and place, and each task's outcome, in keys of their own.
import type { Job, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { QueuedTask, QueueRecord } from '../queue-runner.js';
import { debug, describeError, printable } from '../report.js';
import type { TaskState } from '../task-events.js';
import { PROGRESS_WINDOW_MS } from '../throttle.js';
import { type Connection, commandClient } from './connection.js';
import { type JobProgress, progressOf, queueRecord } from './records.js';

/*
 * Keys, under the queue's own (`<prefix>:<queueName>:`, so that on a cluster they share its hash tag and slot):
 * - `ebt:list-task:<task id>`: the task's list job id, its place in the list, its name and owner (JSON);
 * - `ebt:list:<list job id>`: a hash of each task's outcome by place (JSON), and `keep`, the status ttl in ms.
 * The runner writes the index and `keep` with the list job; the worker writes the outcomes when `keep` is there.
 */

/** Queue and Worker (BullMQ's QueueBase): the queue's keys. */
interface QueueKeys {
  toKey(type: string): string;
}

type Client = Redis | Cluster;

/**
 * How long past the ttl a list's index and outcomes live from when the list was stored: a list job still waiting or
 * running after that reads as unknown. Once the list has finished, they live for the ttl.
 */
export const LIST_RECORDS_MS = 7 * 24 * 3_600_000;

const KEEP = 'keep';

function indexKey(keys: QueueKeys, taskId: string): string {
  return keys.toKey(`ebt:list-task:${taskId}`);
}

function outcomesKey(keys: QueueKeys, listJobId: string): string {
  return keys.toKey(`ebt:list:${listJobId}`);
}

/** What the index says of a task of a list job. */
interface IndexEntry {
  /** The list job's id. */
  readonly j: string;
  /** The task's place in the list, from 0. */
  readonly i: number;
  /** Its defineTask name. */
  readonly n: string;
  /** The owner of the request that added it (the status option's owner(req)). */
  readonly o?: string;
}

/** A task's outcome so far as the worker stores it: its progress fields (as a job's progress holds them) and the rest of its record. */
export interface ListTaskOutcome extends JobProgress {
  readonly state: TaskState;
  readonly attempts: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** The error's message, for a failed or timed-out task. */
  readonly reason?: string;
  readonly result?: unknown;
}

/**
 * Writes part of a list's index (KEYS: the outcomes hash, then each task's index key; ARGV: the ttl, the keys' life
 * in ms or 0 for none, then each task's entry): a script call per CHUNK tasks, not a command per task (measured: a
 * pipeline of 10,000 SETs cost the web process about eight times the list job's own store), and chunks so that no
 * call holds Redis for long (10,000 SETs in one script took Redis about 45 ms on a loaded machine).
 */
const INDEX_SCRIPT = `
local life = tonumber(ARGV[2])
for i = 2, #KEYS do
  if life > 0 then redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', life) else redis.call('SET', KEYS[i], ARGV[i + 1]) end
end
redis.call('HSET', KEYS[1], '${KEEP}', ARGV[1])
if life > 0 then redis.call('PEXPIRE', KEYS[1], life) end
return 0`;

/** Sets the expiry of every key given (ARGV[1], in ms). */
const EXPIRE_SCRIPT = `
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 0`;

/** The most keys one script call writes. */
const CHUNK = 1000;

/** Calls `each` with the items CHUNK at a time, all at once (sent together with auto-pipelining); resolves when all have. */
async function inChunks<T>(items: readonly T[], each: (chunk: readonly T[]) => Promise<unknown>): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let at = 0; at < items.length; at += CHUNK) calls.push(each(items.slice(at, at + CHUNK)));
  await Promise.all(calls);
}

/**
 * What the runner stores alongside a list job when status records are on: built once, written with every try of
 * the list (each write the same, so a resend is idempotent).
 */
export class ListIndex {
  readonly #listJobId: string;
  readonly #entries: ReadonlyArray<readonly [taskId: string, entry: string]>;
  readonly #keepFor: number;

  constructor(listJobId: string, tasks: readonly QueuedTask[], keepFor: number) {
    this.#listJobId = listJobId;
    this.#keepFor = keepFor;
    this.#entries = tasks.map(({ id, definition, owner }, i) => {
      const entry: IndexEntry =
        owner === undefined ? { j: listJobId, i, n: definition.name } : { j: listJobId, i, n: definition.name, o: owner };
      return [id, JSON.stringify(entry)] as const;
    });
  }

  /** Each task's index key and the outcomes hash's `keep`, expiring LIST_RECORDS_MS past the ttl. */
  write(client: Client, keys: QueueKeys): Promise<void> {
    const life = String(Number.isFinite(this.#keepFor) ? Math.ceil(this.#keepFor) + LIST_RECORDS_MS : 0);
    const outcomes = outcomesKey(keys, this.#listJobId);
    const keep = String(this.#keepFor);
    return inChunks(this.#entries, (chunk) =>
      client.eval(
        INDEX_SCRIPT,
        chunk.length + 1,
        outcomes,
        ...chunk.map(([id]) => indexKey(keys, id)),
        keep,
        life,
        ...chunk.map(([, entry]) => entry),
      ),
    );
  }
}

/** The index entry of a task of a list job, or undefined (no such task, or an entry this release cannot read). */
async function indexOf(client: Client, keys: QueueKeys, taskId: string): Promise<IndexEntry | undefined> {
  const stored = await client.get(indexKey(keys, taskId));
  if (stored === null) return undefined;
  let entry: Partial<IndexEntry>;
  try {
    entry = JSON.parse(stored) as Partial<IndexEntry>;
  } catch {
    return undefined;
  }
  if (entry === null || typeof entry !== 'object' || typeof entry.j !== 'string' || typeof entry.n !== 'string') return undefined;
  if (!Number.isSafeInteger(entry.i) || (entry.i as number) < 0) return undefined;
  if (entry.o !== undefined && typeof entry.o !== 'string') return undefined;
  return entry as IndexEntry;
}

/** The id of the list job that holds the task, if it is a task of a list job (for watching that job's events). */
export async function listJobOf(client: Client, keys: QueueKeys, taskId: string): Promise<string | undefined> {
  return (await indexOf(client, keys, taskId))?.j;
}

const STATES: ReadonlySet<unknown> = new Set<TaskState>(['running', 'succeeded', 'failed', 'timedOut', 'skipped']);

function outcomeOf(stored: string | null): ListTaskOutcome | undefined {
  if (stored === null) return undefined;
  let outcome: Partial<ListTaskOutcome>;
  try {
    outcome = JSON.parse(stored) as Partial<ListTaskOutcome>;
  } catch {
    return undefined;
  }
  if (outcome === null || typeof outcome !== 'object' || !STATES.has(outcome.state)) return undefined;
  return outcome as ListTaskOutcome;
}

const time = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * A task of a list job's record, or undefined when it is not one (or its list job is gone): its outcome as the
 * worker stored it; with none yet, `queued` while the list job waits or runs (its task has not started). A list job
 * that ended leaves a task without a final outcome `failed` with the job's reason (the job failed: the worker
 * stopped before it), or `skipped` (it completed without running it: a worker of an older release stores no outcomes).
 */
export async function readListRecord(client: Client, queue: Queue, taskId: string): Promise<QueueRecord | undefined> {
  const entry = await indexOf(client, queue, taskId);
  if (entry === undefined) return undefined;
  const [jobState, [timestamp, finishedOn, failedReason], stored] = await Promise.all([
    queue.getJobState(entry.j),
    client.hmget(queue.toKey(entry.j), 'timestamp', 'finishedOn', 'failedReason'),
    client.hget(outcomesKey(queue, entry.j), String(entry.i)),
  ]);
  if (jobState === 'unknown') return undefined;
  const outcome = outcomeOf(stored);
  const ended = jobState === 'completed' || jobState === 'failed';
  let state: TaskState = outcome?.state ?? 'queued';
  let reason = typeof outcome?.reason === 'string' ? outcome.reason : undefined;
  let finishedAt = time(outcome?.finishedAt);
  if (ended && (state === 'queued' || state === 'running')) {
    state = jobState === 'failed' ? 'failed' : 'skipped';
    reason = failedReason ?? undefined;
    finishedAt = Number(finishedOn) || undefined;
  }
  return queueRecord({
    id: taskId,
    name: entry.n,
    state,
    attempts: typeof outcome?.attempts === 'number' ? outcome.attempts : 0,
    progress: progressOf(outcome),
    reason,
    result: outcome?.result,
    addedAt: Number(timestamp) || 0,
    startedAt: time(outcome?.startedAt),
    finishedAt,
    owner: entry.o,
  });
}

/**
 * The worker's side: a client of its own, opened at the first list job, to read whether a list has records and to
 * write its tasks' outcomes.
 */
export class ListRecords {
  readonly #connection: Connection;
  readonly #keys: QueueKeys;
  #client: Client | undefined;

  constructor(connection: Connection, keys: QueueKeys) {
    this.#connection = connection;
    this.#keys = keys;
  }

  #redis(): Client {
    if (this.#client === undefined) {
      this.#client = commandClient(this.#connection);
      this.#client.on('error', () => {}); // a failed write is said at debug level; the worker reports connection trouble
    }
    return this.#client;
  }

  /** The list job's outcomes, or undefined when the runner stored no index with it (status records off). */
  async open(job: Job, taskIds: readonly string[]): Promise<ListOutcomes | undefined> {
    const redis = this.#redis();
    const key = outcomesKey(this.#keys, String(job.id));
    const keep = Number(await redis.hget(key, KEEP));
    if (!(keep > 0)) return undefined;
    return new ListOutcomes(redis, this.#keys, job, key, keep, taskIds);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.quit().catch(() => client.disconnect());
  }
}

/** One list job's task outcomes, written by the worker that runs it. */
export class ListOutcomes {
  readonly #redis: Client;
  readonly #keys: QueueKeys;
  readonly #job: Job;
  readonly #key: string;
  readonly #keepFor: number;
  readonly #taskIds: readonly string[];

  constructor(redis: Client, keys: QueueKeys, job: Job, key: string, keepFor: number, taskIds: readonly string[]) {
    this.#redis = redis;
    this.#keys = keys;
    this.#job = job;
    this.#key = key;
    this.#keepFor = keepFor;
    this.#taskIds = taskIds;
  }

  /** The record of the list's task at `place`, now running. */
  task(place: number): ListTaskRecord {
    return new ListTaskRecord(this, place);
  }

  /** A task of the list that never ran (skipped, or its name unknown to this worker): its one, final outcome. */
  never(place: number, outcome: Omit<ListTaskOutcome, 'finishedAt'>): Promise<void> {
    return this.write(place, { ...outcome, finishedAt: Date.now() });
  }

  /** The tasks from place `from` to before `to`, skipped (stopOnError): one write. */
  async skipped(from: number, to: number): Promise<void> {
    if (from >= to) return;
    const skipped = JSON.stringify({ state: 'skipped', attempts: 0, finishedAt: Date.now() } satisfies ListTaskOutcome);
    const fields: string[] = [];
    for (let place = from; place < to; place++) fields.push(String(place), skipped);
    await this.#redis
      .hset(this.#key, ...fields)
      .catch((error: unknown) => debug('list job %s: skipped tasks not recorded: %s', printable(this.#job.id), describeError(error)));
  }

  /**
   * Stores a task's outcome; for a task still running, then tells watchers with a progress event of the list job
   * (its value, the number of tasks done, unchanged). A failed write is said at debug level: the record is behind.
   */
  async write(place: number, outcome: ListTaskOutcome): Promise<void> {
    try {
      await this.#redis.hset(this.#key, String(place), JSON.stringify(outcome));
      if (outcome.state === 'running') await this.#job.updateProgress(place);
    } catch (error) {
      debug('list job %s: task %d record not stored: %s', printable(this.#job.id), place + 1, describeError(error));
    }
  }

  /** The list has finished: its index and outcomes now live for the ttl. */
  async finished(): Promise<void> {
    if (!Number.isFinite(this.#keepFor)) return;
    const ttl = String(Math.ceil(this.#keepFor));
    const keys = [this.#key, ...this.#taskIds.map((id) => indexKey(this.#keys, id))];
    await inChunks(keys, (chunk) => this.#redis.eval(EXPIRE_SCRIPT, chunk.length, ...chunk, ttl)).catch((error: unknown) =>
      debug('list job %s: records keep their longer expiry: %s', printable(this.#job.id), describeError(error)),
    );
  }
}

/**
 * One running task of a list job: its outcome so far, written in order (its start, retries, progress, then its end).
 * Its start is written once it has run for PROGRESS_WINDOW_MS, unless it says something sooner: a short task goes from
 * queued to its end in one write (measured: a list of trivial tasks ran 3.5 times slower with a write at each start).
 */
export class ListTaskRecord {
  readonly #outcomes: ListOutcomes;
  readonly #place: number;
  #outcome: ListTaskOutcome;
  #writing: Promise<void> = Promise.resolve();
  #start: NodeJS.Timeout | undefined;

  constructor(outcomes: ListOutcomes, place: number) {
    this.#outcomes = outcomes;
    this.#place = place;
    this.#outcome = { state: 'running', attempts: 1, startedAt: Date.now() };
    this.#start = setTimeout(() => this.#write(), PROGRESS_WINDOW_MS);
    this.#start.unref();
  }

  #write(): Promise<void> {
    clearTimeout(this.#start);
    this.#start = undefined;
    const outcome = this.#outcome;
    this.#writing = this.#writing.then(() => this.#outcomes.write(this.#place, outcome));
    return this.#writing;
  }

  /** The progress writer's store: the task's last taskProgress() (and a failed attempt's error name and code). */
  progressed(progress: JobProgress): Promise<void> {
    this.#outcome = { ...this.#outcome, ...progress };
    return this.#write();
  }

  retried(attempts: number): void {
    this.#outcome = { ...this.#outcome, attempts };
    void this.#write();
  }

  /** Writes its start now if still pending (it was stopped, to run again later), and waits for every write. */
  flush(): Promise<void> {
    if (this.#start !== undefined) this.#write();
    return this.#writing;
  }

  /** Its final outcome, once every earlier write is done. */
  finish(outcome: Omit<ListTaskOutcome, 'startedAt' | 'finishedAt'>): Promise<void> {
    this.#outcome = { ...this.#outcome, ...outcome, finishedAt: Date.now() };
    return this.#write();
  }
}
