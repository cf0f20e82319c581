// The worker-thread side of a thread pool: finds a task by its defineTask name in the tasks module and runs one attempt.
import { describeError } from '../report.js';
import { callInScope, type TaskScope } from '../task-context.js';
import { receiveError, type SentError, sendError, type ThreadAnswer, type ThreadJob } from './messages.js';
import { loadModule, type TaskFn, tasksIn } from './tasks-module.js';

/** Each tasks module's tasks by name, loaded once per thread. */
const modules = new Map<string, Promise<Map<string, TaskFn>>>();

function tasksOf(url: string): Promise<Map<string, TaskFn>> {
  let tasks = modules.get(url);
  if (tasks === undefined) {
    tasks = loadModule(url).then(tasksIn);
    modules.set(url, tasks);
  }
  return tasks;
}

function thrown(value: unknown): ThreadAnswer {
  if (value instanceof Error) return { kind: 'error', error: sendError(value) };
  try {
    structuredClone(value);
    return { kind: 'thrown', value };
  } catch {
    return { kind: 'thrown', value: describeError(value) };
  }
}

/** Runs one attempt on this thread. Never rejects: a failure is answered, so that its name and stack survive. */
export default async function runThreadJob(job: ThreadJob): Promise<ThreadAnswer> {
  let tasks: Map<string, TaskFn>;
  try {
    tasks = await tasksOf(job.module);
  } catch (error) {
    job.port.close();
    return { kind: 'not-found', message: `thread tasks module ${job.module} could not be loaded: ${describeError(error)}` };
  }
  const fn = tasks.get(job.name);
  if (fn === undefined) {
    job.port.close();
    const known = [...tasks.keys()].map((name) => `"${name}"`).join(', ') || 'no defineTask() task';
    return { kind: 'not-found', message: `thread tasks module ${job.module} exports no task "${job.name}"; it exports ${known}` };
  }
  const controller = new AbortController();
  job.port.once('message', (reason: SentError) => controller.abort(receiveError(reason)));
  const scope: TaskScope = { signal: controller.signal, task: { id: job.id } };
  const args = job.args;
  for (const i of job.buffers) {
    const bytes = args[i] as Uint8Array;
    args[i] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    await callInScope(scope, undefined, fn, args);
    return undefined;
  } catch (error) {
    return thrown(error);
  } finally {
    job.port.close();
  }
}
