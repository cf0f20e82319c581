// Thread tasks for bench/scenarios/isolation.mjs, on the built package: a CPU loop of a given length, and a trivial task.
const { defineTask } = require('../dist/index.js');

/** Keeps its thread's CPU busy for `ms`, as resizing an image or hashing would. */
function spin(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003;
  return x;
}

module.exports = {
  spin,
  cpuTask: defineTask('cpuTask', (ms) => void spin(ms), { thread: true }),
  trivialThreadTask: defineTask('trivialThreadTask', (email) => void email.length, { thread: true }),
};
