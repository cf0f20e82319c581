// The example app of README "Testing your app": signing up adds a welcome email and a CRM sync; an avatar adds a thread task.
import express from 'express';
import { type BackgroundTasksOptions, backgroundTasks } from '../../lib/index.js';
import { sendWelcome, syncCrm } from './tasks.js';
import { makeThumbnail } from './thread-tasks.js';

export function createApp(options: BackgroundTasksOptions = {}) {
  const background = backgroundTasks(options);
  const app = express();
  app.use(express.json());
  app.use(background);

  app.post('/signup', (req, res) => {
    const { email, plan = 'free' } = req.body as { email: string; plan?: string };
    res.locals.background.addTask(sendWelcome, email);
    res.locals.background.addTask(syncCrm, { email, plan });
    if (email.endsWith('@down.example')) {
      res.status(503).json({ error: 'try again later' });
      return;
    }
    res.status(201).json({ welcome: email });
  });

  app.post('/avatar/:user', (req, res) => {
    res.locals.background.addTask(makeThumbnail, req.params.user, Buffer.from(String(req.body.image)));
    res.status(202).json({ processing: true });
  });

  return { app, background };
}
