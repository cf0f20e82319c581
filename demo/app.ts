// The demo app (the one this package was built around): GET / says hello, POST /register answers at once and sends the email afterwards.
import express from 'express';
import { type BackgroundTasksMiddleware, backgroundTasks, type QueueRunner, type ThreadPool, taskStatusRouter } from '../lib/index.js';
import { createTasks, type DemoTaskOptions } from './tasks.js';
import { makeThumbnail, writeNotification } from './thread-tasks.js';

export interface DemoOptions extends DemoTaskOptions {
  /** Hand the tasks to a queue (demo/server.ts passes bullmqRunner() when REDIS_URL is set) instead of running them here. */
  readonly runner?: QueueRunner;
  /** Where the thread tasks (demo/thread-tasks.ts) run; demo/server.ts makes it with threadPool(). */
  readonly threads?: ThreadPool;
  /** A file the notification task appends to, as FastAPI's example writes log.txt. Default: none (console only). */
  readonly notificationLog?: string;
}

export function createApp(options: DemoOptions = {}): { app: express.Express; background: BackgroundTasksMiddleware } {
  const { sendEmail, buildReport } = createTasks(options);

  const background = backgroundTasks({
    ...(options.runner === undefined ? {} : { runner: options.runner }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    // Status records for every task: GET /tasks/:id and /tasks/:id/events below, handle.status() anywhere.
    status: true,
  });
  const app = express();
  app.use(background);
  // The demo has no users: anyone who has a task's id (122 random bits) may read its record. A real app passes
  // status: { owner: (req) => req.user?.id } instead, and drops public.
  app.use('/tasks', taskStatusRouter(background, { public: true }));

  app.get('/', (_req, res) => {
    res.json({ message: 'Welcome to express-background-tasks: POST /register?email=you@example.com' });
  });

  app.post('/register', (req, res) => {
    const email = req.query.email;
    if (typeof email !== 'string' || email === '') {
      res.status(400).json({ error: 'email query parameter is required' });
      return;
    }
    res.locals.background.addTask(sendEmail, email);
    res.json({ message: `Registered ${email}; the email will follow` });
  });

  // FastAPI's own example, with its blocking write_notification on a worker thread.
  app.post('/send-notification/:email', (req, res) => {
    res.locals.background.addTask(writeNotification, req.params.email, 'some notification', options.notificationLog ?? null);
    res.json({ message: 'Notification sent in the background' });
  });

  // A CPU-heavy task: the thumbnail is computed on a worker thread while GET / keeps answering at once.
  app.post('/avatar', (req, res) => {
    const user = typeof req.query.user === 'string' && req.query.user !== '' ? req.query.user : 'anonymous';
    res.locals.background.addTask(makeThumbnail, user);
    res.status(202).json({ message: 'Avatar received; the thumbnail is being made in the background' });
  });

  // 202 Accepted, then poll or stream: the report is built in the background, and its status is at Location.
  app.post('/reports', (req, res) => {
    const title = typeof req.query.title === 'string' && req.query.title !== '' ? req.query.title : 'Monthly report';
    const { id } = res.locals.background.addTask(buildReport, title);
    res
      .status(202)
      .location(`/tasks/${id}`)
      .json({ id, status: `/tasks/${id}`, events: `/tasks/${id}/events` });
  });

  return { app, background };
}
