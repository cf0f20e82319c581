// The thread tasks of the CommonJS consumer: found by the threads by their defineTask names.
const { threadId } = require('node:worker_threads');
const { defineTask } = require('express-background-tasks');

exports.recordThread = defineTask(
  'recordThread',
  (slots) => {
    Atomics.store(slots, 1, threadId);
    Atomics.add(slots, 0, 1);
  },
  { thread: true },
);
