// backgroundTasks(): validates options once, then gives each request its task list at res.locals.background.
import { IncomingMessage, type ServerResponse } from 'node:http';
import { BackgroundTasks } from './background-tasks.js';
import { invalid } from './check.js';
import { InvalidArgumentError } from './errors.js';
import './locals.js';
import { type BackgroundTasksOptions, parseOptions } from './options.js';
import type { Stats } from './outcomes.js';
import { type DrainOptions, type DrainResult, Scheduler } from './scheduler.js';
import { STATUS } from './status-store.js';
import { FEED } from './task-events.js';

type Next = (error?: unknown) => void;

/** The middleware, with the app-wide controls of its tasks. */
export interface BackgroundTasksMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  /** A snapshot of the counters. */
  stats(): Stats;
  /** Waits until no task is queued or running (see DrainOptions for a deadline). */
  drain(options?: DrainOptions): Promise<DrainResult>;
}

const MISUSE = 'backgroundTasks was passed to app.use() itself; call it to make the middleware: app.use(backgroundTasks())';

export function backgroundTasks(options?: BackgroundTasksOptions): BackgroundTasksMiddleware {
  // app.use(backgroundTasks) calls the factory with (req, res, next): say so rather than hang the request.
  // biome-ignore lint/complexity/noArguments: the argument count is what tells the factory from the middleware.
  if (arguments.length > 1 || options instanceof IncomingMessage) invalid(MISUSE);
  const scheduler = new Scheduler(parseOptions(options));

  const middleware = function backgroundTasksMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const target = res as ServerResponse & { locals?: Record<string, unknown> };
    target.locals ??= Object.create(null) as Record<string, unknown>;
    const locals = target.locals;
    // Mounted twice (app and router), the first mount owns the list, so that nothing runs twice.
    const existing = locals.background;
    if (existing === undefined) {
      // Nothing more is allocated until the first addTask: a request that adds no task costs one small object.
      // Not enumerable, so that code listing res.locals (res.json(res.locals), views, spreads) does not see it.
      Object.defineProperty(locals, 'background', {
        value: new BackgroundTasks(scheduler, req, res),
        writable: true,
        configurable: true,
        enumerable: false,
      });
    } else if (!(existing instanceof BackgroundTasks)) {
      next(new InvalidArgumentError('res.locals.background is already set to something else; backgroundTasks() needs that name'));
      return;
    }
    next();
  } as BackgroundTasksMiddleware;
  middleware.stats = () => scheduler.stats();
  middleware.drain = (drainOptions) => scheduler.drain(drainOptions);
  // For the package's own entries (status router, dashboard, test kit), never enumerated.
  Object.defineProperty(middleware, FEED, { value: scheduler.feed });
  if (scheduler.status !== undefined) Object.defineProperty(middleware, STATUS, { value: scheduler.status });
  return middleware;
}
