// Type tests (tsc only, not jest): task handles, status records, the status option, taskId()/taskProgress(), taskStatusRouter().
import express from 'express';
import {
  backgroundTasks,
  defineTask,
  type QueueRunner,
  type StatusOptions,
  type TaskHandle,
  type TaskRecord,
  type TaskRecordError,
  type TaskState,
  type TaskStatusRouterOptions,
  taskId,
  taskProgress,
  taskStatusRouter,
} from '../../lib/index.js';

const status: StatusOptions = { ttl: 60_000, max: 1000, owner: (req) => req.get('x-user'), exposeErrors: false };
const background = backgroundTasks({ status });
backgroundTasks({ status: true });
backgroundTasks({ status: false });
backgroundTasks({ status: { owner: (req) => (typeof req.query.user === 'string' ? req.query.user : undefined) } });

const app = express();
app.use(background);
app.use('/tasks', taskStatusRouter(background));
app.use('/tasks', taskStatusRouter(background, { public: true, heartbeat: 30_000 }));
app.use(
  '/tasks',
  taskStatusRouter(background, { authorize: (req, record) => req.get('x-role') === 'admin' || record.state === 'succeeded' }),
);
app.use('/tasks', taskStatusRouter(background, { authorize: async (req) => req.get('x-role') === 'admin' }));
express.Router().use(taskStatusRouter(background, { public: true }));

const report = defineTask(
  'report',
  async (title: string) => {
    const id: string = taskId();
    taskProgress(0.5);
    taskProgress(1, `done ${id}`);
    return { title };
  },
  { result: true },
);

app.post('/reports', async (_req, res) => {
  const handle: TaskHandle = res.locals.background.addTask(report, 'Q3');
  const id: string = handle.id;
  const now: TaskRecord | undefined = await handle.status();
  const final: TaskRecord = await handle.settled();
  const state: TaskState = final.state;
  const error: TaskRecordError | undefined = final.error;
  const at: string = final.addedAt;
  const progress: number | undefined = now?.progress;
  const where: 'process' | 'thread' | 'queue' = final.where;
  void [state, error?.name, error?.code, error?.message, at, progress, where, final.result, final.attempts];
  res.status(202).location(`/tasks/${id}`).json({ id, handle });

  // @ts-expect-error: the id is read-only
  handle.id = 'mine';
  // @ts-expect-error: a record is read-only
  final.state = 'failed';
  // @ts-expect-error: settled() always gives a record
  const maybe: undefined = await handle.settled();
  void maybe;
});

// A queue runner may read records and watch them; both optional.
const readable: QueueRunner = {
  enqueue: async (tasks) => void tasks.map((task) => task.id),
  record: async (id) => ({
    record: { id, name: 'n', state: 'queued', attempts: 0, addedAt: new Date().toISOString(), where: 'queue' },
    owner: undefined,
  }),
  watch: (_id, changed) => {
    changed();
    return () => {};
  },
};
backgroundTasks({ runner: readable, status: true });

const routerOptions: TaskStatusRouterOptions = { public: true };
// @ts-expect-error: router options are readonly
routerOptions.public = false;
// @ts-expect-error: status is true, false or an object
backgroundTasks({ status: 'on' });
// @ts-expect-error: ttl is a number of ms
backgroundTasks({ status: { ttl: '1h' } });
// @ts-expect-error: owner returns a string or undefined
backgroundTasks({ status: { owner: () => 42 } });
// @ts-expect-error: unknown status option
backgroundTasks({ status: { maxAge: 10 } });
// @ts-expect-error: authorize answers a boolean
taskStatusRouter(background, { authorize: () => 'yes' });
// @ts-expect-error: public is a boolean
taskStatusRouter(background, { public: 1 });
// @ts-expect-error: result is a boolean
defineTask('r', () => 1, { result: 'json' });
// @ts-expect-error: progress is a number
taskProgress('half');
// @ts-expect-error: the message is a string
taskProgress(0.5, 50);
// @ts-expect-error: a state is one of the counters' words
const bad: TaskState = 'pending';
void bad;
