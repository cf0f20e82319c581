// tasksDashboard(): the handler an app mounts where it likes. Every request goes through authorize() first; then the
// page, its assets, its stream, the task list, and (with actions: true) the protected actions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid, received } from '../check.js';
import type { BackgroundTasksMiddleware } from '../middleware.js';
import { feedOf } from '../task-events.js';
import { loadAssets } from './assets.js';
import { History } from './history.js';
import { type DashboardRequest, type DashboardResponse, parseDashboardOptions, type TasksDashboardOptions } from './options.js';
import { PAGE_POLICY, renderPage } from './page.js';
import { crossOriginReason, PageTokens, TOKEN_HEADER } from './protect.js';
import { QueueWatch } from './queue-watch.js';
import { Streams } from './stream.js';

type Next = (error?: unknown) => void;

/** The dashboard: mount it with app.use(path, dashboard). */
export interface TasksDashboard {
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  /**
   * Stops observing the middleware and ends the pages' open streams. Call it at shutdown before server.close(): an
   * open stream is a request that never ends, and keeps the server waiting.
   */
  close(): void;
}

/** Ids are UUIDs (tasks) or the queue's job ids: anything longer is no id of ours. */
const MAX_ID = 200;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** A denied request: 403 and no data, unless authorize() answered it itself (a 401 challenge). */
function deny(res: ServerResponse): void {
  if (!res.headersSent) send(res, 403, 'text/plain; charset=utf-8', 'Forbidden\n');
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** The id in `/prefix/<id>/suffix`, decoded, or undefined. */
function idIn(path: string, prefix: string, suffix: string): string | undefined {
  if (!path.startsWith(prefix) || !path.endsWith(suffix)) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(path.slice(prefix.length, path.length - suffix.length));
  } catch {
    return undefined;
  }
  return id === '' || id.length > MAX_ID || id.includes('/') ? undefined : id;
}

/**
 * A dashboard of `middleware`'s tasks, to mount where the app likes: `app.use('/admin/tasks', tasksDashboard(bg,
 * { authorize }))`. It observes the middleware from now on; nothing is kept before it is made.
 */
export function tasksDashboard(middleware: BackgroundTasksMiddleware, options: TasksDashboardOptions): TasksDashboard {
  const feed = feedOf(middleware);
  if (feed === undefined) {
    invalid(
      `tasksDashboard(middleware, options): argument "middleware" must be the middleware made by backgroundTasks(); received ${received(middleware)}`,
    );
  }
  const settings = parseDashboardOptions(options);
  const assets = loadAssets();
  const tokens = new PageTokens();
  let queue: QueueWatch | undefined;
  const streams = new Streams({
    snapshot: () => snapshot(),
    first: () => queue?.start(),
    last: () => queue?.stop(),
  });
  const history = new History(() => streams.changed());
  queue = QueueWatch.of(feed.queue, () => streams.changed());
  let unobserve: (() => void) | undefined = feed.observe(history.observer);

  function snapshot(): string {
    const now = Date.now();
    return JSON.stringify({
      now,
      counters: middleware.stats(),
      running: history.running(),
      runningCount: history.runningCount,
      names: history.names(),
      minutes: history.minutes(now),
      versions: history.versions,
      queue: queue === undefined ? null : queue.view,
      actions: settings.actions,
    });
  }

  function page(req: IncomingMessage, res: ServerResponse): void {
    const base = (req as { baseUrl?: string }).baseUrl ?? '';
    // The app's own policy, if it set one, stands; otherwise the page gets a strict one of its own.
    if (!res.hasHeader('Content-Security-Policy')) res.setHeader('Content-Security-Policy', PAGE_POLICY);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    send(res, 200, 'text/html; charset=utf-8', renderPage(assets, { base, token: tokens.issue(), actions: settings.actions }));
  }

  function list(url: URL, res: ServerResponse): void {
    const param = (name: string): string => (url.searchParams.get(name) ?? '').slice(0, MAX_ID);
    const query = { state: param('state') || 'failures', name: param('name'), id: param('id') };
    sendJson(res, 200, { tasks: history.find(query) });
  }

  /** An action: only with actions: true, from the page's own origin, with its token. */
  function act(req: IncomingMessage, res: ServerResponse, run: () => Promise<boolean>, missing: string): void {
    if (!settings.actions) {
      sendJson(res, 403, { error: 'actions are off; tasksDashboard(middleware, { actions: true }) turns them on' });
      return;
    }
    const crossOrigin = crossOriginReason(req);
    if (crossOrigin !== undefined) {
      sendJson(res, 403, { error: `refused: ${crossOrigin}` });
      return;
    }
    if (!tokens.verify(req.headers[TOKEN_HEADER])) {
      sendJson(res, 403, { error: 'refused: the page token is missing, wrong or expired; reload the page' });
      return;
    }
    run().then(
      (done) => sendJson(res, done ? 200 : 404, done ? { ok: true } : { error: missing }),
      (error: unknown) => sendJson(res, 502, { error: `the action failed: ${error instanceof Error ? error.message : String(error)}` }),
    );
  }

  function route(req: IncomingMessage, res: ServerResponse, next: Next): void {
    try {
      answer(req, res, next);
    } catch (error) {
      next(error);
    }
  }

  function answer(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (unobserve === undefined) {
      send(res, 503, 'text/plain; charset=utf-8', 'The tasks dashboard is closed\n');
      return;
    }
    const abortId = idIn(path, '/tasks/', '/abort');
    const retryId = idIn(path, '/queue/jobs/', '/retry');
    if (abortId !== undefined || retryId !== undefined) {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        sendJson(res, 405, { error: 'actions are POST requests' });
      } else if (abortId !== undefined) {
        const reason = new DOMException('aborted from the tasks dashboard', 'AbortError');
        act(req, res, async () => history.abort(abortId, reason), 'no task with that id is running here');
      } else {
        const watch = queue;
        const retry = async (): Promise<boolean> => {
          if (watch === undefined || !(await watch.retry(retryId as string))) return false;
          void watch.refresh();
          return true;
        };
        act(req, res, retry, 'no failed job with that id in the queue');
      }
      return;
    }
    const known = path === '/' || path === '/events' || path === '/tasks' || path.startsWith('/assets/');
    if (!known) {
      next();
      return;
    }
    if (method !== 'GET') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
      return;
    }
    if (path === '/') page(req, res);
    else if (path === '/tasks') list(url, res);
    else if (path === '/events') {
      // HEAD: the headers a stream would have, without opening one.
      if (req.method === 'HEAD') send(res, 200, 'text/event-stream; charset=utf-8', '');
      else if (!streams.open(req, res)) send(res, 503, 'text/plain; charset=utf-8', 'Too many dashboard pages are open\n');
    } else if (!assets.serve(path.slice('/assets/'.length), res)) send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
  }

  const authorize = settings.authorize;
  const dashboard = function tasksDashboardRouter(req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (authorize === undefined) {
      route(req, res, next);
      return;
    }
    let verdict: unknown;
    try {
      verdict = authorize(req as DashboardRequest, res as DashboardResponse);
    } catch (error) {
      next(error);
      return;
    }
    if (verdict === true) route(req, res, next);
    else if (isPromiseLike(verdict)) {
      verdict.then(
        (allowed) => (allowed === true ? route(req, res, next) : deny(res)),
        (error: unknown) => next(error),
      );
    } else deny(res);
  } as TasksDashboard;
  dashboard.close = () => {
    unobserve?.();
    unobserve = undefined;
    streams.close();
    queue?.stop();
  };
  return dashboard;
}
