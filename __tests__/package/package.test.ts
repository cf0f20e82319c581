// The packed package as users get it: build and pack once, install the tarball into each consumer project of the
// fixture folders next to this file (in a temporary directory), type-check and run them, then publint and attw.
// Slow and needs the npm registry (or its cache): run by `npm run test:package`, never by the unit runs.
import { type SpawnOptions, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers.js';

jest.setTimeout(300_000);

const PKG = 'express-background-tasks';
/** What every consumer server prints once its task ran after its response had finished. */
const MARKER = 'task ran after the response';
/** The tarball's name in the work directory: each fixture's package.json depends on `file:../express-background-tasks.tgz`. */
const TARBALL = `${PKG}.tgz`;
const bin = (name: string): string => path.join(ROOT, 'node_modules', '.bin', name);

interface Consumer {
  /** The fixture folder under __tests__/package/. */
  readonly fixture: string;
  /** Type-checked and compiled with tsc (the fixture has a tsconfig.json). */
  readonly compile: boolean;
  /** Packages that must not be installed, for a consumer that has to do without them. */
  readonly absent?: readonly string[];
  /** Packages whose installed major version is checked: the fixture tests the version it claims to. */
  readonly majors?: Readonly<Record<string, number>>;
  /** [what it proves, file to run with node, a line its output must contain]. */
  readonly runs: ReadonlyArray<readonly [string, string, string]>;
  /** The oldest Node the fixture's dependencies support ([major, minor]); on an older Node it is skipped, saying why. */
  readonly minNode?: readonly [number, number];
}

const consumers: readonly Consumer[] = [
  {
    fixture: 'cjs',
    compile: false,
    majors: { express: 5 },
    runs: [
      ['require() and a background task over real HTTP', 'src/server.js', MARKER],
      [`${PKG}/bullmq subpath loads (require)`, 'src/bullmq.js', 'bullmq subpath:'],
      [`${PKG}/threads runs a task on a worker thread (require)`, 'src/threads.js', 'thread task ran on thread'],
      [`${PKG}/testing records and runs a task (require)`, 'src/testing.js', 'testing subpath: recorded, then ran'],
      [
        `${PKG}/dashboard serves its page and assets from the package (require)`,
        'src/dashboard.js',
        'dashboard subpath: served the page and 5 assets',
      ],
    ],
  },
  {
    fixture: 'esm',
    compile: false,
    majors: { express: 5 },
    runs: [
      ['named import and a background task over real HTTP', 'src/server.js', MARKER],
      [`${PKG}/bullmq subpath loads (import)`, 'src/bullmq.js', 'bullmq subpath:'],
      [`${PKG}/threads runs a task on a worker thread (import)`, 'src/threads.js', 'thread task ran on thread'],
      [`${PKG}/testing records and runs a task (import)`, 'src/testing.js', 'testing subpath: recorded, then ran'],
      [
        `${PKG}/dashboard serves its page and assets from the package (import)`,
        'src/dashboard.js',
        'dashboard subpath: served the page and 5 assets',
      ],
    ],
  },
  {
    fixture: 'ts-express5',
    compile: true,
    majors: { express: 5, '@types/express': 5 },
    runs: [
      ['compiled CommonJS output serves a request and runs its task', 'out/server.js', MARKER],
      ['compiled ESM (.mts) output serves a request and runs its task', 'out/server-esm.mjs', MARKER],
      [`${PKG}/bullmq subpath loads (typed import)`, 'out/bullmq.js', 'bullmq subpath:'],
      [`${PKG}/testing subpath runs runTask() (typed import)`, 'out/testing.js', 'testing subpath: runTask succeeded with 6'],
      [`${PKG}/dashboard subpath type-checks and mounts (typed import)`, 'out/dashboard.js', 'dashboard subpath: typed and mounted'],
    ],
  },
  {
    fixture: 'ts-express4',
    compile: true,
    majors: { express: 4, '@types/express': 4 },
    runs: [['compiled output serves a request on Express 4 and runs its task', 'out/server.js', MARKER]],
  },
  {
    // README "OpenTelemetry": the set of versions that install together on Node 20+ (SDK 2), with the in-memory exporter.
    fixture: 'otel-sdk2',
    compile: false,
    runs: [['OpenTelemetry SDK 2 set installs together; in-memory spans of a task (README setup)', 'src/spans.js', 'in-memory spans:']],
  },
  {
    // The same with the current SDK 3 set (api 1.10, @opentelemetry/sdk-trace), which needs Node 22.15+.
    fixture: 'otel-sdk3',
    compile: false,
    minNode: [22, 15],
    runs: [['OpenTelemetry SDK 3 set installs together; in-memory spans of a task (README setup)', 'src/spans.js', 'in-memory spans:']],
  },
  {
    // Worker-only: defineTask from the main entry and the worker's types from /bullmq, without @types/express.
    fixture: 'ts-no-express-types',
    compile: true,
    absent: ['@types/express'],
    runs: [],
  },
];

// Child npm processes must not inherit `npm run`'s idea of the project (npm_config_local_prefix would point them back here).
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$)/.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS',
  ),
);

interface Result {
  readonly code: number;
  /** stdout and stderr interleaved, without npm's noise about the machine's own config. */
  readonly out: string;
}

/** Runs a command; resolves with its exit code and output, never rejects (a test then says what went wrong). */
function run(command: string, args: readonly string[], { cwd = ROOT, timeoutMs = 180_000 } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const options: SpawnOptions = { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = spawn(command, args, options);
    let out = '';
    const collect = (chunk: Buffer): void => {
      out += chunk;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const timer = setTimeout(() => {
      out += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (code: number, extra = ''): void => {
      clearTimeout(timer);
      const clean = `${out}${extra}`
        .split('\n')
        .filter((line) => !/^npm warn Unknown (user|global|env|project) config/.test(line))
        .join('\n');
      resolve({ code, out: clean });
    };
    child.on('error', (error) => done(-1, `\n${error.message}`));
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : -1)));
  });
}

/** Fails with the command's output when it did not exit 0. */
function expectSuccess(what: string, result: Result): void {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.out.split('\n').slice(-60).join('\n')}`);
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/**
 * Pins each dependency of a fixture to the version installed here when it has the same major version (looking also
 * at this repository's `<name>4` alias, as for express4), so that npm --prefer-offline finds it in its cache.
 */
function pinToLocal(packageJson: string): void {
  const manifest = readJson(packageJson);
  const dependencies = manifest.dependencies as Record<string, string>;
  for (const [name, range] of Object.entries(dependencies)) {
    // An exact version is what the fixture tests (a set of versions that install together): left as it is.
    if (range.startsWith('file:') || /^\d+\.\d+\.\d+$/.test(range)) continue;
    const major = /\d+/.exec(range)?.[0];
    for (const local of [name, `${name}4`]) {
      const file = path.join(ROOT, 'node_modules', local, 'package.json');
      const version = existsSync(file) ? String(readJson(file).version) : undefined;
      if (version !== undefined && version.split('.')[0] === major) {
        dependencies[name] = version;
        break;
      }
    }
  }
  writeFileSync(packageJson, `${JSON.stringify(manifest, null, 2)}\n`);
}

let work: string;
let tarball: string;
let packed: Promise<Result>;
const installs = new Map<string, Promise<Result>>();
const compiles = new Map<string, Promise<Result>>();

/** Copies the fixture into the work directory and installs its dependencies, the tarball among them (once per fixture). */
function install(fixture: string): Promise<Result> {
  let installing = installs.get(fixture);
  if (installing === undefined) {
    installing = packed.then((pack) => {
      if (pack.code !== 0) return { code: -1, out: `not installed: build or pack failed\n${pack.out}` };
      const dir = path.join(work, fixture);
      cpSync(path.join(__dirname, fixture), dir, { recursive: true });
      pinToLocal(path.join(dir, 'package.json'));
      return run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: dir });
    });
    installs.set(fixture, installing);
  }
  return installing;
}

/** Type-checks and compiles the fixture with tsc (once per fixture), after its install. */
function compile(fixture: string): Promise<Result> {
  let compiling = compiles.get(fixture);
  if (compiling === undefined) {
    compiling = install(fixture).then((installed) =>
      installed.code === 0
        ? run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: path.join(work, fixture), timeoutMs: 120_000 })
        : { code: -1, out: `not compiled: npm install failed\n${installed.out}` },
    );
    compiles.set(fixture, compiling);
  }
  return compiling;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'ebt-package-'));
  packed = (async () => {
    const build = await run('npm', ['run', 'build']);
    if (build.code !== 0) return build;
    // Built already: pack without running prepack again.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work]);
    const name = readdirSync(work).find((file) => file.endsWith('.tgz'));
    if (name === undefined) return { code: pack.code === 0 ? -1 : pack.code, out: `no tarball written\n${pack.out}` };
    tarball = path.join(work, TARBALL);
    renameSync(path.join(work, name), tarball);
    return pack;
  })();
  // Every consumer installs at once; each test waits only for the one it checks.
  for (const { fixture, minNode } of consumers) if (supported(minNode)) void install(fixture);
});

afterAll(async () => {
  // Wait for whatever is still installing or compiling (after a failed test) before removing its directory.
  await Promise.all([...installs.values(), ...compiles.values()]);
  if (process.env.KEEP_PACKAGE_CHECK) console.log(`consumers kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

test('build and npm pack write a tarball', async () => {
  expectSuccess('build or pack', await packed);
  expect(existsSync(tarball)).toBe(true);
});

test('the tarball holds the built package and its documents, and nothing else (no tests, no TypeScript sources)', async () => {
  expectSuccess('build or pack', await packed);
  const listing = await run('tar', ['-tzf', tarball]);
  expectSuccess('tar', listing);
  const files = listing.out.split('\n').filter(Boolean);
  const required = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/locals.d.ts'];
  const missing = required.filter((file) => !files.includes(`package/${file}`));
  const stray = files.filter(
    (file) => !/^package\/(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(file) || /\.test\./.test(file),
  );
  const tsSources = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
  expect({ missing, stray, tsSources }).toEqual({ missing: [], stray: [], tsSources: [] });
  expect(files).toContain('package/dist/bullmq/index.js');
});

/** Whether this Node is at least `minNode` ([major, minor]). */
function supported(minNode: readonly [number, number] | undefined): boolean {
  if (minNode === undefined) return true;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > minNode[0] || (major === minNode[0] && minor >= minNode[1]);
}

/** PACKAGE_CONSUMERS=a,b checks only those fixtures (CI checks the Node 22.15+ one again on Node 24). */
const only = process.env.PACKAGE_CONSUMERS?.split(',');
const chosen = only === undefined ? consumers : consumers.filter(({ fixture }) => only.includes(fixture));
const runnable = chosen.filter(({ minNode }) => supported(minNode));
const tooOld = chosen.filter(({ minNode }) => !supported(minNode));
for (const { fixture, minNode } of tooOld) {
  test.skip(`consumer ${fixture} (skipped: needs Node ${minNode?.join('.')}+, this is ${process.versions.node})`, () => {});
}

describe.each(runnable)('consumer $fixture', ({ fixture, compile: typed, absent = [], majors = {}, runs }) => {
  test('npm install of the tarball and its dependencies', async () => {
    expectSuccess('npm install', await install(fixture));
    const modules = path.join(work, fixture, 'node_modules');
    expect(existsSync(path.join(modules, PKG, 'package.json'))).toBe(true);
    for (const [name, major] of Object.entries(majors)) {
      expect([name, Number(String(readJson(path.join(modules, name, 'package.json')).version).split('.')[0])]).toEqual([name, major]);
    }
    for (const name of absent) expect([name, existsSync(path.join(modules, name))]).toEqual([name, false]);
  });

  if (typed) {
    test('type-checks with tsc (module nodenext, skipLibCheck false, no cast)', async () => {
      expectSuccess('tsc', await compile(fixture));
    });
  }

  for (const [label, file, expected] of runs) {
    test(label, async () => {
      const ready = typed ? await compile(fixture) : await install(fixture);
      expectSuccess(typed ? 'tsc' : 'npm install', ready);
      const result = await run(process.execPath, [file], { cwd: path.join(work, fixture), timeoutMs: 30_000 });
      expectSuccess(`node ${file}`, result);
      expect(result.out).toContain(expected);
    });
  }
});

test('publint --strict on the tarball finds nothing', async () => {
  expectSuccess('build or pack', await packed);
  // publint is ESM only: run it in a child process rather than through jest's CommonJS transform.
  const script = `
    import { readFileSync } from 'node:fs';
    import { publint } from 'publint';
    import { formatMessage } from 'publint/utils';
    const tarball = new Uint8Array(readFileSync(process.argv[1])).buffer;
    const { messages, pkg } = await publint({ pack: { tarball }, strict: true });
    for (const message of messages) console.log(message.type + ': ' + formatMessage(message, pkg, { color: false }));
    console.log('publint: ' + messages.length + ' messages');
  `;
  const result = await run(process.execPath, ['--input-type=module', '-e', script, tarball]);
  expectSuccess('publint', result);
  expect(result.out.trim().split('\n')).toEqual(['publint: 0 messages']);
});

test('attw (are the types wrong, strict profile) on the tarball finds nothing', async () => {
  expectSuccess('build or pack', await packed);
  const result = await run(bin('attw'), [tarball, '--no-definitely-typed', '--format', 'ascii', '--no-color', '--no-emoji'], {
    timeoutMs: 120_000,
  });
  expectSuccess('attw', result);
});
