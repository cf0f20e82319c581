// Type tests (tsc only, not jest): res.locals.background.addTask checks a task's arguments against its parameters.
import express from 'express';
import { type BackgroundTasks, backgroundTasks, defineTask } from '../../lib/index.js';

const app = express();
app.use(backgroundTasks());

function sendEmail(email: string, attempt: number): void {
  void email;
  void attempt;
}
async function audit(method: string, path?: string): Promise<void> {
  void method;
  void path;
}
function logAll(...lines: string[]): void {
  void lines;
}
declare const thenable: PromiseLike<number>;
const welcome = defineTask('welcome', (email: string, user: { id: number; name: string }) => `${email}:${user.id}`);

app.post('/register', (req, res) => {
  // No cast: the global Express.Locals augmentation types res.locals.background.
  const background: BackgroundTasks = res.locals.background;
  const flushed: Promise<void> = background.flush();
  void flushed;
  // @ts-expect-error: flush() takes no argument
  void background.flush(true);
  background.addTask(sendEmail, String(req.query.email), 1);
  res.locals.background.addTask(sendEmail, 'a@example.com', 2);
  res.locals.background.addTask(audit, req.method);
  res.locals.background.addTask(audit, req.method, req.path);
  res.locals.background.addTask(logAll);
  res.locals.background.addTask(logAll, 'a', 'b', 'c');
  res.locals.background.addTask(() => undefined);
  res.locals.background.addTask(async () => 42);
  res.locals.background.addTask((n: number) => n * 2, 21);
  res.locals.background.addTask(welcome, 'a@example.com', { id: 1, name: 'Ada' });
  res.locals.background.waitUntil(Promise.resolve('done'));
  res.locals.background.waitUntil(thenable);

  // @ts-expect-error: wrong argument type (number for string)
  res.locals.background.addTask(sendEmail, 42, 1);
  // @ts-expect-error: wrong argument type (string for number)
  res.locals.background.addTask(sendEmail, 'a@example.com', '1');
  // @ts-expect-error: too few arguments
  res.locals.background.addTask(sendEmail, 'a@example.com');
  // @ts-expect-error: no arguments for a task that takes two
  res.locals.background.addTask(sendEmail);
  // @ts-expect-error: too many arguments
  res.locals.background.addTask(sendEmail, 'a@example.com', 1, 'extra');
  // @ts-expect-error: too many arguments for an optional parameter
  res.locals.background.addTask(audit, 'GET', '/', 'extra');
  // @ts-expect-error: a rest parameter's element type is checked too
  res.locals.background.addTask(logAll, 'a', 2);
  // @ts-expect-error: an argument for a task that takes none
  res.locals.background.addTask(() => undefined, 1);
  // @ts-expect-error: a defineTask task keeps its parameter types
  res.locals.background.addTask(welcome, 'a@example.com', { id: '1', name: 'Ada' });
  // @ts-expect-error: a defineTask task keeps its parameter count
  res.locals.background.addTask(welcome, 'a@example.com');
  // @ts-expect-error: a task must be a function (a name is not enough)
  res.locals.background.addTask('sendEmail', 'a@example.com', 1);
  // @ts-expect-error: a task must be a function
  res.locals.background.addTask(undefined);
  // @ts-expect-error: a task must be a function
  res.locals.background.addTask({ run: sendEmail });
  // @ts-expect-error: addTask needs a task
  res.locals.background.addTask();
  // @ts-expect-error: waitUntil takes a promise, not a function that makes one
  res.locals.background.waitUntil(audit);
  // @ts-expect-error: waitUntil takes a promise
  res.locals.background.waitUntil(42);
  // @ts-expect-error: the list is the middleware's; it has no public run or drain
  res.locals.background.drain();
  // @ts-expect-error: res.locals.background is typed, not any
  res.locals.background.addTsk(sendEmail, 'a@example.com', 1);
  res.json({ ok: true });
});

// Also typed in middleware signatures written by hand and in routers.
const router = express.Router();
router.use((_req: express.Request, res: express.Response, next: express.NextFunction) => {
  res.locals.background.addTask(audit, 'GET');
  next();
});
app.use(router);
