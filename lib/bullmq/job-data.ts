// What a task's BullMQ job carries (the job's data, versioned), written by the runner and read (and checked) by the worker.
import { decodeArgs, encodeArgs } from '../args-codec.js';
import { MAX_TIMER_MS } from '../check.js';
import { pathOf } from '../report.js';

/**
 * Bumped when the shape changes, so that a worker can refuse a job it cannot read rather than run it wrongly.
 * Version 2 added `encoded` (arguments JSON cannot carry, written by Node's serializer); a worker reads 1 and 2.
 */
export const JOB_FORMAT_VERSION = 2;

/** The versions this worker reads. */
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

export interface TaskJobData {
  /** The format version (JOB_FORMAT_VERSION). */
  readonly v: number;
  /** The task id: a UUID, also the job's id; the task reads it with taskId(). */
  readonly id: string;
  /**
   * The arguments of addTask: each one as JSON where JSON carries it exactly, else a base64 string written by
   * Node's serializer (`node:v8`), whose index is listed in `encoded` (see lib/args-codec.ts).
   */
  readonly args: readonly unknown[];
  /** The indices of `args` written by Node's serializer; absent when there are none (and in version 1). */
  readonly encoded?: readonly number[];
  /** When the response's tasks were handed to the queue, in ms since the epoch. */
  readonly enqueuedAt: number;
  /** The per-attempt timeout in ms as the web process saw it (the task's own, else the middleware's); null for none. */
  readonly timeout: number | null;
  /** The request the task was added during: its method and path (never the query string). */
  readonly method: string;
  readonly path: string;
  /**
   * The W3C traceparent of the hand-off, when a tracer gave one (express-background-tasks/otel does), so that the
   * worker's spans join the web request's trace. Jobs without it run as before.
   */
  readonly traceparent?: string;
  /**
   * The owner of the request that added the task (the status option's owner(req)), for the status router's owner
   * check in any web process. Optional within version 1.
   */
  readonly owner?: string;
  /**
   * The job id of the last task of the same list's earlier part (stored by flush()): the worker runs this job only
   * once that one has finished. Optional within version 1 (an older worker ignores it and loses only that order).
   */
  readonly after?: string;
}

/** The job name of a long list stored as one job (flow.ts); the worker also checks that its data holds a list. */
export const LIST_JOB_NAME = 'express-background-tasks:list';

/** One task of a list job: its defineTask name, its task id, its arguments and its per-attempt timeout. */
export interface ListJobTask {
  readonly name: string;
  readonly id: string;
  /** Encoded as TaskJobData's `args` are (JSON where exact, else Node's serializer, listed in `encoded`). */
  readonly args: readonly unknown[];
  readonly encoded?: readonly number[];
  readonly timeout: number | null;
  readonly owner?: string;
}

/**
 * A long list stored as one job: the fields of TaskJobData (`id` is the list job's id; `args` is empty, so that a
 * worker of an older release refuses the job by its unknown name rather than misreading it), plus its tasks, run
 * in order by one worker, and whether a failure skips the rest.
 */
export interface ListJobData extends TaskJobData {
  readonly tasks: readonly ListJobTask[];
  readonly stopOnError: boolean;
}

export function listJobData(
  id: string,
  tasks: readonly ListJobTask[],
  stopOnError: boolean,
  enqueuedAt: number,
  origin: { method: string; url: string; traceparent?: string | undefined },
  after?: string,
): ListJobData {
  const encoded = tasks.map((task) => ({ ...task, ...encodeArgs(task.args) }));
  return { ...taskJobData(id, [], enqueuedAt, Number.POSITIVE_INFINITY, origin, undefined, after), tasks: encoded, stopOnError };
}

/** A list job as the worker runs it: its fields checked, each task's arguments decoded. */
export interface ListJob extends TaskJob {
  readonly tasks: ReadonlyArray<ListJobTask & { readonly args: unknown[] }>;
  readonly stopOnError: boolean;
}

/** The list job's data if this worker can read it, every field checked and each task's arguments decoded, or the reason it cannot. */
export function readListJobData(data: unknown): ListJob | string {
  const job = readTaskJobData(data);
  if (typeof job === 'string') return job;
  const { tasks, stopOnError } = data as { tasks?: unknown; stopOnError?: unknown };
  if (!Array.isArray(tasks) || typeof stopOnError !== 'boolean') return 'its data lacks a tasks array or stopOnError';
  const read: Array<ListJobTask & { args: unknown[] }> = [];
  for (const task of tasks as unknown[]) {
    const entry = task as Partial<ListJobTask> | null;
    if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string' || !validId(entry.id)) {
      return 'a task of its list lacks a name or an id';
    }
    const { timeout } = entry;
    if (timeout !== null && (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMER_MS)) {
      return 'a task of its list has a timeout that is not null or a number of ms above 0 and at most 2147483647';
    }
    const args = decodeArgs({ args: entry.args, encoded: job.v === 1 ? undefined : entry.encoded });
    if (typeof args === 'string') return `a task of its list cannot be read: ${args}`;
    read.push({ ...(entry as ListJobTask), args });
  }
  return { ...job, tasks: read, stopOnError };
}

/** A job as the worker runs it: its fields checked, its arguments decoded. */
export interface TaskJob extends JobOrigin {
  /** The format version it was written in. */
  readonly v: number;
  readonly id: string;
  readonly args: unknown[];
  readonly enqueuedAt: number;
  readonly timeout: number | null;
  readonly traceparent: string | undefined;
  /** The job id of the earlier part of its list that must finish first (see TaskJobData). */
  readonly after: string | undefined;
}

/** What a report says about where a job came from. */
export interface JobOrigin {
  /** The task id, when the job carries a well-formed one. */
  readonly id?: string | undefined;
  readonly method: string;
  readonly path: string;
}

/** version-traceid-parentid-flags, lower-case hex (W3C Trace Context). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Longer than any method or path a web process writes: a longer one is forged or corrupt. */
const MAX_METHOD = 64;
const MAX_PATH = 16_384;

/**
 * Stands for the data of a job whose stored JSON could not be parsed (see worker.ts), so that the job fails once, with
 * that reason, instead of going back and forth between active and waiting.
 */
export const UNREADABLE_JSON: unique symbol = Symbol('express-background-tasks: job data is not valid JSON');

export function taskJobData(
  id: string,
  args: readonly unknown[],
  enqueuedAt: number,
  timeout: number,
  origin: { method: string; url: string; traceparent?: string | undefined },
  owner?: string,
  after?: string,
): TaskJobData {
  const data: TaskJobData = {
    v: JOB_FORMAT_VERSION,
    id,
    ...encodeArgs(args),
    enqueuedAt,
    timeout: Number.isFinite(timeout) ? timeout : null,
    method: origin.method,
    path: pathOf(origin.url),
    ...(origin.traceparent === undefined ? {} : { traceparent: origin.traceparent }),
    ...(owner === undefined ? {} : { owner }),
  };
  return after === undefined ? data : { ...data, after };
}

/** The job's data as an object of its own properties, or why not. */
function fieldsOf(data: unknown): Record<string, unknown> | string {
  if (data === UNREADABLE_JSON) return 'its data is not valid JSON';
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'its data is not an object';
  const job = data as Record<string, unknown>;
  if (!READABLE_VERSIONS.includes(job.v)) {
    return `its data has format version ${typeof job.v === 'number' ? job.v : typeof job.v}, and this worker reads versions ${READABLE_VERSIONS.join(' and ')}`;
  }
  return job;
}

function validId(id: unknown): id is string {
  return typeof id === 'string' && id !== '' && id.length <= 256;
}

/** The method and path a job says it came from, checked; empty strings when they are missing or malformed (for reports). */
export function originOfJob(data: unknown): JobOrigin {
  const job = fieldsOf(data);
  if (typeof job === 'string') return { method: '', path: '' };
  const { id, method, path } = job;
  return {
    id: validId(id) ? id : undefined,
    method: typeof method === 'string' && method.length <= MAX_METHOD ? method : '',
    path: typeof path === 'string' && path.length <= MAX_PATH ? path : '',
  };
}

/**
 * The job's data if this worker can read it, every field checked and the arguments decoded, or the reason it cannot
 * (said without quoting the data: a forged job's fields are not printed).
 */
export function readTaskJobData(data: unknown): TaskJob | string {
  const job = fieldsOf(data);
  if (typeof job === 'string') return job;
  const { id, enqueuedAt, timeout, method, path, traceparent } = job;
  if (!validId(id)) return 'its id is not a string of 1 to 256 characters';
  if (typeof enqueuedAt !== 'number' || !Number.isFinite(enqueuedAt)) return 'its enqueuedAt is not a finite number';
  if (timeout !== null && (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMER_MS)) {
    return `its timeout is not null or a number of ms above 0 and at most ${MAX_TIMER_MS}`;
  }
  if (typeof method !== 'string' || method.length > MAX_METHOD) return `its method is not a string of at most ${MAX_METHOD} characters`;
  if (typeof path !== 'string' || path.length > MAX_PATH) return `its path is not a string of at most ${MAX_PATH} characters`;
  // A traceparent of another shape is ignored, as W3C Trace Context says to; one that is no string at all is corrupt.
  if (traceparent !== undefined && typeof traceparent !== 'string') return 'its traceparent is not a string';
  if (job.owner !== undefined && typeof job.owner !== 'string') return 'its owner is not a string';
  if (job.after !== undefined && !validId(job.after)) return 'its after is not a job id (a string of 1 to 256 characters)';
  const args = decodeArgs({ args: job.args, encoded: job.v === 1 ? undefined : job.encoded });
  if (typeof args === 'string') return args;
  return {
    v: job.v as number,
    id,
    args,
    enqueuedAt,
    after: job.after as string | undefined,
    timeout,
    method,
    path,
    traceparent: typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : undefined,
  };
}

/** The owner a job's task was added under (for the status router), if its data carries one. */
export function ownerOf(data: unknown): string | undefined {
  const owner = data !== null && typeof data === 'object' ? (data as { owner?: unknown }).owner : undefined;
  return typeof owner === 'string' ? owner : undefined;
}
