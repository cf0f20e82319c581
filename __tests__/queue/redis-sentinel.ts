// Test helper: a master, one replica and one Sentinel (Debian's redis-server, `--sentinel` with a config file written to a temp dir) on free ports; the master can be killed and the promotion waited for.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, LineReader } from '../helpers.js';
import { RedisProcess } from './redis-process.js';

/** The master group's name, as ioredis's `name` option takes it. */
export const MASTER_NAME = 'mymaster';
/** How long the master may not answer before the Sentinel calls it down: short, so that a failover happens within the test. */
const DOWN_AFTER_MS = 1000;

export class RedisSentinel {
  readonly master: RedisProcess;
  readonly replica: RedisProcess;
  readonly #sentinel: LineReader;
  readonly #port: number;
  readonly #dir: string;

  private constructor(master: RedisProcess, replica: RedisProcess, sentinel: LineReader, port: number, dir: string) {
    this.master = master;
    this.replica = replica;
    this.#sentinel = sentinel;
    this.#port = port;
    this.#dir = dir;
  }

  /**
   * Starts the master, a replica of it and a Sentinel that monitors it (quorum 1), and resolves once the Sentinel
   * knows the replica and the replica is in sync: from then on, a failover can promote it.
   */
  static async start(): Promise<RedisSentinel> {
    const master = await RedisProcess.create(true);
    await master.start();
    const replica = await RedisProcess.create(false, ['--replicaof', '127.0.0.1', String(master.port)]);
    await replica.start();
    const dir = mkdtempSync(path.join(tmpdir(), 'ebt-sentinel-'));
    const port = await freePort();
    const config = path.join(dir, 'sentinel.conf'); // the Sentinel rewrites it: it must be its own, writable
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        '',
      ].join('\n'),
    );
    // The Sentinel prints its events (+slave, +switch-master, ...) on stdout: the test waits on those lines.
    const sentinel = new LineReader(spawn('redis-server', [config, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const set = new RedisSentinel(master, replica, sentinel, port, dir);
    try {
      await sentinel.line((line) => line.includes(`+slave slave 127.0.0.1:${replica.port}`));
      await whenInSync(replica.port);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  /** ioredis's Sentinel options: the Sentinel's address and the master group's name. */
  get connection(): { sentinels: Array<{ host: string; port: number }>; name: string } {
    return { sentinels: [{ host: '127.0.0.1', port: this.#port }], name: MASTER_NAME };
  }

  /** Resolves once the Sentinel has made the replica the master (already, or later). */
  promoted(): Promise<string> {
    return this.#sentinel.line((line) =>
      line.includes(`+switch-master ${MASTER_NAME} 127.0.0.1 ${this.master.port} 127.0.0.1 ${this.replica.port}`),
    );
  }

  async stop(): Promise<void> {
    const sentinel = this.#sentinel.process;
    if (sentinel.exitCode === null && sentinel.signalCode === null) {
      sentinel.kill('SIGKILL');
      await this.#sentinel.exited;
    }
    await Promise.all([this.master.stop(), this.replica.stop()]);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Polls the replica (Redis has no event for it) every 50 ms until its link to the master is up. */
async function whenInSync(port: number): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  try {
    await client.connect();
    while (!(await client.info('replication')).includes('master_link_status:up')) await sleep(50);
  } finally {
    client.disconnect();
  }
}
