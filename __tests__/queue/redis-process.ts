// Test helper: a redis-server on a fixed port that a test can kill (SIGKILL), restart on the same port, freeze and resume.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers.js';
import { spawnRedis } from './support.js';

/**
 * One redis-server that outlives its kills: `durable` makes it write every command to its append-only file before
 * answering (`--appendonly yes --appendfsync always`), so that a SIGKILL loses nothing Redis said it stored.
 */
export class RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly #args: string[];
  readonly #dir: string;
  #child: ChildProcess | undefined;
  readonly #onExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  private constructor(port: number, durable: boolean, extraArgs: readonly string[]) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = mkdtempSync(path.join(tmpdir(), 'ebt-redis-'));
    this.#args = ['--dir', this.#dir, ...(durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : []), ...extraArgs];
    process.once('exit', this.#onExit);
  }

  /** A port of its own, with nothing listening yet: start() when the test wants Redis up. `extraArgs` come last (they win). */
  static async create(durable = false, extraArgs: readonly string[] = []): Promise<RedisProcess> {
    return new RedisProcess(await freePort(), durable, extraArgs);
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts (or restarts) the server on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error('redis-server is already running');
    this.#child = await spawnRedis(this.port, this.#args);
  }

  /** Kills it at once (no save, no goodbye to clients) and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT'); // a frozen process would not die of SIGKILL any later, but make it plain
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes it: connections stay open and nothing answers. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills the server and removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    process.off('exit', this.#onExit);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
