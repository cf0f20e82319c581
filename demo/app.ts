// The demo app (the one this package was built around): GET / says hello, POST /register answers at once and sends the email afterwards.
import express from 'express';
import { type BackgroundTasksMiddleware, backgroundTasks, type QueueRunner } from '../lib/index.js';
import { createTasks, type DemoTaskOptions } from './tasks.js';

export interface DemoOptions extends DemoTaskOptions {
  /** Hand the tasks to a queue (demo/server.ts passes bullmqRunner() when REDIS_URL is set) instead of running them here. */
  readonly runner?: QueueRunner;
}

export function createApp(options: DemoOptions = {}): { app: express.Express; background: BackgroundTasksMiddleware } {
  const { sendEmail } = createTasks(options);

  const background = backgroundTasks(options.runner === undefined ? undefined : { runner: options.runner });
  const app = express();
  app.use(background);

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

  return { app, background };
}
