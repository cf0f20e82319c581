// Child processes for the demo tests: `npm run demo` (in a process group of its own, as a terminal runs it) or a demo
// script under `node --import tsx`; waiting on stdout lines and exits; a throwaway redis-server. Node builtins only.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Waiter {
  readonly match: (line: string) => boolean;
  readonly resolve: (line: string) => void;
  readonly reject: (error: Error) => void;
}

const alive = new Set<Proc>();

// npm must not see the npm_* variables of an `npm test` that started jest: they would change its idea of the project.
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS'),
  );
  // REDIS_URL from the shell would switch the demo to queue mode: only the tests that want a queue set it.
  return { ...inherited, REDIS_URL: '', ...env };
}

/** A child process whose stdout is read line by line. */
export class Proc {
  readonly process: ChildProcess;
  /** Every complete stdout line so far, in order. */
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  readonly #group: boolean;
  #partial = '';
  #waiters: Waiter[] = [];
  #exit: Exit | undefined;

  constructor(command: string, args: readonly string[], env: Record<string, string>, { group = false } = {}) {
    this.#group = group;
    // detached: a process group (and session) of its own, so that a signal can go to the whole group as Ctrl-C does.
    this.process = spawn(command, args, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: group });
    alive.add(this);
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#read(chunk));
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // 'close' rather than 'exit': by then stdout and stderr have been read to their end.
    this.exited = once(this.process, 'close').then(([code, signal]) => {
      alive.delete(this);
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      for (const waiter of this.#waiters) waiter.reject(this.#failure('exited before printing the line waited for'));
      this.#waiters = [];
      return this.#exit;
    });
  }

  /** Resolves with the first stdout line (already printed or still to come) that `match` accepts; rejects if the child exits first. */
  line(match: (line: string) => boolean): Promise<string> {
    const found = this.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#exit !== undefined) return Promise.reject(this.#failure('exited before printing the line waited for'));
    return new Promise((resolve, reject) => this.#waiters.push({ match, resolve, reject }));
  }

  /** Sends `signal` to the child's pid (what `kill <pid>` or a process manager does). */
  signal(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  /** Sends `signal` to the child's whole process group, as a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.#group) throw new Error('signalGroup(): start the child with { group: true }');
    process.kill(-this.process.pid!, signal);
  }

  /** Kills the child (and its group) if it still runs, and waits for it. */
  async kill(): Promise<void> {
    if (this.#exit !== undefined) return;
    try {
      if (this.#group) process.kill(-this.process.pid!, 'SIGKILL');
      else this.process.kill('SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }

  /** What the child printed, for assertion messages. */
  output(): string {
    return `stdout:\n${this.lines.join('\n').slice(-2000)}\nstderr:\n${this.stderr.slice(-4000)}`;
  }

  #read(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      const matched = this.#waiters.filter((waiter) => waiter.match(line));
      this.#waiters = this.#waiters.filter((waiter) => !matched.includes(waiter));
      for (const waiter of matched) waiter.resolve(line);
    }
  }

  #failure(what: string): Error {
    const exit = this.#exit;
    const how = exit === undefined ? '' : ` (code ${exit.code}, signal ${exit.signal})`;
    return new Error(`child ${what}${how}\n${this.output()}`);
  }
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** `npm run <script>` in a process group of its own, as a user starts it in a terminal. */
export function npmRun(script: string, env: Record<string, string>): Proc {
  return new Proc(npm, ['run', script], env, { group: true });
}

/** A demo script run directly under `node --import tsx` (faster than through npm, for what npm changes nothing in). */
export function tsxNode(script: string, env: Record<string, string>): Proc {
  return new Proc(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], env);
}

/** Kills every child still running (for afterEach), so that a failed test leaves no process behind. */
export async function killChildren(): Promise<void> {
  await Promise.all([...alive].map((child) => child.kill()));
}

/** A TCP port that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A port held by a listening server of this process until `close()`. */
export async function busyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  server.listen(0);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The demo with a port of its own (one that was free a moment ago), once it has printed that it listens. */
export async function startDemo(env: Record<string, string>, via: 'npm' | 'node' = 'npm'): Promise<{ demo: Proc; port: number }> {
  const port = await freePort();
  const full = { PORT: String(port), ...env };
  const demo = via === 'npm' ? npmRun('demo', full) : tsxNode('demo/server.ts', full);
  await demo.line((line) => line.startsWith('Demo listening on '));
  return { demo, port };
}

/** POST /register?email=... (no email when undefined), with the answer's status and JSON body. */
export async function register(port: number, email?: string): Promise<{ status: number; body: unknown }> {
  const query = email === undefined ? '' : `?email=${encodeURIComponent(email)}`;
  const response = await fetch(`http://127.0.0.1:${port}/register${query}`, { method: 'POST' });
  return { status: response.status, body: await response.json() };
}

let redisBinary: boolean | undefined;

/** Whether `redis-server` (Debian's package) is on PATH. */
export function hasRedisServer(): boolean {
  redisBinary ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  return redisBinary;
}

/** describe(), or describe.skip() saying why, when there is no redis-server; under CI=true it never skips. */
export function describeWithRedis(name: string, fn: () => void): void {
  if (process.env.CI === 'true' || hasRedisServer()) describe(name, fn);
  else describe.skip(`${name} (skipped: redis-server is not on PATH; install Debian's redis-server package)`, fn);
}

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** A throwaway redis-server without persistence, on a port that was free a moment ago. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = new Proc('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {});
  alive.delete(child); // lives for a whole describe block: stop() ends it, killChildren() after each test leaves it
  process.once('exit', () => child.process.kill('SIGKILL'));
  await child.line((line) => line.includes('Ready to accept connections'));
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.signal('SIGTERM');
      await child.exited;
    },
  };
}
