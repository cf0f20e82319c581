// The hand-rolled lazy onFinished() list: the floor the unused, register and overhead scenarios measure the middleware against.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const onFinished = require('on-finished');

/**
 * The floor for a listener that also catches aborts: a list object in res.locals per request, on-finished attached
 * lazily, at the first task. With `store`, each task runs inside `als.run()`, the floor for anything that gives a task
 * a store of its own (taskSignal() does). A task that fails goes to `reportFailure(error)`.
 */
export function onFinishedLoop(reportFailure, store) {
  return (_req, res, next) => {
    let list;
    res.locals.background = {
      addTask(fn, ...args) {
        if (list !== undefined) return void list.push([fn, args]);
        list = [[fn, args]];
        onFinished(res, async () => {
          for (const [f, a] of list) {
            try {
              await (store === undefined ? f(...a) : store.run(a, f, ...a));
            } catch (error) {
              reportFailure(error);
            }
          }
        });
      },
    };
    next();
  };
}
