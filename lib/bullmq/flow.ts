// One response's tasks as BullMQ jobs: one job, a chain in which each task is the parent of the one before it, or one job carrying a long list.
import { randomUUID } from 'node:crypto';
import type { FlowJob, JobsOptions, KeepJobs } from 'bullmq';
import type { EnqueueOptions, QueuedTask } from '../queue-runner.js';
import { LIST_JOB_NAME, type ListJobTask, listJobData, taskJobData } from './job-data.js';

export type Keep = boolean | number | KeepJobs;

export interface ChainSettings {
  readonly queueName: string;
  readonly removeOnComplete: Keep;
  readonly removeOnFail: Keep;
}

/**
 * How long Redis remembers a single-task list's job id after the job was added, even once it has run and been
 * removed (BullMQ's deduplication, TTL mode): a resend of the same list within this window is ignored, never run twice.
 */
export const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;

/**
 * The longest list stored as a chain of jobs (one job per task). A longer one is stored as one job that carries
 * the list: BullMQ's flow code recurses once per level (about 5,000 levels overflow the stack), and a chain costs
 * far more to store (measured: 10,000 tasks as a chain about 5-10 s of the web process's CPU in one stretch,
 * as one job about 40 ms; bench/results.md).
 */
export const LONGEST_CHAIN = 100;

/**
 * The job ids are fixed here, once per list, and the runner resends this same flow on every retry: BullMQ ignores an
 * add whose job id exists. A single task also carries a deduplication id (its job id) kept for IDEMPOTENCY_WINDOW_MS,
 * which covers a job that already ran and was removed. BullMQ refuses deduplication on flow nodes with children or a
 * parent, so a chain's root (its last task, stored in the same transaction as the others) is instead kept for that
 * window after it has finished (when finished jobs are removed at once), and the runner resends a chain only when
 * its root is absent.
 *
 * With `options.after` (the list's earlier part was stored by flush()), the first job carries it, and the worker
 * starts it only once that part's last job has finished.
 *
 * A single task is a plain job (the runner adds it without a flow). For more, BullMQ runs a parent only after its
 * children, so the list [a, b, c] becomes c <- b <- a: `a` is the leaf
 * and runs first, and the last task is the root. What a child's final failure does to its parent:
 * - isolation: ignoreDependencyOnFailure, the parent runs anyway (the failure is recorded on it);
 * - stopOnError: failParentOnFailure, the parent fails at once without running, and so on up the chain.
 */
export function chain(tasks: readonly QueuedTask[], options: EnqueueOptions, settings: ChainSettings): FlowJob {
  const enqueuedAt = Date.now();
  if (tasks.length > LONGEST_CHAIN) return listJob(tasks, options, settings, enqueuedAt);
  const onChildFailure: JobsOptions = options.stopOnError ? { failParentOnFailure: true } : { ignoreDependencyOnFailure: true };
  let node: FlowJob | undefined;
  for (let i = 0; i < tasks.length; i++) {
    const { definition, args, id, owner, dedupe } = tasks[i] as QueuedTask;
    // The task's id (made by the middleware) is the job id: a UUID is never all digits and has no ':', which BullMQ would refuse.
    const root = i === tasks.length - 1 && tasks.length > 1;
    const opts: JobsOptions = {
      jobId: id,
      attempts: definition.retries + 1,
      removeOnComplete: keptFor(root ? keptAWhile(settings.removeOnComplete) : settings.removeOnComplete, options.keepFor),
      removeOnFail: keptFor(root ? keptAWhile(settings.removeOnFail) : settings.removeOnFail, options.keepFor),
      ...(definition.backoff === undefined ? {} : { backoff: { type: definition.backoff.type, delay: definition.backoff.delay } }),
      ...(i < tasks.length - 1 ? onChildFailure : {}),
      ...(tasks.length === 1 ? singleJob(id, dedupe) : {}),
    };
    const data = taskJobData(
      id,
      args,
      enqueuedAt,
      definition.timeout ?? options.timeout,
      options.origin,
      owner,
      i === 0 ? options.after : undefined,
    );
    node = {
      name: definition.name,
      queueName: settings.queueName,
      data,
      opts,
      ...(node === undefined ? {} : { children: [node] }),
    } as FlowJob;
  }
  return node as FlowJob;
}

/**
 * A long list as one plain job, run by one worker in order (worker.ts): the worker does each task's retries and
 * records its progress, so that a job delivered again resumes after the last finished task. Like a single task, it
 * carries a deduplication id, so a resend within the idempotency window is ignored.
 */
function listJob(tasks: readonly QueuedTask[], options: EnqueueOptions, settings: ChainSettings, enqueuedAt: number): FlowJob {
  const id = randomUUID();
  const entries: ListJobTask[] = tasks.map(({ definition, args, id: taskId, owner }) => {
    const timeout = definition.timeout ?? options.timeout;
    const entry = { name: definition.name, id: taskId, args, timeout: Number.isFinite(timeout) ? timeout : null };
    return owner === undefined ? entry : { ...entry, owner };
  });
  return {
    name: LIST_JOB_NAME,
    queueName: settings.queueName,
    data: listJobData(id, entries, options.stopOnError, enqueuedAt, options.origin, options.after),
    opts: {
      jobId: id,
      attempts: 1,
      removeOnComplete: keptFor(settings.removeOnComplete, options.keepFor),
      removeOnFail: keptFor(settings.removeOnFail, options.keepFor),
      deduplication: { id, ttl: IDEMPOTENCY_WINDOW_MS },
    },
  };
}

/**
 * A single job's deduplication: its own job id for the idempotency window, or for a task defined with `dedupe`, the
 * hash of its name and key (the scheduler sends such a task alone). 'drop' is BullMQ's throttle mode (later adds of the
 * id within ttl are ignored, from any web process); 'debounce' is its debounce mode (the job waits ttl, and a later
 * add replaces it with its own arguments and starts the ttl again). A resend of the same job is ignored either way.
 */
function singleJob(id: string, dedupe: QueuedTask['dedupe']): JobsOptions {
  if (dedupe === undefined) return { deduplication: { id, ttl: IDEMPOTENCY_WINDOW_MS } };
  if (!dedupe.debounce) return { deduplication: { id: dedupe.id, ttl: dedupe.ttl } };
  return { delay: dedupe.ttl, deduplication: { id: dedupe.id, ttl: dedupe.ttl, extend: true, replace: true } };
}

/**
 * With status records (`keepFor`, the status option's ttl), a finished job stays at least that long, so that its
 * record can be read: a removal at once becomes a removal after that age; a count limit is kept alongside.
 */
function keptFor(keep: Keep, keepFor: number | undefined): Keep {
  if (keepFor === undefined || keep === false) return keep;
  if (keepFor === Number.POSITIVE_INFINITY) return false;
  const age = Math.ceil(keepFor / 1000);
  if (keep === true) return { age };
  if (typeof keep === 'number') return { age, count: keep };
  return 'age' in keep ? { ...keep, age: Math.max(keep.age, age) } : { age, count: keep.count };
}

/** A chain's root, finished, stays for the idempotency window where it would have been removed at once. */
function keptAWhile(keep: Keep): Keep {
  return keep === true ? { age: IDEMPOTENCY_WINDOW_MS / 1000 } : keep;
}
