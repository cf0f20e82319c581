// runTask(): one defineTask task run as a queue worker would run its job (the queue's encoding, retries, timeout, taskId()), without Redis.
import { checkArgs } from '../args-check.js';
import { invalid, received } from '../check.js';
import { type DefinedTask, definitionOf } from '../define-task.js';
import { Policies } from '../policy.js';
import { type RunOwner, type Status, TaskRun } from '../run-task.js';
import type { Task } from '../task.js';
import { newTaskId } from '../task-id.js';
import { throughQueue } from './crossing.js';

/** How runTask() ended. */
export interface TaskResult<R = unknown> {
  readonly state: Status;
  /** Attempts made (retries included). */
  readonly attempts: number;
  /** What the last attempt returned (resolved to), when it succeeded. */
  readonly result?: R;
  /** The final error of a failed or timed-out task. */
  readonly error?: unknown;
}

const WHERE = 'runTask(definition, ...args)';

/** A queue worker runs any task on its event loop (its thread tasks on its own pool), with the definition's timeout. */
const policies = new Policies({
  timeout: Number.POSITIVE_INFINITY,
  threadsOption: 'runWorker({ threads })',
  where: 'runTask()',
  queued: true,
});

/** Hands the settled run back to runTask(). */
const owner: RunOwner = {
  taskSettled: (run) => run.resume(true),
};

/**
 * Runs one defineTask task as a queue worker would run its job, without Redis: the arguments through the queue's
 * encoding (refused first if a queue could not carry them, as addTask refuses them), the definition's retries with
 * their backoff, its timeout and signal, one taskId() for every attempt, taskProgress(). Resolves with the outcome;
 * never rejects for the task's own failure.
 * @throws TypeError when `definition` is not a defineTask() task, or a queue could not carry an argument
 */
export function runTask<A extends unknown[], R>(definition: DefinedTask<A, R>, ...args: A): Promise<TaskResult<Awaited<R>>> {
  const parsed = definitionOf(definition);
  if (typeof definition !== 'function' || parsed === undefined) {
    invalid(`${WHERE}: argument "definition" must be a task made with defineTask(name, fn); received ${received(definition)}`);
  }
  checkArgs(parsed.name, args, 'queue', 'runTask()');
  // The pipeline keeps the last attempt's value when the policy asks for it: here it always does.
  const policy = { ...policies.ofDefinition(parsed), result: true };
  // attemptsBefore: a queue worker's task (traces say 'queue').
  const task: Task = {
    fn: definition as Task['fn'],
    args: throughQueue(args),
    context: undefined,
    policy,
    id: newTaskId(),
    attemptsBefore: 0,
  };
  return new Promise((resolve) => {
    const done = (): void => {
      const { status, attempts, error } = run;
      resolve(status === 'succeeded' ? { state: status, attempts, result: run.value as Awaited<R> } : { state: status, attempts, error });
    };
    const run = new TaskRun(task, owner, { method: 'runTask', url: '' }, done);
    if (run.start()) done();
  });
}
