// Types res.locals.background for every Express app that imports this package (Express 4 and 5 typings).
import type { BackgroundTasks } from './background-tasks.js';

declare global {
  // biome-ignore lint/style/noNamespace: Express's typings are augmented through this global namespace.
  namespace Express {
    interface Locals {
      /** This response's background tasks, attached by the backgroundTasks() middleware. */
      background: BackgroundTasks;
    }
  }
}
