// Demo processes for the demo tests: `npm run demo` (in a process group of its own, as a terminal runs it) or a demo
// script under `node --import tsx`, read line by line (LineReader, from the shared helpers).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { freePort, killChildren as killOthers, LineReader, ROOT } from '../helpers.js';

export { describeWithRedis, hasRedisServer, type RedisServer, startRedis } from '../queue/support.js';
export { freePort, ROOT };

// npm must not see the npm_* variables of an `npm test` that started jest: they would change its idea of the project.
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS'),
  );
  // REDIS_URL from the shell would switch the demo to queue mode: only the tests that want a queue set it.
  return { ...inherited, REDIS_URL: '', ...env };
}

const alive = new Set<Proc>();

/** A demo process: `npm run` in a process group of its own (as a terminal runs it), or a script under tsx. */
export class Proc extends LineReader {
  readonly #group: boolean;

  constructor(command: string, args: readonly string[], env: Record<string, string>, { group = false } = {}) {
    // detached: a process group (and session) of its own, so that a signal can go to the whole group as Ctrl-C does.
    super(spawn(command, args, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: group }));
    this.#group = group;
    alive.add(this);
    void this.exited.then(() => alive.delete(this));
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
    if (this.exit !== undefined) return;
    try {
      if (this.#group) process.kill(-this.process.pid!, 'SIGKILL');
      else this.process.kill('SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
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

/** Kills every child still running (for afterEach), process groups included, so that a failed test leaves no process behind. */
export async function killChildren(): Promise<void> {
  await Promise.all([...alive].map((child) => child.kill()));
  await killOthers();
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
