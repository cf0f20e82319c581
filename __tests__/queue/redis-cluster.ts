// Test helper: a Redis Cluster of three masters (Debian's redis-server and redis-cli) on free ports, durable, whose nodes a test can kill (SIGKILL) and restart.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../helpers.js';
import { RedisProcess } from './redis-process.js';

const run = promisify(execFile);

/** How long a node may be unreachable before the others mark it failed: short, so that a kill is seen within the test. */
const NODE_TIMEOUT_MS = 1000;

export class RedisCluster {
  readonly #dir: string;
  readonly nodes: readonly RedisProcess[];

  private constructor(dir: string, nodes: readonly RedisProcess[]) {
    this.#dir = dir;
    this.nodes = nodes;
  }

  /**
   * Starts `masters` nodes (no replicas) and joins them into one cluster with `redis-cli --cluster create`. Each node
   * has its own data directory and cluster bus port (`cluster-port`, so that port + 10000 need not be free), and writes
   * every command to its append-only file before answering, so that a SIGKILL loses nothing it said it stored.
   */
  static async start(masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ebt-cluster-'));
    const nodes: RedisProcess[] = [];
    for (let i = 0; i < masters; i++) {
      const nodeDir = path.join(dir, `node-${i}`);
      mkdirSync(nodeDir);
      const bus = await freePort();
      nodes.push(
        await RedisProcess.create(true, [
          '--dir',
          nodeDir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(nodeDir, 'nodes.conf'),
          '--cluster-port',
          String(bus),
          '--cluster-node-timeout',
          String(NODE_TIMEOUT_MS),
        ]),
      );
    }
    const cluster = new RedisCluster(dir, nodes);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await cluster.whenOk();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The nodes to start from, as `connection: { cluster }` takes them. */
  get startNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** The node that holds the slot of `key` (for a prefix such as '{bull}', the slot of every key of its queues). */
  async ownerOf(key: string): Promise<RedisProcess> {
    const client = new Redis({
      host: '127.0.0.1',
      port: (this.nodes.find((node) => node.running) as RedisProcess).port,
      lazyConnect: true,
    });
    try {
      await client.connect();
      const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const owner = this.nodes.find((node) => node.port === range?.[2][1]);
      if (owner === undefined) throw new Error(`no node holds slot ${slot}`);
      return owner;
    } finally {
      client.disconnect();
    }
  }

  /** Resolves once every running node reports `cluster_state:ok` (all slots served): after the creation, and after a node came back. */
  whenOk(): Promise<void> {
    return this.whenState(
      'ok',
      this.nodes.filter((node) => node.running),
    );
  }

  /**
   * Resolves once each of `nodes` reports `cluster_state:<state>` ('fail' once a master is marked failed: then every
   * node answers CLUSTERDOWN). A state to poll (Redis has no event for it): each node is asked every 50 ms.
   */
  async whenState(state: 'ok' | 'fail', nodes: readonly RedisProcess[]): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        const client = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: null });
        try {
          await client.connect();
          while (!((await client.call('CLUSTER', 'INFO')) as string).includes(`cluster_state:${state}`)) await sleep(50);
        } finally {
          client.disconnect();
        }
      }),
    );
  }

  /** Kills every node and removes their files. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
