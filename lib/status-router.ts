// taskStatusRouter(): GET /:id answers a task's status record, GET /:id/events streams it (Server-Sent Events); owner checks. No Express import.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBoolean, checkFunction, checkTimeout, invalid, type OptionTable, parseWithTable, received } from './check.js';
import type { SkipRequest } from './options.js';
import { SSE_HEARTBEAT, sseEvent, startEventStream } from './sse.js';
import { type StatusStore, statusOf } from './status-store.js';
import { FINAL_STATES, feedOf } from './task-events.js';
import type { FoundRecord, TaskRecord } from './task-record.js';

/** Decides whether a request may read a record: true allows; anything else answers 404, as for an unknown task. */
export type AuthorizeRecord = { bivariant(req: SkipRequest, record: TaskRecord): boolean | Promise<boolean> }['bivariant'];

export interface TaskStatusRouterOptions {
  /** Decides, sync or async, whether the request may read the record; replaces the owner check. */
  readonly authorize?: AuthorizeRecord;
  /** Serve any record to anyone who has its id (the id is unguessable), without an owner check: must be said explicitly. */
  readonly public?: boolean;
  /** How often an open event stream sends a comment line, in ms, so that proxies keep it open. Default 15000. */
  readonly heartbeat?: number;
}

/** The router: a plain `(req, res, next)` handler; mount it with `app.use('/tasks', taskStatusRouter(background, ...))`. */
export type TaskStatusRouter = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

interface RouterSettings {
  readonly authorize: AuthorizeRecord | undefined;
  readonly public: boolean;
  readonly heartbeat: number;
}

const WHERE = 'taskStatusRouter()';

const OPTIONS: OptionTable<RouterSettings> = {
  authorize: (value) => checkFunction<AuthorizeRecord | undefined>(WHERE, 'authorize', value, { fallback: undefined }),
  public: (value) => checkBoolean(WHERE, 'public', value, { fallback: false }),
  heartbeat: (value) => checkTimeout(WHERE, 'heartbeat', value, { fallback: 15_000, infinity: false, why: 'a stream needs its heartbeat' }),
};

/** `/<id>` or `/<id>/events`, relative to where the router is mounted. */
const ROUTE = /^\/([^/]+)(\/events)?\/?$/;
/** What a task id can look like (a UUID, or a queue's own job id); anything else is unknown at once. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const UNKNOWN = { error: 'unknown task' };

/**
 * An Express router for task status records. `GET /:id` answers the record as JSON (200), or 404
 * `{ "error": "unknown task" }` for an unknown, expired or forbidden id. `GET /:id/events` streams it as Server-Sent
 * Events: one `event: status` at once and on every change, until the final state ends the stream. Access: the status
 * option's `owner(req)` must match the owner the task was added under, or `options.authorize(req, record)` decides;
 * with neither, `options.public: true` must say that anyone with the id may read it.
 */
export function taskStatusRouter(middleware: unknown, options?: TaskStatusRouterOptions): TaskStatusRouter {
  if (feedOf(middleware) === undefined) {
    invalid(`${WHERE}: argument "middleware" must be the middleware made by backgroundTasks(); received ${received(middleware)}`);
  }
  const store = statusOf(middleware);
  if (store === undefined) {
    invalid(`${WHERE}: the middleware keeps no status records; turn on its "status" option: backgroundTasks({ status: true })`);
  }
  const settings = parseWithTable(WHERE, options, OPTIONS);
  const owner = store.settings.owner;
  if (owner === undefined && settings.authorize === undefined && !settings.public) {
    invalid(
      `${WHERE}: say who may read a task's record: the "status.owner" option of backgroundTasks() (the owner of a request, such as its user id), ` +
        'the router\'s "authorize" option, or "public: true" to serve any record to anyone who has its id',
    );
  }
  const authorize = settings.authorize;
  const allowed = (req: IncomingMessage, found: FoundRecord): boolean | Promise<boolean> => {
    if (authorize !== undefined) return authorize(req as SkipRequest, found.record);
    if (owner !== undefined) return owner(req as SkipRequest) === found.owner;
    return true;
  };

  return function taskStatusRouter(req, res, next): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      next();
      return;
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const match = ROUTE.exec(query === -1 ? url : url.slice(0, query));
    if (match === null || (match[2] !== undefined && method !== 'GET')) {
      next();
      return;
    }
    let id: string;
    try {
      id = decodeURIComponent(match[1] as string);
    } catch {
      id = '';
    }
    if (!ID.test(id)) {
      sendJson(res, 404, UNKNOWN);
      return;
    }
    if (match[2] === undefined) answer(store, id, req, res, next, allowed);
    else stream(store, id, req, res, next, allowed, settings.heartbeat);
  };
}

type Allowed = (req: IncomingMessage, found: FoundRecord) => boolean | Promise<boolean>;

/** Whether the request may read the record; the same 404 answers a forbidden and an unknown task. */
function check(req: IncomingMessage, found: FoundRecord | undefined, allowed: Allowed): Promise<FoundRecord | undefined> {
  if (found === undefined) return Promise.resolve(undefined);
  try {
    return Promise.resolve(allowed(req, found)).then((ok) => (ok === true ? found : undefined));
  } catch (error) {
    return Promise.reject(error);
  }
}

function answer(
  store: StatusStore,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
  allowed: Allowed,
): void {
  store
    .find(id)
    .then((found) => check(req, found, allowed))
    .then((found) => (found === undefined ? sendJson(res, 404, UNKNOWN) : sendJson(res, 200, found.record)), next);
}

/**
 * The record as Server-Sent Events: `event: status` at once and on every change, then the stream ends after the final
 * state. A client that goes away stops the watch and the heartbeat at once.
 */
function stream(
  store: StatusStore,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
  allowed: Allowed,
  heartbeatMs: number,
): void {
  let checking = true;
  let done = false;
  let latest: FoundRecord | undefined;
  let last = '';
  let heartbeat: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    stop();
    clearInterval(heartbeat);
    res.off('close', finish);
  };
  const send = (found: FoundRecord | undefined): void => {
    if (found === undefined) {
      // Gone from the queue while watched: nothing more will come.
      finish();
      res.end();
      return;
    }
    const data = JSON.stringify(found.record);
    if (data !== last) {
      last = data;
      res.write(sseEvent('status', data));
    }
    if (FINAL_STATES.has(found.record.state)) {
      finish();
      res.end();
    }
  };
  const start = (found: FoundRecord): void => {
    startEventStream(res);
    heartbeat = setInterval(() => res.write(SSE_HEARTBEAT), heartbeatMs);
    heartbeat.unref();
    send(found);
  };
  res.on('close', finish);
  let first = true;
  const stop = store.watch(id, (found) => {
    if (done) return;
    if (!checking) {
      send(found);
      return;
    }
    latest = found;
    if (!first) return;
    first = false;
    check(req, found, allowed).then(
      (ok) => {
        if (done) return;
        checking = false;
        if (ok === undefined || latest === undefined) {
          finish();
          sendJson(res, 404, UNKNOWN);
        } else {
          start(latest);
        }
      },
      (error: unknown) => {
        finish();
        next(error);
      },
    );
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
