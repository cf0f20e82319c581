// The example app's tasks (README "Testing your app"): a welcome email and a CRM sync, with stand-ins for the mail and CRM APIs.
import { defineTask } from '../../lib/index.js';

export const mailer = { sent: [] as string[] }; // stand-ins for the real APIs
export const crm = { contacts: [] as string[], failures: 0 };

export const sendWelcome = defineTask('sendWelcome', async (email: string) => {
  mailer.sent.push(email);
});

export const syncCrm = defineTask(
  'syncCrm',
  async (contact: { email: string; plan: string }) => {
    if (crm.failures > 0) {
      crm.failures--;
      throw new Error('CRM unavailable');
    }
    crm.contacts.push(`${contact.email} (${contact.plan})`);
  },
  { retries: 2, backoff: { type: 'exponential', delay: 1000 }, timeout: 2000 },
);
