// Child processes for the reliability suite: start a TypeScript server with tsx, wait on its stdout lines and its exit, kill leftovers.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const TASK_SERVER = path.join(ROOT, '__tests__/fixtures/task-server.ts');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A JSON message the fixture printed on stdout: `{ event, ... }`. */
export type Message = { readonly event: string } & Record<string, unknown>;

interface Waiter {
  readonly match: (line: string) => boolean;
  readonly resolve: (line: string) => void;
  readonly reject: (error: Error) => void;
}

const alive = new Set<ChildProcess>();

export class Child {
  readonly process: ChildProcess;
  /** Every complete stdout line so far, in order. */
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  #partial = '';
  #waiters: Waiter[] = [];
  #exit: Exit | undefined;

  constructor(script: string, env: Record<string, string>, nodeOptions: readonly string[] = []) {
    // EXPRESS_VERSION and NODE_ENV=test (which keeps Express's final handler quiet) come through from jest's environment.
    this.process = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', script], {
      cwd: ROOT,
      // REDIS_URL from the shell would switch the demo to queue mode: these children run tasks in process.
      env: { ...process.env, REDIS_URL: '', ...env },
      // stdin stays open for the child's life: the task-server fixture exits when it ends (its parent died).
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    alive.add(this.process);
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#read(chunk));
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // 'close' rather than 'exit': by then stdout has been read to its end.
    this.exited = once(this.process, 'close').then(([code, signal]) => {
      alive.delete(this.process);
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

  /** Resolves with the first JSON message whose `event` is `event` (and that `match` accepts, if given). */
  async message(event: string, match: (message: Message) => boolean = () => true): Promise<Message> {
    const accepts = (line: string): boolean => {
      const parsed = parse(line);
      return parsed !== undefined && parsed.event === event && match(parsed);
    };
    return parse(await this.line(accepts))!;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    this.process.kill(signal);
    return this.exited;
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
    return new Error(`child ${what}${how}\nstdout:\n${this.lines.join('\n').slice(-2000)}\nstderr:\n${this.stderr.slice(-4000)}`);
  }
}

function parse(line: string): Message | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Message;
  } catch {
    return undefined;
  }
}

/** Starts the task-server fixture and resolves once it listens, with its port. */
export async function startTaskServer(
  env: Record<string, string>,
  nodeOptions: readonly string[] = [],
): Promise<{ child: Child; port: number }> {
  const child = new Child(TASK_SERVER, env, nodeOptions);
  const listening = await child.message('listening');
  return { child, port: listening.port as number };
}

/** Kills every child still running (for afterEach/afterAll), so that a failed test leaves no process behind. */
export async function killChildren(): Promise<void> {
  const running = [...alive];
  await Promise.all(
    running.map((child) => {
      const closed = once(child, 'close');
      child.kill('SIGKILL');
      return closed;
    }),
  );
}

/** A port that was free a moment ago, for servers that cannot listen on port 0 and say which port they got. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
