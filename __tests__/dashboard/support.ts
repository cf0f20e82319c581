// The dashboard tests' own helpers: an app with a dashboard mounted, reading its stream, its page's token, and
// (for the browser tests) Debian's chromium through playwright-core with the skip rule.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { type TasksDashboard, type TasksDashboardOptions, tasksDashboard } from '../../lib/dashboard/index.js';
import type { BackgroundTasksMiddleware, BackgroundTasksOptions } from '../../lib/index.js';
import { backgroundTasks } from '../../lib/index.js';
import { close, deferred, listen, loadExpress } from '../helpers.js';

const express = loadExpress();

export interface DashboardApp {
  readonly app: import('express').Express;
  readonly bg: BackgroundTasksMiddleware;
  readonly dashboard: TasksDashboard;
  /** Paths the app itself was asked for (outside the dashboard), in order. */
  readonly appRequests: string[];
}

/**
 * An app with backgroundTasks(options) and the dashboard mounted at /admin/tasks; `routes` adds the app's own routes.
 * Errors reach a handler that answers 500 with the error's message.
 */
export function dashboardApp(
  dashboardOptions: TasksDashboardOptions,
  routes: (app: import('express').Express) => void = () => {},
  options: BackgroundTasksOptions = { onError: () => {} },
): DashboardApp {
  const bg = backgroundTasks(options);
  const app = express();
  const appRequests: string[] = [];
  app.use((req, _res, next) => {
    if (!req.path.startsWith('/admin/tasks')) appRequests.push(req.path);
    next();
  });
  app.use(bg);
  const dashboard = tasksDashboard(bg, dashboardOptions);
  app.use('/admin/tasks', dashboard);
  routes(app);
  app.use((error: Error, _req: import('express').Request, res: import('express').Response, _next: import('express').NextFunction) => {
    res.status(500).send(`app error handler: ${error.message}`);
  });
  return { app, bg, dashboard, appRequests };
}

/** Starts `app` on a free port; stop() closes the dashboard's streams, then the server. */
export async function serve(app: import('express').Express, dashboard?: TasksDashboard): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = http.createServer(app);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      dashboard?.close();
      await close(server);
    },
  };
}

/** The page's action token, from its <meta> tag. */
export function tokenOf(html: string): string {
  const match = /<meta name="tasks-dashboard-token" content="([^"]+)">/.exec(html);
  if (match?.[1] === undefined) throw new Error('the page has no token');
  return match[1];
}

/** A snapshot as the stream sends it (the fields the tests read). */
export interface Snapshot {
  readonly counters: Record<string, number>;
  readonly running: Array<Record<string, unknown>>;
  readonly runningCount: number;
  readonly names: Array<{ name: string; counts: Record<string, number>; p50?: number; p95?: number; max?: number; lastFailureAt?: number }>;
  readonly minutes: { from: number; counts: number[][] };
  readonly versions: { finished: number; failures: number };
  readonly queue: unknown;
  readonly actions: boolean;
}

/** One open stream: its snapshots as they come, waited on by predicate (never by time). */
export class EventStream {
  readonly snapshots: Snapshot[] = [];
  readonly status: Promise<number>;
  #request: http.ClientRequest;
  #waiters: Array<{ match: (s: Snapshot) => boolean; resolve: (s: Snapshot) => void }> = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    const status = deferred<number>();
    this.status = status.promise;
    this.#request = http.get(url, { headers }, (res) => {
      status.resolve(res.statusCode ?? 0);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          this.#event(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      });
    });
    this.#request.on('error', () => {});
  }

  #event(text: string): void {
    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6))
      .join('\n');
    if (data === '') return;
    const snapshot = JSON.parse(data) as Snapshot;
    this.snapshots.push(snapshot);
    const matched = this.#waiters.filter((waiter) => waiter.match(snapshot));
    this.#waiters = this.#waiters.filter((waiter) => !matched.includes(waiter));
    for (const waiter of matched) waiter.resolve(snapshot);
  }

  /** The first snapshot (already received or still to come) that `match` accepts. */
  next(match: (snapshot: Snapshot) => boolean = () => true): Promise<Snapshot> {
    const found = this.snapshots.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  close(): void {
    this.#request.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The browser: Debian's chromium, driven by playwright-core

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here, or undefined when they can. Under CI=true they always run (and fail
 * loudly without chromium): .ci/run installs it.
 */
export function browserSkipReason(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  const found = spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore' }).status === 0;
  return found ? undefined : `${CHROMIUM} is missing; install Debian's chromium package (apt-get install chromium) to run them`;
}

/** describe(), or describe.skip() with the reason in its name so that the report says why. */
export function describeWithBrowser(name: string, fn: () => void): void {
  const reason = browserSkipReason();
  if (reason === undefined) describe(name, fn);
  else describe.skip(`${name} (skipped: ${reason})`, fn);
}

/** Chromium, headless, with a fresh profile (its --user-data-dir, which playwright takes as a persistent context) that close() removes. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(tmpdir(), 'ebt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
