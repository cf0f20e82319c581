// Checks the packed package as users get it: build, pack, real CJS/ESM/TypeScript consumers over HTTP, publint and attw.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const PKG = 'express-background-tasks';
const MARKER = 'task ran after the response';

// Child npm processes must not inherit `npm run`'s idea of the project (npm_config_local_prefix would point them back here).
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$)/.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS',
  ),
);

const results = { passed: 0, failed: 0, skipped: 0 };

function report(name, outcome, detail = '') {
  if (outcome === 'ok') {
    results.passed++;
    console.log(`ok - ${name}${detail ? ` (${detail})` : ''}`);
  } else if (outcome === 'skip') {
    results.skipped++;
    console.log(`ok - ${name} # SKIP ${detail}`);
  } else {
    results.failed++;
    const [first, ...rest] = String(detail).trim().split('\n');
    console.log(`not ok - ${name}: ${first}`);
    for (const line of rest.slice(-40)) console.log(`  # ${line}`);
  }
}

/** Runs a command; resolves { code, out } (stdout and stderr interleaved), never rejects. */
function run(command, args, { cwd = root, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => {
      out += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}\n${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), out });
    });
  });
}

/** Hides npm's noise about the machine's own config, so that a failure shows what matters. */
const clean = (out) =>
  out
    .split('\n')
    .filter((line) => !/^npm warn Unknown (user|global|env|project) config/.test(line))
    .join('\n');

// The consumer app, in the module syntax of each consumer. It serves one real request whose handler adds a task,
// then checks that the task ran, after the response had finished, and exits 0; anything else exits 1.
function serverSource(kind) {
  const ts = kind === 'ts' || kind === 'mts';
  const imports = {
    cjs: `const express = require('express');\nconst { backgroundTasks } = require('${PKG}');`,
    mjs: `import express from 'express';\nimport { backgroundTasks } from '${PKG}';`,
    ts: `import express from 'express';\nimport { type BackgroundTasks, backgroundTasks } from '${PKG}';`,
    mts: `import express from 'express';\nimport { type BackgroundTasks, backgroundTasks } from '${PKG}';`,
  }[kind];
  const typed = (code, type) => (ts ? `${code}: ${type}` : code);
  return `${imports}

const seen${ts ? ': Array<{ finished: boolean; length: number }>' : ''} = [];
function recordTask(${typed('email', 'string')}, ${typed('res', '{ writableFinished: boolean }')})${ts ? ': Promise<void>' : ''} {
  return Promise.resolve().then(() => {
    seen.push({ finished: res.writableFinished, length: email.length });
  });
}

const background = backgroundTasks();
const app = express();
app.use(background);
app.post('/register', (req, res) => {
  ${
    ts
      ? `// No cast: the package's Express.Locals augmentation types res.locals.background.
  const list: BackgroundTasks = res.locals.background;
  list.addTask(recordTask, String(req.query.email), res);
  // Type-checked, never run: if res.locals.background were any, the unused @ts-expect-error would fail tsc.
  const typeOnly = (): void => {
    // @ts-expect-error: addTask checks the arguments against the task's parameters
    res.locals.background.addTask(recordTask, 42, res);
  };
  void typeOnly;`
      : 'res.locals.background.addTask(recordTask, String(req.query.email), res);'
  }
  res.json({ registered: true });
});

const watchdog = setTimeout(() => {
  console.error('consumer: timed out');
  process.exit(1);
}, 15000);
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const address = server.address()${ts ? ' as import("node:net").AddressInfo' : ''};
    const response = await fetch(\`http://127.0.0.1:\${address.port}/register?email=a@example.com\`, { method: 'POST' });
    const body = await response.json();
    const drained = await background.drain();
    const stats = background.stats();
    const ok =
      response.status === 200 && body.registered === true && drained.drained && stats.succeeded === 1 &&
      seen.length === 1 && seen[0]${ts ? '!' : ''}.finished === true && seen[0]${ts ? '!' : ''}.length === 13;
    if (!ok) throw new Error('unexpected: ' + JSON.stringify({ status: response.status, body, drained, stats, seen }));
    console.log('${MARKER}: response finished before the task started');
    clearTimeout(watchdog);
    server.closeAllConnections();
    server.close();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
`;
}

function subpathSource(kind) {
  const load =
    kind === 'cjs'
      ? `const bull = require('${PKG}/bullmq');\nconst path = require.resolve('${PKG}/bullmq');`
      : `const bull = await import('${PKG}/bullmq');\nconst path = import.meta.resolve('${PKG}/bullmq');`;
  return `${load}
const names = Object.keys(bull).filter((name) => name !== 'default' && name !== '__esModule');
if (names.length === 0) throw new Error('no named exports from ${PKG}/bullmq');
console.log('bullmq subpath:', String(path).replace(/^.*node_modules/, 'node_modules'), names.join(', '));
`;
}

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    rootDir: 'src',
    outDir: 'out',
    strict: true,
    esModuleInterop: true,
    skipLibCheck: false,
    types: ['node'],
  },
  include: ['src'],
};

async function consumer(dir, { name, type, deps, files, compile, runs }) {
  const lines = [];
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `consumer-${name}`, private: true, type }, null, 2)}\n`);
  for (const [file, source] of Object.entries(files)) writeFileSync(join(dir, file), source);
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...deps], { cwd: dir });
  if (install.code !== 0) return [[`${name}: npm install`, 'fail', `exit ${install.code}\n${clean(install.out)}`]];
  if (compile) {
    const tsc = await run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 60_000 });
    lines.push([`${name}: type-checks with tsc (module nodenext, no cast)`, tsc.code === 0 ? 'ok' : 'fail', clean(tsc.out)]);
    if (tsc.code !== 0) return lines;
  }
  for (const [label, file, expect] of runs) {
    const result = await run(process.execPath, [file], { cwd: dir, timeoutMs: 30_000 });
    const passed = result.code === 0 && result.out.includes(expect);
    lines.push([`${name}: ${label}`, passed ? 'ok' : 'fail', passed ? '' : `exit ${result.code}\n${clean(result.out)}`]);
  }
  return lines;
}

async function main() {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'ebt-package-'));
  try {
    const build = await run('npm', ['run', 'build']);
    report('build', build.code === 0 ? 'ok' : 'fail', build.code === 0 ? '' : clean(build.out));
    if (build.code !== 0) return;

    // Built already: pack without re-running prepack.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work]);
    const tarballName = readdirSync(work).find((file) => file.endsWith('.tgz'));
    report('npm pack', tarballName ? 'ok' : 'fail', tarballName ?? (pack.code === 0 ? 'no tarball written' : clean(pack.out)));
    if (!tarballName) return;
    const tarball = join(work, tarballName);

    const listing = await run('tar', ['-tzf', tarball]);
    const files = listing.out.split('\n').filter(Boolean);
    const required = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/locals.d.ts'];
    const missing = required.filter((file) => !files.includes(`package/${file}`));
    const stray = files.filter(
      (file) => !/^package\/(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(file) || /\.test\./.test(file),
    );
    const tsSources = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
    const contentProblems = [
      ...missing.map((file) => `missing ${file}`),
      ...stray.map((file) => `unexpected ${file.slice('package/'.length)}`),
      ...tsSources.map((file) => `TypeScript source ${file.slice('package/'.length)}`),
    ];
    report(
      'tarball contents',
      contentProblems.length === 0 ? 'ok' : 'fail',
      contentProblems.length === 0 ? `${files.length} files` : contentProblems.join('; '),
    );

    const bullmqBuilt = existsSync(join(root, 'dist', 'bullmq', 'index.js'));
    const bullmqDeps = bullmqBuilt ? [`bullmq@${version('bullmq')}`, `ioredis@${version('ioredis')}`] : [];
    const express5 = `express@${version('express')}`;
    const express4 = `express@${version('express4')}`;
    const typesNode = `@types/node@${version('@types/node')}`;
    const subpathRuns = (kind, file) => (bullmqBuilt ? [[`${PKG}/bullmq subpath loads (${kind})`, file, 'bullmq subpath:']] : []);

    const consumers = [
      {
        name: 'CommonJS',
        type: 'commonjs',
        deps: [tarball, express5, ...bullmqDeps],
        files: { 'src/server.js': serverSource('cjs'), 'src/bullmq.js': subpathSource('cjs') },
        runs: [['require() and a background task over real HTTP', 'src/server.js', MARKER], ...subpathRuns('require', 'src/bullmq.js')],
      },
      {
        name: 'ESM',
        type: 'module',
        deps: [tarball, express5, ...bullmqDeps],
        files: { 'src/server.js': serverSource('mjs'), 'src/bullmq.js': subpathSource('mjs') },
        runs: [['named import and a background task over real HTTP', 'src/server.js', MARKER], ...subpathRuns('import', 'src/bullmq.js')],
      },
      {
        name: 'TypeScript (Express 5 types)',
        type: 'commonjs',
        deps: [tarball, express5, `@types/express@${version('@types/express')}`, typesNode, ...bullmqDeps],
        files: {
          'tsconfig.json': JSON.stringify(tsconfig, null, 2),
          'src/server.ts': serverSource('ts'),
          'src/server-esm.mts': serverSource('mts'),
          ...(bullmqBuilt
            ? { 'src/bullmq.ts': `import * as bull from '${PKG}/bullmq';\nconsole.log('bullmq subpath:', Object.keys(bull).join(', '));\n` }
            : {}),
        },
        compile: true,
        runs: [
          ['compiled CommonJS output serves a request and runs its task', 'out/server.js', MARKER],
          ['compiled ESM (.mts) output serves a request and runs its task', 'out/server-esm.mjs', MARKER],
          ...subpathRuns('typed import', 'out/bullmq.js'),
        ],
      },
      {
        name: 'TypeScript (Express 4 and its types)',
        type: 'commonjs',
        deps: [tarball, express4, `@types/express@${version('@types/express4')}`, typesNode],
        files: { 'tsconfig.json': JSON.stringify(tsconfig, null, 2), 'src/server.ts': serverSource('ts') },
        compile: true,
        runs: [['compiled output serves a request on Express 4 and runs its task', 'out/server.js', MARKER]],
      },
    ];
    const outcomes = await Promise.all(consumers.map((spec, i) => consumer(join(work, `consumer-${i}`), spec)));
    for (const lines of outcomes) for (const line of lines) report(...line);
    if (!bullmqBuilt) report(`${PKG}/bullmq subpath resolves`, 'skip', 'dist/bullmq/index.js is not built yet (lib/bullmq/ not written)');

    // publint on the very tarball the consumers installed; warnings count as failures.
    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const linted = await publint({ pack: { tarball: new Uint8Array(readFileSync(tarball)).buffer }, strict: true });
    // Until the bullmq entry point is built, its exports entry points at files that do not exist yet.
    const pending = (message) => !bullmqBuilt && message.path[0] === 'exports' && message.path[1] === './bullmq';
    const problems = linted.messages.filter((message) => !pending(message));
    const excluded = linted.messages.length - problems.length;
    report(
      'publint --strict',
      problems.length === 0 ? 'ok' : 'fail',
      problems.length === 0
        ? excluded > 0
          ? `./bullmq not checked: not built yet`
          : ''
        : `${problems.length} problems\n${problems.map((message) => `${message.type}: ${formatMessage(message, linted.pkg, { color: false })}`).join('\n')}`,
    );

    const attwArgs = [tarball, '--no-definitely-typed', '--format', 'ascii', '--no-color', '--no-emoji'];
    if (!bullmqBuilt) attwArgs.push('--exclude-entrypoints', './bullmq');
    const attw = await run(bin('attw'), attwArgs, { timeoutMs: 60_000 });
    report(
      'attw (are the types wrong, strict profile)',
      attw.code === 0 ? 'ok' : 'fail',
      attw.code === 0 ? (bullmqBuilt ? '' : './bullmq not checked: not built yet') : `exit ${attw.code}\n${clean(attw.out)}`,
    );
  } catch (error) {
    report('check-package itself', 'fail', error?.stack ?? String(error));
  } finally {
    if (process.env.KEEP_PACKAGE_CHECK) console.log(`# consumers kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
    mkdirSync(join(root, '.tmp'), { recursive: true });
    writeFileSync(join(root, '.tmp', 'package-check.json'), `${JSON.stringify(results)}\n`);
    console.log(
      `# package checks: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    process.exitCode = results.failed > 0 ? 1 : 0;
  }
}

await main();
