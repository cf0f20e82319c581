// What a task's BullMQ job carries (the job's data, versioned), written by the runner and read by the worker.
import { pathOf } from '../report.js';

/** Bumped when the shape changes, so that a worker can refuse a job it cannot read rather than run it wrongly. */
export const JOB_FORMAT_VERSION = 1;

export interface TaskJobData {
  /** The format version (JOB_FORMAT_VERSION). */
  readonly v: number;
  /** The task id: a UUID, also the job's id; the task reads it with taskId(). */
  readonly id: string;
  /** The arguments of addTask, JSON-safe (checked at addTask). */
  readonly args: readonly unknown[];
  /** When the response's tasks were handed to the queue, in ms since the epoch. */
  readonly enqueuedAt: number;
  /** The per-attempt timeout in ms as the web process saw it (the task's own, else the middleware's); null for none. */
  readonly timeout: number | null;
  /** The request the task was added during: its method and path (never the query string). */
  readonly method: string;
  readonly path: string;
  /**
   * The W3C traceparent of the hand-off, when a tracer gave one (express-background-tasks/otel does), so that the
   * worker's spans join the web request's trace. Optional within version 1: jobs without it run as before.
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
  readonly args: readonly unknown[];
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
  return { ...taskJobData(id, [], enqueuedAt, Number.POSITIVE_INFINITY, origin, undefined, after), tasks, stopOnError };
}

/** The list job's data if this worker can read it, or the reason it cannot. */
export function readListJobData(data: unknown): ListJobData | string {
  const job = readTaskJobData(data);
  if (typeof job === 'string') return job;
  const list = job as Partial<ListJobData>;
  if (!Array.isArray(list.tasks) || typeof list.stopOnError !== 'boolean') return 'its data lacks a tasks array or stopOnError';
  for (const task of list.tasks as unknown[]) {
    const entry = task as Partial<ListJobTask> | null;
    if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string' || typeof entry.id !== 'string') {
      return 'a task of its list lacks a name or an id';
    }
    if (!Array.isArray(entry.args) || (entry.timeout !== null && typeof entry.timeout !== 'number')) {
      return 'a task of its list lacks an args array or a valid timeout';
    }
  }
  return list as ListJobData;
}

/** version-traceid-parentid-flags, lower-case hex (W3C Trace Context). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

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
    args,
    enqueuedAt,
    timeout: Number.isFinite(timeout) ? timeout : null,
    method: origin.method,
    path: pathOf(origin.url),
    ...(origin.traceparent === undefined ? {} : { traceparent: origin.traceparent }),
    ...(owner === undefined ? {} : { owner }),
  };
  return after === undefined ? data : { ...data, after };
}

/** The job's traceparent if it carries a well-formed one (a malformed one is ignored, never a reason to refuse the job). */
export function traceparentOf(data: TaskJobData): string | undefined {
  const traceparent = data.traceparent;
  return typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : undefined;
}

/** The job's data if this worker can read it, or the reason it cannot. */
export function readTaskJobData(data: unknown): TaskJobData | string {
  const job = data as Partial<TaskJobData> | null;
  if (job === null || typeof job !== 'object') return 'its data is not an object';
  if (job.v !== JOB_FORMAT_VERSION) {
    return `its data has format version ${String(job.v)}, and this worker reads version ${JOB_FORMAT_VERSION}`;
  }
  if (typeof job.id !== 'string' || !Array.isArray(job.args)) return 'its data lacks an id or an args array';
  return job as TaskJobData;
}
