// Micro-benchmark of the middleware's own cost per request (no task, and one task), against the on-finished floor, in ns.
//
// npm run build && node bench/request-micro.mjs [--rounds=41] [--batch=2000] [--build=path/to/dist ...] [--json]
// (npm run bench runs it as its scenario "overhead", bench/scenarios/overhead.mjs, with --json)
//
// The HTTP scenarios (unused, register) measure a whole request, about 30-45 us of CPU on Node 24, where the part this
// package adds is a few hundred ns: on a shared machine their rounds swing more than that. Here one process makes real
// IncomingMessage/ServerResponse objects (no socket), runs one system's middleware on them, adds the task (register),
// and emits 'finish', so that on-finished calls the system's listener exactly as it does after a real response; the
// systems take turns in batches, and each figure is the median over the rounds of a batch's time per request. "base" is
// the objects alone; every other line is given minus base, so that it reads as what that system adds to a request.
// Each --build=<dir> (a built dist/ of another commit) is one more system, to compare builds in the same run.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { onFinishedLoop } from './lib/floor.mjs';

const require = createRequire(import.meta.url);

function arg(name, fallback) {
  const value = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]);
  return value > 0 ? value : fallback;
}
const ROUNDS = arg('rounds', 41);
const BATCH = arg('batch', 2000);
const builds = [
  { name: 'this build', dir: path.resolve(import.meta.dirname, '../dist') },
  ...process.argv.filter((a) => a.startsWith('--build=')).map((a) => ({ name: a.slice(8), dir: path.resolve(a.slice(8)) })),
];

let ran = 0;
const sendEmail = (email) => {
  if (email.length > 0) ran++;
};
let failures = 0;
const reportFailure = () => {
  failures++;
};

/** The register scenario's floor (bench/lib/floor.mjs). */
const floor = onFinishedLoop(reportFailure);

const systems = [
  { name: 'base', use: undefined },
  { name: 'on-finished floor', use: floor },
  ...builds.map(({ name, dir }) => ({ name, use: require(path.join(dir, 'index.js')).backgroundTasks() })),
];

function next() {}

/** One batch of requests through `use` (undefined: the objects alone); returns ns per request. */
function batch(use, register) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) {
    const req = new http.IncomingMessage(null);
    req.method = register ? 'POST' : 'GET';
    req.url = register ? '/register?email=you@example.com' : '/';
    const res = new http.ServerResponse(req);
    res.locals = Object.create(null); // as Express's own init does
    if (use !== undefined) {
      use(req, res, next);
      if (register) res.locals.background.addTask(sendEmail, 'you@example.com');
    }
    res.emit('finish');
  }
  return Number(process.hrtime.bigint() - started) / BATCH;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const json = process.argv.includes('--json');
const result = { node: process.version, rounds: ROUNDS, batch: BATCH };
for (const register of [false, true]) {
  const samples = systems.map(() => []);
  for (let round = -3; round < ROUNDS; round++) {
    // A different order each round, so that no system always follows the same one (GC debt, caches).
    const order = systems.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const ns = batch(systems[i].use, register);
      if (round >= 0) samples[i].push(ns);
    }
  }
  const base = median(samples[0]);
  const floor = median(samples[1]) - base;
  const builds = systems.slice(2).map((system, i) => ({ name: system.name, addedNs: median(samples[i + 2]) - base }));
  result[register ? 'register' : 'unused'] = { baseNs: base, floorNs: floor, builds };
  if (json) continue;
  console.log(`${register ? 'register (one task)' : 'unused (no task)'}: ${process.version}, ${ROUNDS} rounds of ${BATCH}`);
  console.log(`  base (objects + 'finish')   ${base.toFixed(0)} ns/request`);
  console.log(`  on-finished floor           +${floor.toFixed(0)} ns`);
  for (const { name, addedNs } of builds) {
    const over = addedNs - floor;
    console.log(`  ${name.padEnd(28)}+${addedNs.toFixed(0)} ns   (${over >= 0 ? '+' : ''}${over.toFixed(0)} ns over the floor)`);
  }
}
if (json) console.log(JSON.stringify(result));
// The tasks ran (a sync task runs inside the 'finish' listener), and none failed.
if (ran === 0 || failures > 0) {
  console.error(`request-micro: ${ran} tasks ran, ${failures} failed`);
  process.exit(1);
}
