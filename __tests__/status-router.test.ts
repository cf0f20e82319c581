// taskStatusRouter(): GET /:id and GET /:id/events over real HTTP (supertest, and a raw client for the event stream), access rules.
import http, { type Server } from 'node:http';
import request from 'supertest';
import {
  type BackgroundTasksOptions,
  backgroundTasks,
  defineTask,
  InvalidArgumentError,
  type TaskHandle,
  type TaskRecord,
  type TaskStatusRouterOptions,
  taskProgress,
  taskStatusRouter,
} from '../lib/index.js';
import { statusOf } from '../lib/status-store.js';
import { close, collectErrors, type Deferred, deferred, listen, loadExpress, settled } from './helpers.js';
import { SseClient, UUID } from './status-support.js';

const express = loadExpress();

interface Setup {
  app: import('express').Express;
  bg: ReturnType<typeof backgroundTasks>;
  handles: TaskHandle[];
}

/**
 * An app with a user header for owners: POST /work adds a task that reports progress in steps, each waiting for the
 * test to open its gate; /tasks is the router.
 */
function setup(options: BackgroundTasksOptions, routerOptions: TaskStatusRouterOptions | undefined, gates: Deferred[] = []): Setup {
  const bg = backgroundTasks(options);
  const app = express();
  app.use(bg);
  const handles: TaskHandle[] = [];
  const work = defineTask(
    'work',
    async () => {
      for (let i = 0; i < gates.length; i++) {
        await gates[i]!.promise;
        taskProgress((i + 1) / gates.length, `step ${i + 1}`);
      }
      return 'made';
    },
    { result: true },
  );
  app.post('/work', (_req, res) => {
    const handle = res.locals.background.addTask(work);
    handles.push(handle);
    res.status(202).location(`/tasks/${handle.id}`).json({ id: handle.id });
  });
  app.use('/tasks', taskStatusRouter(bg, routerOptions));
  return { app, bg, handles };
}

const byUser = { status: { owner: (req: import('../lib/index.js').SkipRequest) => req.get('x-user') } };

describe('taskStatusRouter()', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server !== undefined) await close(server);
    server = undefined;
  });

  test('GET /:id answers the record as JSON; an unknown or malformed id is 404 { error: "unknown task" }', async () => {
    const { app, bg } = setup({ status: true }, { public: true });
    const added = await request(app).post('/work').expect(202);
    expect(added.body.id).toMatch(UUID);
    expect(added.headers.location).toBe(`/tasks/${added.body.id}`);
    await settled(bg);
    const found = await request(app)
      .get(`/tasks/${added.body.id}`)
      .expect(200)
      .expect('Content-Type', /application\/json/);
    expect(found.headers['cache-control']).toBe('no-store');
    expect(found.body).toMatchObject({ id: added.body.id, name: 'work', state: 'succeeded', result: 'made', where: 'process' });
    for (const path of ['/tasks/3b0d4f7e-0000-4000-8000-000000000000', '/tasks/not%20an%20id', '/tasks/%E0%A4%A', '/tasks/x/events']) {
      const missing = await request(app).get(path).expect(404);
      expect(missing.body).toEqual({ error: 'unknown task' });
    }
    // Other paths and methods are not the router's.
    await request(app).post(`/tasks/${added.body.id}`).expect(404);
    await request(app).get('/tasks/a/b/c').expect(404);
    expect((await request(app).get('/tasks/a/b/c')).body).not.toEqual({ error: 'unknown task' });
  });

  test('owner: a record is served only to requests with the owner it was added under; others get 404', async () => {
    const { app, bg } = setup(byUser, undefined);
    const { body } = await request(app).post('/work').set('x-user', 'ada').expect(202);
    await settled(bg);
    await request(app).get(`/tasks/${body.id}`).set('x-user', 'ada').expect(200);
    expect((await request(app).get(`/tasks/${body.id}`).set('x-user', 'bob').expect(404)).body).toEqual({ error: 'unknown task' });
    await request(app).get(`/tasks/${body.id}`).expect(404);
    await request(app).get(`/tasks/${body.id}/events`).set('x-user', 'bob').expect(404);
    // A task added anonymously is anonymous's only.
    const anonymous = await request(app).post('/work').expect(202);
    await settled(bg);
    await request(app).get(`/tasks/${anonymous.body.id}`).expect(200);
    await request(app).get(`/tasks/${anonymous.body.id}`).set('x-user', 'ada').expect(404);
  });

  test('authorize(req, record), sync or async, replaces the owner rule; a throw goes to the error handler', async () => {
    for (const wrap of [(ok: boolean) => ok, (ok: boolean) => Promise.resolve(ok)]) {
      const seen: TaskRecord[] = [];
      const { app, bg } = setup(byUser, {
        authorize: (req, record) => {
          seen.push(record);
          if (req.get('x-boom')) throw new Error('authorize broke');
          return wrap(req.get('x-role') === 'admin');
        },
      });
      const { body } = await request(app).post('/work').set('x-user', 'ada').expect(202);
      await settled(bg);
      await request(app).get(`/tasks/${body.id}`).set('x-role', 'admin').expect(200);
      await request(app).get(`/tasks/${body.id}`).set('x-user', 'ada').expect(404);
      await request(app).get(`/tasks/${body.id}`).set('x-boom', '1').expect(500);
      expect(seen[0]?.id).toBe(body.id);
    }
  });

  test('building the router: a TypeError without owner, authorize or public; with status off; for something else', () => {
    expect(() => taskStatusRouter(backgroundTasks({ status: true }))).toThrow(InvalidArgumentError);
    expect(() => taskStatusRouter(backgroundTasks({ status: true }))).toThrow(
      /"status.owner" option .* "authorize" option, or "public: true"/,
    );
    expect(() => taskStatusRouter(backgroundTasks({ status: true }), { public: false })).toThrow(/say who may read/);
    expect(() => taskStatusRouter(backgroundTasks({ status: true }), { public: true })).not.toThrow();
    expect(() => taskStatusRouter(backgroundTasks({ status: true }), { authorize: () => true })).not.toThrow();
    expect(() => taskStatusRouter(backgroundTasks(byUser))).not.toThrow();
    expect(() => taskStatusRouter(backgroundTasks(), { public: true })).toThrow(/turn on its "status" option/);
    expect(() => taskStatusRouter((() => {}) as never, { public: true })).toThrow(
      /argument "middleware" must be the middleware made by backgroundTasks\(\)/,
    );
    expect(() => taskStatusRouter(backgroundTasks({ status: true }), { public: 'yes' as never })).toThrow(
      /option "public" must be true or false/,
    );
    expect(() => taskStatusRouter(backgroundTasks({ status: true }), { pubic: true } as never)).toThrow(/unknown option "pubic"/);
  });

  test('GET /:id/events streams queued, running with progress, then the final record, and ends', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const hold = deferred();
    const { app, bg } = setup({ status: true, concurrency: 1 }, { public: true }, gates);
    app.post('/hold', (_req, res) => {
      res.locals.background.addTask(() => hold.promise);
      res.send('ok');
    });
    server = http.createServer(app);
    const port = await listen(server);
    await request(server).post('/hold').expect(200);
    const { body } = await request(server).post('/work').expect(202);
    const events = new SseClient(port, `/tasks/${body.id}/events`);
    await events.waitFor((e) => e.event === 'status');
    expect(events.status).toBe(200);
    expect(events.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(events.records()[0]).toMatchObject({ id: body.id, state: 'queued' });
    hold.resolve();
    await events.waitFor((e) => JSON.parse(e.data).state === 'running');
    gates[0]!.resolve();
    await events.waitFor((e) => JSON.parse(e.data).progress === 1 / 3);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await events.ended;
    await settled(bg);
    const records = events.records<TaskRecord>();
    const states = records.map((r) => r.state);
    expect(states[0]).toBe('queued');
    expect(states.at(-1)).toBe('succeeded');
    expect(states.filter((s) => s !== 'running')).toEqual(['queued', 'succeeded']);
    expect(records.at(-1)).toMatchObject({ progress: 1, message: 'step 3', result: 'made', attempts: 1 });
    expect(events.events.every((e) => e.event === 'status')).toBe(true);
    expect(statusOf(bg)?.watched).toBe(0);
  });

  test('a stream of a settled task sends its record once and ends; heartbeats keep an open stream alive', async () => {
    const gate = deferred();
    const { app, bg } = setup({ status: true }, { public: true, heartbeat: 10 }, [gate]);
    server = http.createServer(app);
    const port = await listen(server);
    const { body } = await request(server).post('/work').expect(202);
    const open = new SseClient(port, `/tasks/${body.id}/events`);
    expect(await open.waitForComment()).toBe('heartbeat');
    gate.resolve();
    await open.ended;
    await settled(bg);
    const again = new SseClient(port, `/tasks/${body.id}/events`);
    await again.ended;
    expect(again.records().map((r) => r.state)).toEqual(['succeeded']);
  });

  test('a client that goes away leaves no listener behind', async () => {
    const gate = deferred();
    const { app, bg } = setup({ status: true }, { public: true }, [gate]);
    const closed = deferred();
    const wrapped = express();
    // Told when the server sees the stream's response close (before the router's own listener, which runs in the same emit).
    wrapped.use((req, res, next) => {
      if (req.url.endsWith('/events')) res.on('close', () => closed.resolve());
      next();
    });
    wrapped.use(app);
    server = http.createServer(wrapped);
    const port = await listen(server);
    const { body } = await request(server).post('/work').expect(202);
    const client = new SseClient(port, `/tasks/${body.id}/events`);
    await client.waitFor((e) => e.event === 'status');
    expect(statusOf(bg)?.watched).toBe(1);
    client.disconnect();
    await closed.promise;
    expect(statusOf(bg)?.watched).toBe(0);
    gate.resolve();
    await settled(bg);
  });

  test('HEAD /:id answers the headers; failures show in the record', async () => {
    const { onError } = collectErrors();
    const bg = backgroundTasks({ status: true, onError });
    const app = express();
    app.use(bg);
    let id = '';
    app.post('/', (_req, res) => {
      id = res.locals.background.addTask(() => {
        throw new TypeError('nope');
      }).id;
      res.end();
    });
    app.use('/tasks', taskStatusRouter(bg, { public: true }));
    await request(app).post('/').expect(200);
    await settled(bg);
    await request(app).head(`/tasks/${id}`).expect(200).expect('Content-Type', /json/);
    expect((await request(app).get(`/tasks/${id}`).expect(200)).body).toMatchObject({ state: 'failed', error: { name: 'TypeError' } });
  });
});
