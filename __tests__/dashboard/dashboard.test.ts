// The dashboard over real HTTP (the browser suite is browser.test.ts): options, authorize and its 403s, the page and
// its assets, the stream, what is kept (and its bounds), the task list's filters, and the protected actions.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import request from 'supertest';
import { BUCKETS, DurationHistogram } from '../../lib/dashboard/histogram.js';
import { LIMITS, OTHER_NAMES } from '../../lib/dashboard/history.js';
import { tasksDashboard } from '../../lib/dashboard/index.js';
import { STREAM_LIMITS, Streams } from '../../lib/dashboard/stream.js';
import { backgroundTasks, defineTask, InvalidArgumentError, taskProgress, taskSignal } from '../../lib/index.js';
import { feedOf } from '../../lib/task-events.js';
import { close, type Deferred, deferred, listen, settled } from '../helpers.js';
import { type DashboardApp, dashboardApp, EventStream, serve, tokenOf } from './support.js';

const open: DashboardApp[] = [];
afterEach(() => {
  for (const made of open.splice(0)) made.dashboard.close();
});

function made(...args: Parameters<typeof dashboardApp>): DashboardApp {
  const app = dashboardApp(...args);
  open.push(app);
  return app;
}

/** The asset paths the page links (below the mount path). */
async function assetPaths(): Promise<string[]> {
  const allowed = made({ allowAnyone: true });
  const html = (await request(allowed.app).get('/admin/tasks/')).text;
  return [...html.matchAll(/(?:href|src)="\/admin\/tasks(\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
}

const failing = defineTask('sendWelcome', (_email: string) => {
  throw new TypeError('SMTP refused the connection');
});

/** An app whose POST /run?n=N adds N tasks made by `make(i)`, with secret arguments. */
function taskApp(make: (i: number) => (secret: string) => unknown, options = {}): DashboardApp {
  return made({ allowAnyone: true, ...options }, (app) => {
    app.post('/run', (req, res) => {
      const count = Number(req.query.n ?? 1);
      for (let i = 0; i < count; i++) res.locals.background.addTask(make(i), 'alice@example.com');
      res.send('ok');
    });
  });
}

describe('tasksDashboard() options', () => {
  test('authorize is required unless allowAnyone: true is said; bad values are named', () => {
    const bg = backgroundTasks();
    expect(() => tasksDashboard(bg, undefined as never)).toThrow(InvalidArgumentError);
    expect(() => tasksDashboard(bg, {} as never)).toThrow(/option "authorize" is required.*allowAnyone: true/);
    expect(() => tasksDashboard(bg, { authorize: 'admin' } as never)).toThrow(
      /option "authorize" must be a function; received the string "admin"/,
    );
    expect(() => tasksDashboard(bg, { allowAnyone: 'yes' } as never)).toThrow(/option "allowAnyone" must be true or false/);
    expect(() => tasksDashboard(bg, { allowAnyone: false } as never)).toThrow(/option "authorize" is required/);
    expect(() => tasksDashboard(bg, { authorize: () => true, allowAnyone: true } as never)).toThrow(/contradict/);
    expect(() => tasksDashboard(bg, { allowAnyone: true, actions: 1 } as never)).toThrow(/option "actions" must be true or false/);
    expect(() => tasksDashboard(bg, { allowAnyone: true, title: 'x' } as never)).toThrow(/unknown option "title"/);
    expect(() => tasksDashboard((() => {}) as never, { allowAnyone: true })).toThrow(
      /argument "middleware" must be the middleware made by backgroundTasks\(\)/,
    );
  });

  test('nothing observes the middleware until the router is made, and close() stops observing', () => {
    const bg = backgroundTasks();
    const feed = feedOf(bg);
    expect(feed?.active).toBe(false);
    const dashboard = tasksDashboard(bg, { allowAnyone: true });
    expect(feed?.active).toBe(true);
    dashboard.close();
    expect(feed?.active).toBe(false);
  });
});

describe('authorize', () => {
  const deniers: Array<[string, () => unknown]> = [
    ['returns false', () => false],
    ['resolves false', async () => false],
    ['returns a truthy non-true value', () => ({ user: 'alice' })],
    ['returns undefined', () => undefined],
  ];

  test.each(deniers)('a request it denies (%s) gets 403 and no data: page, stream, list, assets, actions', async (_what, authorize) => {
    const assets = await assetPaths();
    expect(assets.length).toBe(5);
    const { app, dashboard } = made({ authorize: authorize as never, actions: true });
    const server = await serve(app, dashboard);
    try {
      for (const path of ['/', '/events', '/tasks?state=all', ...assets]) {
        const res = await fetch(`${server.url}/admin/tasks${path}`);
        expect([path, res.status, await res.text()]).toEqual([path, 403, 'Forbidden\n']);
      }
      const action = await fetch(`${server.url}/admin/tasks/tasks/abc/abort`, { method: 'POST' });
      expect(action.status).toBe(403);
      expect(await action.text()).toBe('Forbidden\n');
    } finally {
      await server.stop();
    }
  });

  test('sync and async true allow; it gets the request and the response', async () => {
    const seen: string[] = [];
    const sync = made({
      authorize: (req, res) => {
        seen.push(`${req.headers['x-user']} ${typeof res.setHeader}`);
        return req.headers['x-user'] === 'admin';
      },
    });
    await request(sync.app).get('/admin/tasks/').set('x-user', 'admin').expect(200);
    await request(sync.app).get('/admin/tasks/').set('x-user', 'guest').expect(403);
    const async = made({ authorize: async (req) => req.headers['x-user'] === 'admin' });
    await request(async.app).get('/admin/tasks/').set('x-user', 'admin').expect(200);
    await request(async.app).get('/admin/tasks/').expect(403);
    expect(seen).toEqual(['admin function', 'guest function']);
  });

  test('an authorize that answers itself (a 401 challenge) keeps its answer', async () => {
    const { app } = made({
      authorize: (_req, res) => {
        res.setHeader('WWW-Authenticate', 'Basic realm="tasks"');
        res.statusCode = 401;
        res.end();
        return false;
      },
    });
    const res = await request(app).get('/admin/tasks/').expect(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="tasks"');
  });

  test('a throw or a rejection in authorize goes to the app error handler, with no data', async () => {
    const throws = made({
      authorize: () => {
        throw new Error('session store down');
      },
    });
    const res = await request(throws.app).get('/admin/tasks/').expect(500);
    expect(res.text).toBe('app error handler: session store down');
    const rejects = made({ authorize: () => Promise.reject(new Error('lookup failed')) });
    expect((await request(rejects.app).get('/admin/tasks/events').expect(500)).text).toBe('app error handler: lookup failed');
  });
});

describe('the page and its assets', () => {
  test('one HTML document with no inline script or style, its own icon, and a strict CSP when the app set none', async () => {
    const { app } = made({ allowAnyone: true });
    const res = await request(app).get('/admin/tasks/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    const html = res.text;
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(2);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/ src="\/admin\/tasks\/assets\/[a-zA-Z]+\.[0-9a-f]{12}(\.iife\.min)?\.js"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(html).toMatch(/<link rel="icon" type="image\/svg\+xml" href="\/admin\/tasks\/assets\/icon\.[0-9a-f]{12}\.svg">/);
  });

  test("the app's own Content-Security-Policy is kept", async () => {
    const { app } = made({ allowAnyone: true });
    const outer = (await import('../helpers.js')).loadExpress()();
    outer.use((_req, res, next) => {
      res.setHeader('Content-Security-Policy', "default-src 'self'; report-uri /csp");
      next();
    });
    outer.use(app);
    const res = await request(outer).get('/admin/tasks/').expect(200);
    expect(res.headers['content-security-policy']).toBe("default-src 'self'; report-uri /csp");
  });

  test('assets are served under hashed names, cached for a year in the browser only; other names are 404', async () => {
    const { app } = made({ allowAnyone: true });
    const paths = await assetPaths();
    const types: string[] = [];
    for (const path of paths) {
      const res = await request(app).get(`/admin/tasks${path}`).expect(200);
      expect(res.headers['cache-control']).toBe('private, max-age=31536000, immutable');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      types.push(res.headers['content-type'] as string);
    }
    expect(types.sort()).toEqual([
      'image/svg+xml',
      'text/css; charset=utf-8',
      'text/css; charset=utf-8',
      'text/javascript; charset=utf-8',
      'text/javascript; charset=utf-8',
    ]);
    await request(app).get('/admin/tasks/assets/dashboard.000000000000.js').expect(404);
    await request(app).head(`/admin/tasks${paths[0]}`).expect(200);
    await request(app).post(`/admin/tasks${paths[0]}`).expect(405);
    // HEAD of the stream: its headers, without opening one.
    const head = await request(app).head('/admin/tasks/events').expect(200);
    expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  test('mounted anywhere: URLs follow the mount path; paths it does not know go on to the app', async () => {
    const bg = backgroundTasks();
    const express = (await import('../helpers.js')).loadExpress();
    const app = express();
    const dashboard = tasksDashboard(bg, { allowAnyone: true });
    open.push({ app, bg, dashboard, appRequests: [] });
    app.use('/ops/bg', dashboard);
    app.get('/ops/bg/other', (_req, res) => void res.send('the app'));
    const html = (await request(app).get('/ops/bg').expect(200)).text;
    expect(html).toContain('<meta name="tasks-dashboard-base" content="/ops/bg">');
    expect(html).toMatch(/src="\/ops\/bg\/assets\/dashboard\.[0-9a-f]{12}\.js"/);
    expect((await request(app).get('/ops/bg/other').expect(200)).text).toBe('the app');
  });
});

describe('what it shows and keeps', () => {
  test('a failing task: name, when, attempts, error name, message and stack, method and path; never its arguments or query', async () => {
    const { app, bg } = taskApp(() => failing);
    await request(app).post('/run?token=s3cret').expect(200);
    await settled(bg);
    const { tasks } = (await request(app).get('/admin/tasks/tasks').expect(200)).body;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ name: 'sendWelcome', state: 'failed', attempts: 1, method: 'POST', path: '/run', where: 'process' });
    expect(tasks[0].error).toMatchObject({ name: 'TypeError', message: 'SMTP refused the connection' });
    expect(tasks[0].error.stack).toMatch(/^TypeError: SMTP refused the connection\n\s+at /);
    expect(tasks[0].finishedAt).toBeGreaterThanOrEqual(tasks[0].startedAt);
    const everything = JSON.stringify((await request(app).get('/admin/tasks/tasks?state=all')).body);
    expect(everything).not.toContain('alice@example.com');
    expect(everything).not.toContain('s3cret');
  });

  test('the list filters by name and state, and finds a task by its id or the start of it', async () => {
    const ok = defineTask('resize', () => {});
    const { app, bg } = taskApp((i) => (i % 2 === 0 ? failing : ok));
    await request(app).post('/run?n=6').expect(200);
    await settled(bg);
    const list = async (query: string) =>
      (await request(app).get(`/admin/tasks/tasks?${query}`).expect(200)).body.tasks as Array<Record<string, string>>;
    expect(await list('')).toHaveLength(3); // failures by default
    expect((await list('state=succeeded')).map((t) => t.name)).toEqual(['resize', 'resize', 'resize']);
    expect(await list('state=all')).toHaveLength(6);
    expect(await list('state=all&name=resize')).toHaveLength(3);
    expect(await list('state=failures&name=resize')).toHaveLength(0);
    expect(await list('state=timedOut')).toHaveLength(0);
    const target = (await list('state=succeeded'))[1]!;
    expect((await list(`state=all&id=${target.id}`)).map((t) => t.id)).toEqual([target.id]);
    expect((await list(`state=all&id=${target.id!.slice(0, 13).toUpperCase()}`)).map((t) => t.id)).toEqual([target.id]);
    expect(await list('state=all&id=not-an-id')).toEqual([]);
  });

  test('per task name: counts by outcome, p50/p95/max durations and the last failure; per-minute finishes', async () => {
    const ok = defineTask('resize', () => {});
    const { app, bg, dashboard } = taskApp((i) => (i < 3 ? failing : ok));
    const server = await serve(app, dashboard);
    const stream = new EventStream(`${server.url}/admin/tasks/events`);
    try {
      await stream.next();
      await request(app).post('/run?n=10').expect(200);
      await settled(bg);
      const snapshot = await stream.next((s) => s.versions.finished === 10);
      const resize = snapshot.names.find((n) => n.name === 'resize');
      const welcome = snapshot.names.find((n) => n.name === 'sendWelcome');
      expect(resize?.counts).toEqual({ succeeded: 7, failed: 0, timedOut: 0, skipped: 0, enqueued: 0 });
      expect(welcome?.counts).toEqual({ succeeded: 0, failed: 3, timedOut: 0, skipped: 0, enqueued: 0 });
      for (const figures of [resize, welcome]) {
        expect(figures?.p50).toBeGreaterThan(0);
        expect(figures?.p95).toBeGreaterThanOrEqual(figures?.p50 ?? Number.POSITIVE_INFINITY);
        expect(figures?.max).toBeGreaterThanOrEqual(figures?.p95 ?? Number.POSITIVE_INFINITY);
      }
      expect(resize?.lastFailureAt).toBeUndefined();
      expect(welcome?.lastFailureAt).toBeGreaterThan(0);
      expect(snapshot.counters).toMatchObject({ succeeded: 7, failed: 3, queued: 0, running: 0 });
      expect(snapshot.minutes.counts).toHaveLength(60);
      const total = snapshot.minutes.counts.reduce(
        (sum, counts) => [0, 1, 2, 3, 4].map((k) => (sum[k] ?? 0) + (counts[k] ?? 0)),
        [0, 0, 0, 0, 0],
      );
      expect(total).toEqual([7, 3, 0, 0, 0]);
    } finally {
      stream.close();
      await server.stop();
    }
  });

  test('skipped and timed-out tasks are counted as such', async () => {
    const slow = defineTask(
      'slowReport',
      () => {
        const signal = taskSignal();
        return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { timeout: 20 },
    );
    const { app, bg, dashboard } = made({ allowAnyone: true }, (app) => {
      app.post('/slow', (_req, res) => {
        res.locals.background.addTask(slow);
        res.send('ok');
      });
      app.post('/broken', (_req, res) => {
        res.locals.background.addTask(slow);
        res.status(500).send('no');
      });
    });
    const server = await serve(app, dashboard);
    const stream = new EventStream(`${server.url}/admin/tasks/events`);
    try {
      await request(app).post('/slow').expect(200);
      await request(app).post('/broken').expect(500);
      await settled(bg);
      const snapshot = await stream.next((s) => s.versions.finished === 2);
      expect(snapshot.names[0]?.counts).toMatchObject({ timedOut: 1, skipped: 1 });
      const { tasks } = (await request(app).get('/admin/tasks/tasks?state=timedOut')).body;
      expect(tasks[0].error.name).toBe('TimeoutError');
    } finally {
      stream.close();
      await server.stop();
    }
  });

  test(`memory is bounded: ${LIMITS.failures} failures with clipped texts, ${LIMITS.finished} finished tasks, ${LIMITS.names} names`, async () => {
    const long = defineTask('long', () => {
      throw new Error('x'.repeat(5000));
    });
    let n = 0;
    const { app, bg } = taskApp(() => {
      const index = n++;
      // The first task fails with a long message; then more names than are kept, each a plain function.
      if (index === 0) return long;
      const fn = () => {};
      Object.defineProperty(fn, 'name', { value: `name${index % (LIMITS.names + 20)}` });
      return fn;
    });
    await request(app).post('/run?n=1').expect(200);
    await settled(bg);
    const failures = (await request(app).get('/admin/tasks/tasks')).body.tasks;
    expect(failures[0].error.message).toHaveLength(LIMITS.failureMessage);
    expect(failures[0].error.message.endsWith('…')).toBe(true);
    expect(failures[0].error.stack.length).toBeLessThanOrEqual(LIMITS.stack);
    const firstId = failures[0].id as string;
    await request(app)
      .post(`/run?n=${LIMITS.finished + 50}`)
      .expect(200);
    await settled(bg);
    // Gone from the finished tasks, still among the failures.
    expect((await request(app).get(`/admin/tasks/tasks?state=succeeded&id=${firstId}`)).body.tasks).toEqual([]);
    expect((await request(app).get(`/admin/tasks/tasks?state=failures&id=${firstId}`)).body.tasks).toHaveLength(1);
    expect((await request(app).get('/admin/tasks/tasks?state=all')).body.tasks).toHaveLength(LIMITS.listed);
    const server = await serve(app);
    const stream = new EventStream(`${server.url}/admin/tasks/events`);
    try {
      const { names } = await stream.next();
      expect(names).toHaveLength(LIMITS.names + 1);
      expect(names.at(-1)?.name).toBe(OTHER_NAMES);
    } finally {
      stream.close();
      await server.stop();
    }
  });

  test('failures keep the newest ones, newest first', async () => {
    let n = 0;
    const { app, bg } = taskApp(() => {
      const index = n++;
      return defineTask(`fails${index}`, () => {
        throw new Error(`failure ${index}`);
      });
    });
    await request(app)
      .post(`/run?n=${LIMITS.failures + 5}`)
      .expect(200);
    await settled(bg);
    const { tasks } = (await request(app).get('/admin/tasks/tasks')).body;
    expect(tasks).toHaveLength(LIMITS.failures);
    expect(tasks[0].error.message).toBe(`failure ${LIMITS.failures + 4}`);
    expect(tasks.at(-1).error.message).toBe('failure 5');
  });

  test('the duration histogram: quantiles within 4% of the true value, max exact', () => {
    const histogram = new DurationHistogram();
    expect(histogram.quantile(0.5)).toBeUndefined();
    for (let i = 1; i <= 1000; i++) histogram.record(i / 10);
    expect(histogram.quantile(0.5)).toBeGreaterThanOrEqual(50 * 0.96);
    expect(histogram.quantile(0.5)).toBeLessThanOrEqual(50 * 1.04);
    expect(histogram.quantile(0.95)).toBeGreaterThanOrEqual(95 * 0.96);
    expect(histogram.quantile(0.95)).toBeLessThanOrEqual(95 * 1.04);
    expect(histogram.max).toBe(100);
    histogram.record(1e12); // beyond the last bucket: counted there, max exact
    expect(histogram.max).toBe(1e12);
    expect(histogram.count).toBe(1001);
    expect(BUCKETS).toBe(640);
  });
});

describe('the stream', () => {
  test('a snapshot at once, then another when a task changes, without asking', async () => {
    const gate: Deferred = deferred();
    const step = defineTask('importCsv', async () => {
      taskProgress(0.25, 'reading rows');
      await gate.promise;
    });
    const { app, bg, dashboard } = taskApp(() => step);
    const server = await serve(app, dashboard);
    const stream = new EventStream(`${server.url}/admin/tasks/events`);
    try {
      expect(await stream.status).toBe(200);
      const first = await stream.next();
      expect(first.counters).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
      expect(first.queue).toBeNull();
      await request(app).post('/run').expect(200);
      const running = await stream.next((s) => s.runningCount === 1 && s.running[0]?.progress === 0.25);
      expect(running.running[0]).toMatchObject({
        name: 'importCsv',
        where: 'process',
        message: 'reading rows',
        method: 'POST',
        path: '/run',
      });
      expect(running.counters.running).toBe(1);
      gate.resolve();
      await settled(bg);
      expect((await stream.next((s) => s.counters.succeeded === 1)).runningCount).toBe(0);
    } finally {
      stream.close();
      await server.stop();
    }
  });

  test(`at most ${STREAM_LIMITS.streams} streams at once; close() ends them`, async () => {
    const { app, dashboard } = made({ allowAnyone: true });
    const server = await serve(app, dashboard);
    const streams = Array.from({ length: STREAM_LIMITS.streams }, () => new EventStream(`${server.url}/admin/tasks/events`));
    try {
      await Promise.all(streams.map((stream) => stream.next()));
      const extra = await fetch(`${server.url}/admin/tasks/events`);
      expect(extra.status).toBe(503);
      dashboard.close();
      // Closed: the streams ended (the server can close) and later requests are refused.
      expect((await fetch(`${server.url}/admin/tasks/`)).status).toBe(503);
    } finally {
      for (const stream of streams) stream.close();
      await server.stop();
    }
  });
});

describe('actions', () => {
  const releases: Array<() => void> = [];
  afterEach(() => {
    for (const release of releases.splice(0)) release();
  });

  /** An app whose task waits for its signal (or the test's end), and the page's token. */
  async function abortable(actions: boolean) {
    const started: Deferred = deferred();
    const reasons: unknown[] = [];
    const waits = defineTask('waitsForSignal', async () => {
      const signal = taskSignal();
      started.resolve();
      await new Promise<void>((resolve) => {
        releases.push(resolve);
        signal.addEventListener('abort', () => {
          reasons.push(signal.reason);
          resolve();
        });
      });
    });
    const made_ = taskApp(() => waits, { actions });
    await request(made_.app).post('/run').expect(200);
    await started.promise;
    const token = tokenOf((await request(made_.app).get('/admin/tasks/')).text);
    const { tasks } = (await request(made_.app).get('/admin/tasks/tasks?state=running')).body;
    return { ...made_, token, id: tasks[0].id as string, reasons };
  }

  test('off unless actions: true', async () => {
    const { app, token, id, reasons } = await abortable(false);
    const res = await request(app)
      .post(`/admin/tasks/tasks/${id}/abort`)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('x-tasks-dashboard-token', token);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/actions: true/);
    expect((await request(app).get('/admin/tasks/')).text).toContain('<meta name="tasks-dashboard-actions" content="false">');
    expect(reasons).toEqual([]);
  });

  test('refused without the token, with a wrong one, cross-site, from another origin, or with neither header; GET is 405', async () => {
    const { app, token, id, reasons } = await abortable(true);
    const post = () => request(app).post(`/admin/tasks/tasks/${id}/abort`);
    const refusals = [
      [await post().set('Sec-Fetch-Site', 'same-origin'), /token is missing/],
      [await post().set('Sec-Fetch-Site', 'same-origin').set('x-tasks-dashboard-token', `${token}x`), /token is missing, wrong/],
      [await post().set('Sec-Fetch-Site', 'cross-site').set('x-tasks-dashboard-token', token), /Sec-Fetch-Site is "cross-site"/],
      [await post().set('Sec-Fetch-Site', 'same-site').set('x-tasks-dashboard-token', token), /Sec-Fetch-Site is "same-site"/],
      [await post().set('Origin', 'https://evil.example').set('x-tasks-dashboard-token', token), /Origin header names another site/],
      [await post().set('Origin', 'null').set('x-tasks-dashboard-token', token), /Origin header is not a URL/],
      [await post().set('x-tasks-dashboard-token', token), /neither a Sec-Fetch-Site nor an Origin/],
    ] as const;
    for (const [res, why] of refusals) {
      expect(res.status).toBe(403);
      expect(res.body.error).toMatch(why);
    }
    expect((await request(app).get(`/admin/tasks/tasks/${id}/abort`)).status).toBe(405);
    expect(reasons).toEqual([]);
  });

  test('with the token from the same origin, abort stops a running task through its signal', async () => {
    const { app, bg, token, id, reasons } = await abortable(true);
    const server = await serve(app);
    try {
      const res = await fetch(`${server.url}/admin/tasks/tasks/${id}/abort`, {
        method: 'POST',
        headers: { Origin: server.url, 'x-tasks-dashboard-token': token },
      });
      expect(res.status).toBe(200);
      await settled(bg);
      expect(reasons).toHaveLength(1);
      expect((reasons[0] as Error).name).toBe('AbortError');
      expect((reasons[0] as Error).message).toBe('aborted from the tasks dashboard');
      const again = await fetch(`${server.url}/admin/tasks/tasks/${id}/abort`, {
        method: 'POST',
        headers: { Origin: server.url, 'x-tasks-dashboard-token': token },
      });
      expect(again.status).toBe(404);
      const retry = await fetch(`${server.url}/admin/tasks/queue/jobs/j1/retry`, {
        method: 'POST',
        headers: { Origin: server.url, 'x-tasks-dashboard-token': token },
      });
      expect([retry.status, ((await retry.json()) as { error: string }).error]).toEqual([404, 'no failed job with that id in the queue']);
    } finally {
      await server.stop();
    }
  });

  test("a token from another dashboard's page is refused", async () => {
    const first = await abortable(true);
    const other = made({ allowAnyone: true, actions: true });
    const foreign = tokenOf((await request(other.app).get('/admin/tasks/')).text);
    const res = await request(first.app)
      .post(`/admin/tasks/tasks/${first.id}/abort`)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('x-tasks-dashboard-token', foreign);
    expect(res.status).toBe(403);
  });
});

describe('a page that does not read its stream', () => {
  test(`is dropped once it leaves more than ${STREAM_LIMITS.unreadBytes} bytes unread`, async () => {
    // A snapshot far larger than what the loopback's socket buffers take: most of it stays in Node's buffer.
    const big = JSON.stringify({ filler: 'x'.repeat(16 * 1024 * 1024) });
    const opened = deferred();
    const lastClosed = deferred();
    const streams = new Streams({ snapshot: () => big, first: () => opened.resolve(), last: () => lastClosed.resolve() });
    const server = http.createServer((req, res) => void streams.open(req, res));
    const port = await listen(server);
    const socket = net.connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.pause(); // reads nothing
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await opened.promise;
      streams.changed(); // the next snapshot finds the first one still unread
      await lastClosed.promise;
      expect(streams.size).toBe(0);
    } finally {
      socket.destroy();
      streams.close();
      await close(server);
    }
  });
});
