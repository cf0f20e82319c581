// Type tests (tsc only, not jest): backgroundTasks() options, their readonly-ness, and the middleware's type.
import express from 'express';
import {
  type BackgroundTasksMiddleware,
  type BackgroundTasksOptions,
  backgroundTasks,
  type ErrorHandler,
  type HandOff,
  type QueueRunner,
  type SkipPredicate,
  type TaskInfo,
} from '../../lib/index.js';

const runner: QueueRunner = { enqueue: async (tasks, options) => void [tasks.length, options.stopOnError, options.timeout] };
const onError: ErrorHandler = (error: unknown, info: TaskInfo) => {
  const name: string = info.name;
  const method: string = info.method;
  const url: string = info.url;
  const attempts: number = info.attempts;
  void [error, name, method, url, attempts];
};
const skip: SkipPredicate = (req, res) => req.method === 'HEAD' || res.statusCode >= 500;
// Written against Express's own Request (whose params Express 5 types as string | string[]).
const skipTyped: SkipPredicate = (req: express.Request) => req.params.id === undefined;
void skipTyped;

const all: BackgroundTasksOptions = {
  onError,
  skip,
  stopOnError: true,
  timeout: 30_000,
  concurrency: 20,
  maxQueued: 10_000,
  handOff: 'before-response',
  checkArgs: true,
  runner,
};
const handOff: HandOff = 'after-response';
backgroundTasks({ runner, handOff });
// A runner whose enqueue resolves to the id of the list's last task (for a later part's `after`).
backgroundTasks({ runner: { enqueue: async (_tasks, options) => (options.hold === false ? 'last-id' : options.after) } });
const middleware: BackgroundTasksMiddleware = backgroundTasks(all);
backgroundTasks();
backgroundTasks({});
backgroundTasks({ timeout: Number.POSITIVE_INFINITY, onError: (error) => console.error(error) });
backgroundTasks({ onError: async () => undefined });
express().use(middleware);
express().use('/api', backgroundTasks({ concurrency: 4 }));
express.Router().use(backgroundTasks());

// @ts-expect-error: options are readonly
all.timeout = 5;
// @ts-expect-error: options are readonly
all.runner = undefined;
// @ts-expect-error: timeout is a number of ms
backgroundTasks({ timeout: '30s' });
// @ts-expect-error: concurrency is a number
backgroundTasks({ concurrency: '4' });
// @ts-expect-error: maxQueued is a number
backgroundTasks({ maxQueued: null });
// @ts-expect-error: stopOnError is a boolean
backgroundTasks({ stopOnError: 'yes' });
// @ts-expect-error: checkArgs is a boolean
backgroundTasks({ checkArgs: 1 });
// @ts-expect-error: onError is a function
backgroundTasks({ onError: 'console.error' });
// @ts-expect-error: onError receives unknown, not Error
backgroundTasks({ onError: (error: Error) => console.error(error.message) });
// @ts-expect-error: skip returns a boolean
backgroundTasks({ skip: () => 'no' });
// @ts-expect-error: skip answers synchronously; a promise would count as true (refused at run time too)
backgroundTasks({ skip: async () => false });
// @ts-expect-error: options are a plain object, not a Map
backgroundTasks(new Map([['maxQueued', 1]]));
// @ts-expect-error: a runner needs enqueue()
backgroundTasks({ runner: {} });
// @ts-expect-error: a runner's enqueue returns a promise
backgroundTasks({ runner: { enqueue: () => undefined } });
// @ts-expect-error: handOff is 'after-response' or 'before-response'
backgroundTasks({ handOff: 'before' });
// @ts-expect-error: a runner's enqueue resolves to a string or nothing
backgroundTasks({ runner: { enqueue: async () => 42 } });
// @ts-expect-error: unknown option (a typo)
backgroundTasks({ concurency: 2 });
// @ts-expect-error: options are an object
backgroundTasks('fast');
// @ts-expect-error: the factory takes one argument
backgroundTasks({}, {});
