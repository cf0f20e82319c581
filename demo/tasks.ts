// The demo's tasks, defined once with defineTask so that the web process and the worker (demo/worker.ts) share them by name.
import { defineTask } from '../lib/index.js';

/** The BullMQ queue the demo uses when REDIS_URL is set. */
export const QUEUE_NAME = process.env.QUEUE_NAME ?? 'demo-emails';

export interface DemoTaskOptions {
  /** How long the simulated email takes, in ms (the original's five seconds by default). */
  readonly emailDelayMs?: number;
  /** Where "Email sent" lines go. */
  readonly log?: (line: string) => void;
}

export function createTasks(options: DemoTaskOptions = {}) {
  const emailDelayMs = options.emailDelayMs ?? 5000;
  const log = options.log ?? console.log;

  const sendEmail = defineTask(
    'sendEmail',
    async (email: string): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, emailDelayMs));
      log(`Email sent to ${email}`);
    },
    // A real mail API fails now and then: try twice more, 1 s then 2 s later.
    { retries: 2, backoff: { type: 'exponential', delay: 1000 } },
  );

  return { sendEmail };
}
