// Type tests for express-background-tasks/dashboard (tsc only, not jest): options, authorize's signature, mounting.
import express, { type Request } from 'express';
import { type BullmqRunner, bullmqRunner } from '../../lib/bullmq/index.js';
import {
  type Authorize,
  type FailedQueueJob,
  type QueueJobCounts,
  type TasksDashboard,
  type TasksDashboardOptions,
  tasksDashboard,
} from '../../lib/dashboard/index.js';
import { backgroundTasks, type QueueRunner } from '../../lib/index.js';

const bg = backgroundTasks();
const app = express();

// authorize: sync or async, with Node's request, the package's, or Express's own; it may answer itself.
const sync: Authorize = (req) => req.headers['x-admin'] === 'yes';
const async: Authorize = async (req, res) => {
  res.setHeader('WWW-Authenticate', 'Basic realm="tasks"');
  return req.get('authorization') === 'Basic x';
};
const typedWithExpress: Authorize = (req: Request) => req.path === '/';
const dashboard: TasksDashboard = tasksDashboard(bg, { authorize: sync, actions: true });
app.use('/admin/tasks', dashboard);
app.use('/admin/tasks2', tasksDashboard(bg, { authorize: async }));
app.use('/admin/tasks3', tasksDashboard(bg, { authorize: typedWithExpress }));
app.use('/dev/tasks', tasksDashboard(bg, { allowAnyone: true }));
dashboard.close();
const options: TasksDashboardOptions = { allowAnyone: true, actions: false };
void options;

// The queue's counts through the runner (optional methods on any QueueRunner, present on the BullMQ one).
const runner: BullmqRunner = bullmqRunner({ connection: 'redis://localhost', queueName: 'q' });
const counts: Promise<QueueJobCounts> = runner.jobCounts();
const failed: Promise<readonly FailedQueueJob[]> = runner.failedJobs(20);
const retried: Promise<boolean> = runner.retryJob('job-1');
const plain: QueueRunner = { enqueue: async () => {} };
void [counts, failed, retried, plain];

// @ts-expect-error: authorize (or allowAnyone: true) is required
tasksDashboard(bg, {});
// @ts-expect-error: options are required
tasksDashboard(bg);
// @ts-expect-error: allowAnyone must be true, said explicitly, to go without authorize
tasksDashboard(bg, { allowAnyone: false });
// @ts-expect-error: authorize and allowAnyone: true contradict each other
tasksDashboard(bg, { authorize: sync, allowAnyone: true });
// @ts-expect-error: authorize returns a boolean (or a promise of one)
tasksDashboard(bg, { authorize: () => 'yes' });
// @ts-expect-error: actions is a boolean
tasksDashboard(bg, { allowAnyone: true, actions: 'on' });
// @ts-expect-error: the first argument is the backgroundTasks() middleware
tasksDashboard({}, { allowAnyone: true });
// @ts-expect-error: close() takes no argument and returns nothing to await
const closed: Promise<void> = dashboard.close();
void closed;
