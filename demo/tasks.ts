// The demo's tasks, defined once with defineTask so that the web process and the worker (demo/worker.ts) share them by name.
import { defineTask, taskProgress } from '../lib/index.js';

/** The BullMQ queue the demo uses when REDIS_URL is set. */
export const QUEUE_NAME = process.env.QUEUE_NAME ?? 'demo-emails';

export interface DemoTaskOptions {
  /** How long the simulated email takes, in ms (the original's five seconds by default). */
  readonly emailDelayMs?: number;
  /** Where "Email sent" lines go. */
  readonly log?: (line: string) => void;
  /** How long each of the report's steps takes, in ms. Default 1000. */
  readonly reportStepMs?: number;
}

/** How many steps the demo report takes. */
export const REPORT_STEPS = 4;

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

  const reportStepMs = options.reportStepMs ?? 1000;

  // A slow report, built in steps: each says how far it has got (GET /tasks/:id, or the event stream), and the
  // result is kept on its status record.
  const buildReport = defineTask(
    'buildReport',
    async (title: string): Promise<{ title: string; pages: number }> => {
      for (let step = 1; step <= REPORT_STEPS; step++) {
        await new Promise((resolve) => setTimeout(resolve, reportStepMs));
        taskProgress(step / REPORT_STEPS, `step ${step} of ${REPORT_STEPS}`);
      }
      return { title, pages: REPORT_STEPS * 3 };
    },
    { result: true },
  );

  return { sendEmail, buildReport };
}
