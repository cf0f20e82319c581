// The dashboard with the BullMQ runner, in a real browser: the queue's job counts, and retrying a failed job through
// the page (actions: true) runs it again. Needs chromium and redis-server; one browser for the file.
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { defineTask } from '../../lib/index.js';
import { deferred, settled } from '../helpers.js';
import { Closer, nextOutcomes, skipReason as redisSkipReason, startRedis, uniqueQueueName } from '../queue/support.js';
import { browserSkipReason, dashboardApp, launchBrowser, serve } from './support.js';

const skip = browserSkipReason() ?? redisSkipReason();
const describeHere = skip === undefined ? describe : describe.skip;

describeHere(`the dashboard's queue section in a browser${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  test('shows the queue counts and a failed job; its Retry button runs it again', async () => {
    const closer = new Closer();
    const redis = await startRedis();
    const browser = await launchBrowser();
    try {
      let runs = 0;
      const ranAgain = deferred();
      const chargeCard = defineTask('chargeCard', (_card: string) => {
        runs++;
        if (runs === 1) throw new RangeError('card declined');
        ranAgain.resolve();
      });
      const queueName = uniqueQueueName('dashboard-browser');
      const runner = closer.add(bullmqRunner({ connection: redis.url, queueName, removeOnFail: { count: 50 } }));
      const worker = closer.add(runWorker({ connection: redis.url, queueName, tasks: [chargeCard], onError: () => {} }));
      const made = dashboardApp(
        { allowAnyone: true, actions: true },
        (app) => {
          app.post('/pay', (_req, res) => {
            res.locals.background.addTask(chargeCard, '4111 1111 1111 1111');
            res.send('ok');
          });
        },
        { runner, onError: () => {} },
      );
      const server = await serve(made.app, made.dashboard);
      closer.add({ close: () => server.stop() });

      const failed = nextOutcomes(worker.worker, 1);
      await fetch(`${server.url}/pay`, { method: 'POST' });
      await settled(made.bg);
      await failed;

      const page = await browser.context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.goto(`${server.url}/admin/tasks/`);
      const failedCount = page.locator('#queue-counts [data-counter="failed"] dd');
      await failedCount.filter({ hasText: /^1$/ }).waitFor();
      const job = page.locator('#queue-failed li', { hasText: 'chargeCard' });
      expect(await job.locator('.error-message').textContent()).toBe(': card declined');
      // The whole number: its first digits alone can turn up by chance in a random job id written next to a date.
      expect(await page.locator('#queue').textContent()).not.toContain('4111 1111');

      const completed = nextOutcomes(worker.worker, 1);
      await job.locator('button', { hasText: 'Retry' }).click();
      await ranAgain.promise;
      expect((await completed).map((o) => o.type)).toEqual(['completed']);
      await page.locator('#notice', { hasText: 'is waiting to run again' }).waitFor();
      // Read again at the next poll: nothing failed left.
      await failedCount.filter({ hasText: /^0$/ }).waitFor();
      await page.locator('#queue-failed-empty').waitFor({ state: 'visible' });
      expect(errors).toEqual([]);
    } finally {
      await closer.closeAll();
      await browser.close();
      await redis.stop();
    }
  });
});
