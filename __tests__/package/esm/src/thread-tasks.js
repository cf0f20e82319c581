// The thread tasks of the ESM consumer: found by the threads by their defineTask names.
import { threadId } from 'node:worker_threads';
import { defineTask } from 'express-background-tasks';

export const recordThread = defineTask(
  'recordThread',
  (slots) => {
    Atomics.store(slots, 1, threadId);
    Atomics.add(slots, 0, 1);
  },
  { thread: true },
);
