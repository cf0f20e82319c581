// The dashboard in a real browser (Debian's chromium, headless, through playwright-core): no console error under a
// strict CSP set by the app, live counters, a failure with its stack, the filter and the id search, a thread task's
// progress, 403s, and actions refused without the token or from another origin. One browser for the whole file.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { defineTask, taskProgress, taskSignal } from '../../lib/index.js';
import { type ThreadPool, threadPool } from '../../lib/threads/index.js';
import { close, type Deferred, deferred, listen, ROOT, settled } from '../helpers.js';
import { GATE, resizeImage } from './fixtures/thread-tasks.js';
import { type DashboardApp, dashboardApp, describeWithBrowser, launchBrowser, serve } from './support.js';

const SHOTS = path.join(ROOT, '.tmp');

const failing = defineTask('sendWelcome', () => {
  throw new TypeError('SMTP refused the connection');
});
const resize = defineTask('resizeAvatar', () => {});

describeWithBrowser('the dashboard in a browser', () => {
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  const stops: Array<() => Promise<void>> = [];
  const releases: Array<() => void> = [];

  beforeAll(async () => {
    ({ context, close: closeBrowser } = await launchBrowser());
  });

  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    for (const stop of stops.splice(0)) await stop();
    for (const page of context.pages()) await page.close();
  });

  afterAll(async () => {
    await closeBrowser?.();
  });

  interface Served extends DashboardApp {
    readonly url: string;
    /** POSTs /run?task=name, which adds that task. */
    run(task: string, n?: number): Promise<void>;
    /** The statuses the dashboard answered to POSTs, in order. */
    readonly actionStatuses: number[];
  }

  /** An app with a strict CSP of its own, tasks to add by name, and the dashboard at /admin/tasks. */
  async function served(
    options: Parameters<typeof dashboardApp>[0],
    tasks: Record<string, (...args: never[]) => unknown> = {},
    middlewareOptions: Parameters<typeof dashboardApp>[2] = { onError: () => {} },
  ): Promise<Served> {
    const actionStatuses: number[] = [];
    const all: Record<string, (...args: never[]) => unknown> = { sendWelcome: failing, resizeAvatar: resize, ...tasks };
    const made = dashboardApp(
      options,
      (app) => {
        app.post('/run', (req, res) => {
          const task = all[String(req.query.task)];
          if (task === undefined) return void res.status(400).send('no such task');
          for (let i = 0; i < Number(req.query.n ?? 1); i++) res.locals.background.addTask(task as () => unknown);
          res.send('ok');
        });
      },
      middlewareOptions,
    );
    // The app's own strict policy, set before the dashboard answers; and a record of what it answers to POSTs.
    const outer = (await import('../helpers.js')).loadExpress()();
    outer.use((req, res, next) => {
      res.setHeader('Content-Security-Policy', "default-src 'self'");
      if (req.method === 'POST' && req.path.startsWith('/admin/tasks')) res.on('finish', () => actionStatuses.push(res.statusCode));
      next();
    });
    outer.use(made.app);
    const server = await serve(outer, made.dashboard);
    stops.push(server.stop);
    const run = async (task: string, n = 1): Promise<void> => {
      const res = await fetch(`${server.url}/run?task=${task}&n=${n}`, { method: 'POST' });
      if (!res.ok) throw new Error(`POST /run?task=${task}: ${res.status}`);
    };
    return { ...made, url: server.url, run, actionStatuses };
  }

  /** A page that records console errors and page errors; fails fast (10 s) rather than at jest's timeout. */
  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    await page.locator('#connection[data-state="live"]').waitFor();
    return { page, errors };
  }

  function counter(page: Page, name: string, value: string) {
    return page.locator(`#counters [data-counter="${name}"] dd`).filter({ hasText: new RegExp(`^${value}$`) });
  }

  test("loads under the app's \"default-src 'self'\" with no console error, and asks the app for no /favicon.ico", async () => {
    const gate: Deferred = deferred();
    releases.push(() => gate.resolve());
    const importCsv = defineTask('importCsv', async () => {
      taskProgress(0.65, 'row 6,500 of 10,000');
      await gate.promise;
    });
    const app = await served({ allowAnyone: true }, { importCsv });
    await app.run('resizeAvatar', 12);
    await app.run('sendWelcome', 2);
    await app.run('importCsv');
    const { page, errors } = await open(`${app.url}/admin/tasks/`);
    await counter(page, 'succeeded', '12').waitFor();
    await page.locator('#running tr', { hasText: 'row 6,500 of 10,000' }).waitFor();
    await page.locator('#tasks li[data-state="failed"]').first().waitFor();
    await page.locator('#throughput canvas').first().waitFor();
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    const iconAnswer = await page.request.get(`${app.url}${icon}`);
    expect([iconAnswer.status(), iconAnswer.headers()['content-type']]).toEqual([200, 'image/svg+xml']);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(app.appRequests.filter((p) => p === '/favicon.ico')).toEqual([]);
  });

  test('a request that adds a task changes the counters without a reload', async () => {
    const app = await served({ allowAnyone: true });
    const { page } = await open(`${app.url}/admin/tasks/`);
    await counter(page, 'succeeded', '0').waitFor();
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    await app.run('resizeAvatar');
    await counter(page, 'succeeded', '1').waitFor();
    await app.run('sendWelcome');
    await counter(page, 'failed', '1').waitFor();
    await page.locator('#names tr[data-name="resizeAvatar"] td.succeeded').filter({ hasText: /^1$/ }).waitFor();
    expect(navigations).toBe(0);
  });

  test('a failing task shows in recent failures with its error and stack', async () => {
    const app = await served({ allowAnyone: true });
    const { page } = await open(`${app.url}/admin/tasks/`);
    await app.run('sendWelcome');
    const item = page.locator('#tasks li[data-state="failed"]', { hasText: 'sendWelcome' });
    await item.waitFor();
    expect(await item.locator('.error-name').textContent()).toBe('TypeError');
    expect(await item.locator('.error-message').textContent()).toBe(': SMTP refused the connection');
    expect(await item.locator('.request').textContent()).toBe('POST /run');
    await item.locator('details.stack summary').click();
    const stack = item.locator('details.stack pre');
    await stack.waitFor({ state: 'visible' });
    expect(await stack.textContent()).toMatch(/^TypeError: SMTP refused the connection\n\s+at /);
  });

  test('the name and state filters and the id search', async () => {
    const app = await served({ allowAnyone: true });
    await app.run('resizeAvatar', 3);
    await app.run('sendWelcome', 2);
    await settled(app.bg);
    const { page } = await open(`${app.url}/admin/tasks/`);
    const items = page.locator('#tasks li');
    await page.locator('#tasks li[data-state="failed"]').nth(1).waitFor();
    expect(await items.count()).toBe(2);
    await page.locator('#filter-state').selectOption('all');
    await page.locator('#tasks li').nth(4).waitFor();
    await page.locator('#filter-name').selectOption('resizeAvatar');
    await page.waitForFunction(() => document.querySelectorAll('#tasks li').length === 3);
    expect(await page.locator('#tasks li .name').allTextContents()).toEqual(['resizeAvatar', 'resizeAvatar', 'resizeAvatar']);
    const id = (await page.locator('#tasks li').nth(1).getAttribute('data-id')) as string;
    await page.locator('#filter-name').selectOption('');
    await page.locator('#filter-id').fill(id.slice(0, 8));
    await page.waitForFunction(() => document.querySelectorAll('#tasks li').length === 1);
    expect(await page.locator('#tasks li').getAttribute('data-id')).toBe(id);
    await page.locator('#filter-id').fill('ffffffff-no-such-task');
    await page.locator('#tasks-empty').waitFor({ state: 'visible' });
  });

  test("a thread task's progress shows while it runs", async () => {
    const pool: ThreadPool = threadPool({ module: path.join(__dirname, 'fixtures', 'thread-tasks.ts'), maxThreads: 1 });
    stops.push(async () => {
      await pool.close();
    });
    const slots = new Int32Array(new SharedArrayBuffer(8));
    releases.push(() => {
      Atomics.store(slots, GATE, 1);
      Atomics.notify(slots, GATE);
    });
    const app = await served({ allowAnyone: true }, {}, { onError: () => {}, threads: pool });
    app.app.post('/resize', (_req, res) => {
      res.locals.background.addTask(resizeImage, slots);
      res.send('ok');
    });
    const { page } = await open(`${app.url}/admin/tasks/`);
    await fetch(`${app.url}/resize`, { method: 'POST' });
    const row = page.locator('#running tr', { hasText: 'resizeImage' });
    await row.locator('.message', { hasText: 'resizing 4 of 10' }).waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('thread');
    expect(await row.locator('.percent').textContent()).toBe('40%');
    expect(await row.locator('progress').getAttribute('value')).toBe('0.4');
  });

  test('an unauthorized browser gets 403 for the page, the stream and the assets', async () => {
    const allowed = await served({ allowAnyone: true });
    const html = await (await fetch(`${allowed.url}/admin/tasks/`)).text();
    const assets = [...html.matchAll(/(?:href|src)="(\/admin\/tasks\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
    expect(assets).toHaveLength(5);
    const denied = await served({ authorize: (req) => req.headers.authorization === 'Bearer let-me-in' });
    const page = await context.newPage();
    const answer = await page.goto(`${denied.url}/admin/tasks/`);
    expect(answer?.status()).toBe(403);
    expect(await page.locator('body').textContent()).toBe('Forbidden\n');
    for (const asset of [...assets, '/admin/tasks/events', '/admin/tasks/tasks?state=all']) {
      const res = await page.request.get(`${denied.url}${asset}`);
      expect([asset, res.status()]).toEqual([asset, 403]);
    }
  });

  test('an action without the token, or from another origin, is refused; the page itself can act', async () => {
    const started: Deferred = deferred();
    const stopped: Deferred<unknown> = deferred();
    const waits = defineTask('waitsForSignal', async () => {
      const signal = taskSignal();
      started.resolve();
      await new Promise<void>((resolve) => {
        releases.push(resolve);
        signal.addEventListener('abort', () => {
          stopped.resolve(signal.reason);
          resolve();
        });
      });
    });
    const app = await served({ allowAnyone: true, actions: true }, { waitsForSignal: waits });
    await app.run('waitsForSignal');
    await started.promise;
    const { page } = await open(`${app.url}/admin/tasks/`);
    const row = page.locator('#running tr', { hasText: 'waitsForSignal' });
    await row.waitFor();
    const id = (await row.getAttribute('data-id')) as string;
    const target = `${app.url}/admin/tasks/tasks/${id}/abort`;

    // From the page's own origin, without the token.
    const noToken = await page.evaluate(async (url) => {
      const res = await fetch(url, { method: 'POST' });
      return { status: res.status, body: await res.json() };
    }, target);
    expect(noToken.status).toBe(403);
    expect(noToken.body.error).toMatch(/token is missing/);

    // From another origin (another port): a form post and a no-cors fetch that carries the page's token.
    const evil = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id="f" method="POST" action="${target}"></form>`);
    });
    const evilPort = await listen(evil);
    stops.push(() => close(evil));
    const token = (await page.locator('meta[name="tasks-dashboard-token"]').getAttribute('content')) as string;
    const other = await context.newPage();
    await other.goto(`http://localhost:${evilPort}/`);
    await other.evaluate(
      async ([url, t]) => {
        await fetch(url as string, { method: 'POST', mode: 'no-cors', headers: { 'x-tasks-dashboard-token': t as string } }).catch(
          () => {},
        );
      },
      [target, token],
    );
    await Promise.all([other.waitForNavigation(), other.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit())]);
    expect(JSON.parse((await other.locator('body').textContent()) ?? '')).toEqual({
      error: 'refused: Sec-Fetch-Site is "cross-site", not "same-origin"',
    });
    expect(app.actionStatuses).toEqual([403, 403, 403]);
    expect(app.bg.stats().running).toBe(1);

    // The page's own Abort button carries the token: the task's signal aborts.
    await row.locator('button', { hasText: 'Abort' }).click();
    const reason = (await stopped.promise) as Error;
    expect(reason.name).toBe('AbortError');
    await page.locator('#notice', { hasText: 'asked task waitsForSignal to stop' }).waitFor();
    expect(app.actionStatuses).toEqual([403, 403, 403, 200]);
  });
});
