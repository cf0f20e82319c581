// concurrency: at most that many tasks run at once across responses; waiting lists start in arrival order.
import { Agent, createServer, get as httpGet } from 'node:http';
import request from 'supertest';
import { appWith, close, type Deferred, deferred, listen, settled } from './helpers.js';

describe('concurrency', () => {
  it('runs at most `concurrency` tasks at once across responses; lists wait in arrival order', async () => {
    const gates = new Map<string, Deferred>();
    const started: string[] = [];
    const firstStarted = deferred();
    const { app, bg } = appWith({ concurrency: 1 }, (req, res) => {
      const name = String(req.query.name);
      const gate = deferred();
      gates.set(name, gate);
      res.locals.background.addTask(async () => {
        started.push(name);
        firstStarted.resolve();
        await gate.promise;
      });
      res.end();
    });
    await request(app).get('/?name=a');
    await firstStarted.promise;
    await request(app).get('/?name=b');
    await request(app).get('/?name=c');
    expect(bg.stats()).toMatchObject({ running: 1, queued: 2 });
    expect(started).toEqual(['a']);
    for (const name of ['a', 'b', 'c']) gates.get(name)?.resolve();
    await settled(bg);
    expect(started).toEqual(['a', 'b', 'c']);
    expect(bg.stats()).toMatchObject({ running: 0, queued: 0, succeeded: 3 });
  });

  it('hands a freed slot on without nesting: thousands of waiting lists of synchronous tasks run without a stack overflow', async () => {
    const gate = deferred();
    const holding = deferred();
    let ran = 0;
    const { app, bg } = appWith({ concurrency: 1 }, (req, res) => {
      if (req.query.hold === '1') {
        res.locals.background.addTask(async () => {
          holding.resolve();
          await gate.promise;
        });
      } else {
        res.locals.background.addTask(() => {
          ran++;
        });
      }
      res.end();
    });
    const server = createServer(app);
    const port = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    try {
      const get = (path: string): Promise<void> =>
        new Promise((resolve, reject) => {
          httpGet({ port, host: '127.0.0.1', path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
      await get('/?hold=1');
      await holding.promise;
      const lists = 5000;
      for (let sent = 0; sent < lists; sent += 250) await Promise.all(Array.from({ length: 250 }, () => get('/')));
      expect(bg.stats()).toMatchObject({ running: 1, queued: lists });
      gate.resolve();
      await settled(bg);
      expect(ran).toBe(lists);
      expect(bg.stats()).toMatchObject({ running: 0, queued: 0, succeeded: lists + 1, failed: 0 });
    } finally {
      agent.destroy();
      await close(server);
    }
  });
});
