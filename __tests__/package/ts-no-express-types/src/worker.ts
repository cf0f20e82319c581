// A worker-only TypeScript consumer, without @types/express and with skipLibCheck off: it defines its tasks with the
// main entry and types its worker with the /bullmq entry. It has to compile with tsc; it is never run (no Redis here).
import { defineTask } from 'express-background-tasks';
import type { RunWorkerOptions, runWorker, TaskWorker, WorkerCloseResult, WorkerErrorHandler } from 'express-background-tasks/bullmq';

/** What a worker process calls to start: runWorker's own type, from the /bullmq entry. */
export type StartWorker = typeof runWorker;

export const sendEmail = defineTask('sendEmail', async (email: string, subject: string): Promise<number> => email.length + subject.length, {
  retries: 2,
  backoff: { type: 'exponential', delay: 1000 },
});

const onError: WorkerErrorHandler = (error, info) => {
  console.error(`task ${info.name} failed after ${info.attempts} attempts: ${String(error)}`);
};

export const options: RunWorkerOptions = {
  connection: 'redis://127.0.0.1:6379',
  queueName: 'emails',
  tasks: [sendEmail],
  concurrency: 4,
  onError,
};

export async function stop(worker: TaskWorker): Promise<WorkerCloseResult> {
  return worker.close({ timeout: 10_000 });
}
