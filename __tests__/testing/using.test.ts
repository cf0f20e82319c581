// `using tasks = recordTasks()` (explicit resource management, compiled by the test's transform): the block's end restores.
import request from 'supertest';
import { recordTasks, watchTasks } from '../../lib/testing/index.js';
import { appWith, settled } from '../helpers.js';

test('a recorder declared with `using` is restored at the end of its block', async () => {
  const ran: string[] = [];
  const { app, bg } = appWith(undefined, (req, res) => {
    res.locals.background.addTask((what: string) => ran.push(what), String(req.query.what));
    res.send('ok');
  });
  {
    using tasks = recordTasks();
    await request(app).post('/?what=recorded').expect(200);
    expect(tasks.added().map((task) => task.args)).toEqual([['recorded']]);
  }
  {
    using watcher = watchTasks();
    await request(app).post('/?what=ran').expect(200);
    await watcher.settled();
  }
  await settled(bg);
  expect(ran).toEqual(['ran']);
});
