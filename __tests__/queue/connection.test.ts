// The connection option of bullmqRunner() and runWorker(): unknown keys refused by name, the cluster form and its prefix rule, no credentials in errors (no Redis needed).
import { Cluster } from 'ioredis';
import request from 'supertest';
import { producerClient, retryDelay } from '../../lib/bullmq/connection.js';
import { bullmqRunner, runWorker } from '../../lib/bullmq/index.js';
import { parseRunnerOptions, parseWorkerOptions } from '../../lib/bullmq/options.js';
import { EnqueueError, InvalidArgumentError } from '../../lib/errors.js';
import { defineTask } from '../../lib/index.js';
import { appWith, collectErrors } from '../helpers.js';
import { Closer } from './support.js';

const task = defineTask('task', () => undefined);
/** Nothing listens on port 1: the clients made by the accepted options never reach a server. */
const nowhere = { host: '127.0.0.1', port: 1 };

/** What bullmqRunner() and runWorker() throw for `connection` (and `prefix`): both must refuse it the same way. */
function thrownBy(connection: unknown, prefix?: string): { runner: unknown; worker: unknown } {
  const extra = prefix === undefined ? {} : { prefix };
  const catchIt = (make: () => unknown): unknown => {
    try {
      make();
    } catch (error) {
      return error;
    }
    throw new Error('accepted');
  };
  return {
    runner: catchIt(() => bullmqRunner({ connection, queueName: 'q', ...extra } as never)),
    worker: catchIt(() => runWorker({ connection, queueName: 'q', tasks: [task], ...extra } as never)),
  };
}

describe('connection: unknown or misplaced keys are a TypeError naming the key (ioredis would ignore them and connect to localhost:6379)', () => {
  test.each([
    ['a typo of host', { port: 6380, hots: 'redis.internal' }, 'unknown key "hots": ioredis has no such option (did you mean "host"?)'],
    ['another case', { Password: 's3cret' }, 'unknown key "Password": ioredis has no such option (did you mean "password"?)'],
    ['a key of nothing', { server: 'redis.internal' }, 'unknown key "server": ioredis has no such option, and would ignore it'],
    ['a Sentinel key without sentinels', { host: 'h', sentinelPassword: 'x' }, 'it is a Sentinel option: it needs connection.sentinels'],
    [
      'natMap without either',
      { host: 'h', natMap: {} },
      'it is a Sentinel and Redis Cluster option: it needs connection.sentinels or connection.cluster',
    ],
    ['a cluster-only key without cluster', { host: 'h', scaleReads: 'slave' }, 'it is a Redis Cluster option: it needs connection.cluster'],
    ['an address with sentinels', { sentinels: [nowhere], name: 'm', host: 'h' }, 'the sentinels give the address of the master'],
    [
      'url (BullMQ reads it, ioredis does not)',
      { url: 'redis://h:6379' },
      "pass the URL itself as the connection: connection: 'redis://...'",
    ],
    [
      'keyPrefix',
      { host: 'h', keyPrefix: 'app:' },
      "BullMQ cannot work with ioredis's keyPrefix: use the runner's and the worker's prefix option",
    ],
    [
      'a client option at the top of a cluster',
      { cluster: [nowhere], password: 'x' },
      "it is an option of each node's client: put it in connection.redisOptions",
    ],
    ['an address at the top of a cluster', { cluster: [nowhere], host: 'h' }, "a cluster's nodes are given in connection.cluster"],
    ['retryStrategy on a cluster', { cluster: [nowhere], retryStrategy: () => 1 }, 'a cluster reconnects with clusterRetryStrategy'],
  ])('%s', (_case, connection, why) => {
    const { runner, worker } = thrownBy(connection);
    for (const error of [runner, worker]) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain(`option "connection" has an unknown key "${Object.keys(connection).at(-1)}"`);
      expect((error as Error).message).toContain(why);
    }
  });

  test.each([[{}], [{ password: 'x', db: 2 }]])('%p names no server: refused rather than connecting to localhost:6379', (connection) => {
    const { runner, worker } = thrownBy(connection);
    for (const error of [runner, worker]) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain('option "connection" names no server (none of host, port, path, sentinels)');
    }
  });

  test("a cluster's redisOptions are checked as each node's client options", () => {
    const { runner } = thrownBy({ cluster: [nowhere], redisOptions: { passwd: 'x' } });
    expect((runner as Error).message).toMatch(/option "connection.redisOptions" has an unknown key "passwd": .*did you mean "password"/);
    const misplaced = thrownBy({ cluster: [nowhere], redisOptions: { scaleReads: 'slave' } }).runner as Error;
    expect(misplaced.message).toContain('it is an option of the cluster: put it at the top level of connection');
    // ioredis's Cluster leaves these to itself (its redisOptions type omits them).
    const forbidden = thrownBy({ cluster: [nowhere], redisOptions: { host: 'h' } }).runner as Error;
    expect(forbidden.message).toContain('option "connection.redisOptions" has an unknown key "host"');
  });

  test.each([
    [[], 'option "connection.cluster" must be a non-empty array of { host, port }'],
    ['127.0.0.1:7000', 'option "connection.cluster" must be a non-empty array of { host, port }'],
    [[{ host: '127.0.0.1' }], 'option "connection.cluster[0].port" must be a port number from 1 to 65535; received undefined'],
    [[nowhere, { host: '', port: 7000 }], 'option "connection.cluster[1].host" must be a host name or address'],
    [[{ ...nowhere, password: 'x' }], 'option "connection.cluster[0]" has an unknown key "password": a node is { host, port }'],
    [['redis://127.0.0.1:7000'], 'option "connection.cluster[0]" must be { host, port }'],
  ])('cluster: %p is refused', (nodes, message) => {
    const { runner, worker } = thrownBy({ cluster: nodes });
    expect((runner as Error).message).toContain(message);
    expect((worker as Error).message).toContain(message);
  });

  test('the messages never quote a value (a password, a token)', () => {
    for (const connection of [
      { password: 'S3cret-value', hots: 'h' },
      { cluster: [nowhere], password: 'S3cret-value' },
      { cluster: [nowhere], redisOptions: { password: 'S3cret-value', tsl: {} } },
    ]) {
      const { runner, worker } = thrownBy(connection);
      expect((runner as Error).message).not.toContain('S3cret');
      expect((worker as Error).message).not.toContain('S3cret');
    }
  });
});

describe('connection: the documented forms are accepted', () => {
  test.each([
    ['one server', { ...nowhere, username: 'app', password: 'x', db: 1, tls: {}, connectTimeout: 1000 }],
    ['Sentinel', { sentinels: [nowhere], name: 'mymaster', sentinelPassword: 'x', password: 'x', role: 'master' as const }],
    [
      'a cluster',
      {
        cluster: [nowhere],
        redisOptions: { password: 'x', tls: {} },
        natMap: {},
        scaleReads: 'master' as const,
        slotsRefreshTimeout: 2000,
      },
    ],
  ])('%s', (_form, connection) => {
    // The parse step of bullmqRunner() and runWorker() (the clients they then open are tested against real servers).
    expect(parseRunnerOptions({ connection, queueName: 'q' }).connection).toBe(connection);
    expect(parseWorkerOptions({ connection, queueName: 'q', tasks: [task] }).connection).toBe(connection);
  });
});

describe('prefix on a cluster: BullMQ needs every key of a queue in one slot, which a hash tag gives', () => {
  const cluster = { cluster: [nowhere] };

  test.each(['bull', 'app:{}', 'app}{q'])('a prefix without a hash tag (%p) is a TypeError saying why', (prefix) => {
    const { runner, worker } = thrownBy(cluster, prefix);
    for (const error of [runner, worker]) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain(
        'option "prefix" must hold a Redis Cluster hash tag such as "{bull}" (the default with a cluster)',
      );
      expect((error as Error).message).toContain('all the keys of a queue, and the jobs of a list, must be in one slot');
    }
  });

  test('a prefix with a hash tag (in the prefix or the queue name) is kept; none becomes "{bull}"; one server takes any prefix', () => {
    expect(parseRunnerOptions({ connection: cluster, queueName: 'q' }).prefix).toBe('{bull}');
    expect(parseWorkerOptions({ connection: cluster, queueName: 'q', tasks: [task] }).prefix).toBe('{bull}');
    expect(parseRunnerOptions({ connection: cluster, queueName: 'q', prefix: 'app:{jobs}' }).prefix).toBe('app:{jobs}');
    expect(parseRunnerOptions({ connection: cluster, queueName: '{emails}', prefix: 'app' }).prefix).toBe('app');
    expect(parseRunnerOptions({ connection: nowhere, queueName: 'q' }).prefix).toBeUndefined();
    expect(parseRunnerOptions({ connection: nowhere, queueName: 'q', prefix: 'bull' }).prefix).toBe('bull');
  });
});

describe('connection strings: an error never prints credentials', () => {
  test.each([
    ['http://admin:S3cret@redis.internal:6379', '"http://***@redis.internal:6379"'],
    ['admin:S3cret@redis.internal:6379', '"***@redis.internal:6379"'],
    ['redis//:S3cret@redis.internal', '"***@redis.internal"'],
    [`http://u:p@${'a'.repeat(100)}`, `"http://***@${'a'.repeat(49)}..."`],
  ])('%s', (connection, shown) => {
    const { runner, worker } = thrownBy(connection);
    for (const error of [runner, worker]) {
      expect((error as Error).message).toContain(`option "connection" must be a redis:// URL`);
      expect((error as Error).message).toContain(`received the string ${shown}`);
      expect((error as Error).message).not.toMatch(/S3cret|admin/);
    }
  });
});

describe("the runner's cluster client fails fast, as its one-server client does", () => {
  test('no offline queue, no retry of a command, its own reconnect schedule: whatever the options say', () => {
    const client = producerClient(
      { cluster: [nowhere], enableOfflineQueue: true, clusterRetryStrategy: () => null, redisOptions: { maxRetriesPerRequest: 20 } },
      500,
    );
    try {
      expect(client).toBeInstanceOf(Cluster);
      const { options } = client as Cluster;
      expect(options.enableOfflineQueue).toBe(false);
      expect(options.clusterRetryStrategy).toBe(retryDelay);
      expect(options.redisOptions).toMatchObject({ maxRetriesPerRequest: 0, commandTimeout: 500, connectTimeout: 500 });
    } finally {
      client.disconnect();
    }
  });

  test('with no node reachable, a list is held in memory (never queued inside ioredis) and given up, reported, at the drain deadline', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {}); // "cannot reach Redis", "gave up"
    const closer = new Closer();
    try {
      const runner = closer.add(bullmqRunner({ connection: { cluster: [nowhere] }, queueName: 'q', enqueueTimeout: 500 }));
      const { failures, onError } = collectErrors();
      const { app, bg } = appWith({ runner, onError });
      app.post('/', (_req, res) => {
        res.locals.background.addTask(task);
        res.sendStatus(204);
      });
      await request(app).post('/').expect(204);
      await bg.drain({ timeout: 300 });
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toBeInstanceOf(EnqueueError);
      expect(runner.stats()).toMatchObject({ buffered: 0, enqueued: 0, givenUp: 1 });
    } finally {
      await closer.closeAll();
      errors.mockRestore();
    }
  });
});
