// The example app's tasks (README "Testing your app"): a welcome email and a CRM sync, with stand-ins for the mail and CRM APIs.
import { defineTask, taskSignal } from '../../lib/index.js';

/** Stand-ins for the real APIs, so that a test can check a task's effect. */
export const mailer = { sent: [] as string[] };
export const crm = { contacts: [] as string[], failures: 0 };

export const sendWelcome = defineTask('sendWelcome', async (email: string) => {
  mailer.sent.push(email);
});

/** Fails while crm.failures > 0, as a flaky API would: two retries, 1 s then 2 s apart, 2 s per attempt. */
export const syncCrm = defineTask(
  'syncCrm',
  async (contact: { email: string; plan: string }) => {
    if (taskSignal().aborted) return;
    if (crm.failures > 0) {
      crm.failures--;
      throw new Error('CRM unavailable');
    }
    crm.contacts.push(`${contact.email} (${contact.plan})`);
  },
  { retries: 2, backoff: { type: 'exponential', delay: 1000 }, timeout: 2000 },
);
