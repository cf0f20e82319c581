// Misuse, refused loudly rather than hanging or running wrong: the factory mounted uncalled, a non-function task,
// a non-promise for waitUntil, a res.locals.background that something else owns.
import request from 'supertest';
import { backgroundTasks } from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

/** Requests GET / and returns the message of the error that reached Express's error handling (as a 500). */
async function errorMessageOf(app: import('express').Express): Promise<string> {
  let message = '';
  app.use((err: Error, _req: unknown, res: import('express').Response, _next: unknown) => {
    message = err.message;
    res.status(500).end();
  });
  await request(app).get('/').expect(500);
  return message;
}

describe('misuse', () => {
  it('app.use(backgroundTasks) fails with a message naming backgroundTasks(), not a hang', async () => {
    const app = express();
    app.use(backgroundTasks as never);
    app.get('/', (_req, res) => res.end());
    const message = await errorMessageOf(app);
    expect(message).toContain('app.use(backgroundTasks())');
  });

  it('addTask with a non-function throws a TypeError at the call site', async () => {
    const app = express();
    app.use(backgroundTasks());
    let thrown: unknown;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.addTask('sendEmail' as never);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/argument "fn" must be a function; received the string "sendEmail"/);
  });

  it('waitUntil with a non-promise throws a TypeError', async () => {
    const app = express();
    app.use(backgroundTasks());
    let thrown: unknown;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.waitUntil(42 as never);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/waitUntil\(promise\): argument "promise" must be a promise/);
  });

  it('refuses to overwrite a res.locals.background set by something else', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.background = 'taken' as never;
      next();
    });
    app.use(backgroundTasks());
    app.get('/', (_req, res) => res.end());
    const message = await errorMessageOf(app);
    expect(message).toMatch(/res\.locals\.background is already set/);
  });
});
