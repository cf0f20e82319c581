// The one set of test helpers: the Express under test and one app builder, ports and servers, waiting on promises,
// events and child processes (never on the clock), HTTP load, and capturing what the package reports.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { format } from 'node:util';
import createDebug from 'debug';
import type { Request, Response } from 'express';
import { type BackgroundTasksMiddleware, type BackgroundTasksOptions, backgroundTasks, type TaskInfo } from '../lib/index.js';

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------------------------------------------------------
// Express and the app under test

/** The Express under test: EXPRESS_VERSION=4 runs the suite against Express 4 (the express4 alias). */
export function loadExpress(): typeof import('express') {
  // biome-ignore lint/style/noCommonJs: the Express version is chosen at run time.
  return process.env.EXPRESS_VERSION === '4' ? require('express4') : require('express');
}

const express = loadExpress();

/**
 * The one test app: a fresh Express app with backgroundTasks(options) mounted, and the middleware itself (`bg`) for
 * stats() and drain(). Given a handler, it also answers every method on `/` with it.
 */
export function appWith(
  options?: BackgroundTasksOptions,
  handler?: (req: Request, res: Response) => void,
): { app: import('express').Express; bg: BackgroundTasksMiddleware } {
  const bg = backgroundTasks(options);
  const app = express();
  app.use(bg);
  if (handler !== undefined) app.all('/', handler);
  return { app, bg };
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting on promises

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves once drain() reports idle: tasks have settled and counters are final. */
export async function settled(middleware: BackgroundTasksMiddleware): Promise<void> {
  const result = await middleware.drain();
  if (!result.drained) throw new Error('drain() did not drain');
}

// ---------------------------------------------------------------------------------------------------------------
// What the package reports: onError calls and debug output

export interface Failure {
  error: unknown;
  info: TaskInfo;
}

/** An onError that records every call, and the calls so far. */
export function collectErrors(): { failures: Failure[]; onError: (error: unknown, info: TaskInfo) => void } {
  const failures: Failure[] = [];
  return { failures, onError: (error, info) => failures.push({ error, info }) };
}

/** Turns the package's debug output on and records its lines until restore() (call it in a finally). */
export function captureDebug(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const previousLog = createDebug.log;
  const previous = createDebug.disable();
  createDebug.enable('express-background-tasks');
  createDebug.log = (...args: unknown[]) => lines.push(format(...args));
  return {
    lines,
    restore() {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previous) createDebug.enable(previous);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Ports and servers

/** Listens on a port the system picks and resolves with it. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A port that was free a moment ago, for servers that cannot listen on port 0 and say which port they got. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP load: many requests over a keep-alive agent, a bounded number in flight

export interface Reply {
  readonly path: string;
  readonly status: number;
  readonly body: string;
}

function send(agent: http.Agent, port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ path, status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends one request per path, at most `inFlight` at once, and resolves with the replies in the order of `paths`. */
export async function sendAll(port: number, paths: readonly string[], { method = 'POST', inFlight = 50 } = {}): Promise<Reply[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const replies: Reply[] = new Array(paths.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const index = next++;
      replies[index] = await send(agent, port, method, paths[index]!);
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, paths.length) }, worker));
  } finally {
    agent.destroy();
  }
  return replies;
}

/** Counts replies by status code. */
export function byStatus(replies: readonly Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: a TypeScript server started with tsx, waited on through its stdout lines and its exit

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

/** A child process whose stdout is read line by line, and waited on by line or by exit: the base of every test child. */
export class LineReader {
  readonly process: ChildProcess;
  /** Every complete stdout line so far, in order. */
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  #partial = '';
  #waiters: Waiter[] = [];
  #exit: Exit | undefined;

  constructor(child: ChildProcess) {
    this.process = child;
    alive.add(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#read(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // 'close' rather than 'exit': by then stdout and stderr have been read to their end.
    this.exited = once(child, 'close').then(([code, signal]) => {
      alive.delete(child);
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      for (const waiter of this.#waiters) waiter.reject(this.failure('exited before printing the line waited for'));
      this.#waiters = [];
      return this.#exit;
    });
  }

  /** How the child ended, once it has. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Resolves with the first stdout line (already printed or still to come) that `match` accepts; rejects if the child exits first. */
  line(match: (line: string) => boolean): Promise<string> {
    const found = this.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#exit !== undefined) return Promise.reject(this.failure('exited before printing the line waited for'));
    return new Promise((resolve, reject) => this.#waiters.push({ match, resolve, reject }));
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

  protected failure(what: string): Error {
    const exit = this.#exit;
    const how = exit === undefined ? '' : ` (code ${exit.code}, signal ${exit.signal})`;
    return new Error(`child ${what}${how}\n${this.output()}`);
  }
}

/** A fixture script under `node --import tsx` that talks in JSON lines (`{ event, ... }`). */
export class Child extends LineReader {
  constructor(script: string, env: Record<string, string>, nodeOptions: readonly string[] = []) {
    // EXPRESS_VERSION and NODE_ENV=test (which keeps Express's final handler quiet) come through from jest's environment.
    super(
      spawn(process.execPath, [...nodeOptions, '--import', 'tsx', script], {
        cwd: ROOT,
        // REDIS_URL from the shell would switch the demo to queue mode: these children run tasks in process.
        env: { ...process.env, REDIS_URL: '', ...env },
        // stdin stays open for the child's life: the task-server fixture exits when it ends (its parent died).
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** Resolves with the first JSON message whose `event` is `event` (and that `match` accepts, if given). */
  async message(event: string, match: (message: Message) => boolean = () => true): Promise<Message> {
    const accepts = (line: string): boolean => {
      const parsed = parseMessage(line);
      return parsed !== undefined && parsed.event === event && match(parsed);
    };
    return parseMessage(await this.line(accepts))!;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    this.process.kill(signal);
    return this.exited;
  }
}

function parseMessage(line: string): Message | undefined {
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
