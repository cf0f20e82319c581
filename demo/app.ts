// The seed's app: GET / says hello, POST /register answers at once and sends the email afterwards.
import express from 'express';
import { type BackgroundTasksMiddleware, backgroundTasks } from '../lib/index.js';

export interface DemoOptions {
  /** How long the simulated email takes, in ms (the original's five seconds by default). */
  readonly emailDelayMs?: number;
  /** Where "Email sent" lines go. */
  readonly log?: (line: string) => void;
}

export function createApp(options: DemoOptions = {}): { app: express.Express; background: BackgroundTasksMiddleware } {
  const emailDelayMs = options.emailDelayMs ?? 5000;
  const log = options.log ?? console.log;

  // A named function, so that debug output and onError can say which task it was.
  async function sendEmail(email: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, emailDelayMs));
    log(`Email sent to ${email}`);
  }

  const background = backgroundTasks();
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
