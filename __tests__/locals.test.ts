// res.locals.background is there for code that asks for it, and invisible to code that lists res.locals.
import request from 'supertest';
import { BackgroundTasks, backgroundTasks } from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

describe('res.locals.background', () => {
  it('is reachable but not enumerable: res.json(res.locals), spreads and Object.keys do not see it', async () => {
    const bg = backgroundTasks();
    const app = express();
    app.use(bg);
    app.get('/', (_req, res) => {
      res.locals.user = 'ada';
      res.locals.background.addTask(() => {});
      res.json({
        reachable: res.locals.background instanceof BackgroundTasks,
        keys: Object.keys(res.locals),
        spread: { ...res.locals },
        locals: res.locals,
        inOperator: 'background' in res.locals,
      });
    });
    const { body } = await request(app).get('/').expect(200);
    expect(body).toEqual({ reachable: true, keys: ['user'], spread: { user: 'ada' }, locals: { user: 'ada' }, inOperator: true });
    await bg.drain();
    expect(bg.stats().succeeded).toBe(1);
  });

  it('mounted twice, the first mount still owns the list (the guard sees the hidden property)', async () => {
    const bg = backgroundTasks();
    const app = express();
    const router = express.Router();
    app.use(bg);
    router.use(bg);
    let lists = 0;
    router.get('/', (_req, res) => {
      res.locals.background.addTask(() => {
        lists++;
      });
      res.end();
    });
    app.use(router);
    await request(app).get('/').expect(200);
    await bg.drain();
    expect(lists).toBe(1);
    expect(bg.stats().succeeded).toBe(1);
  });
});
