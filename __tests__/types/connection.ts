// Type tests for the connection option of express-background-tasks/bullmq (one server, Sentinel, Cluster): checked by tsc, never run.

import { bullmqRunner, type ClusterConnection, type Connection, runWorker } from '../../lib/bullmq/index.js';
import { defineTask } from '../../lib/index.js';

const task = defineTask('task', () => {});
const cluster: ClusterConnection = {
  cluster: [{ host: '10.0.0.1', port: 6379 }],
  redisOptions: { password: 'secret', tls: {} },
  natMap: { '10.0.0.1:6379': { host: 'redis.example.com', port: 6379 } },
};
const sentinel: Connection = { sentinels: [{ host: 'sentinel', port: 26379 }], name: 'mymaster' };
bullmqRunner({ connection: cluster, queueName: 'q', prefix: '{bull}' });
runWorker({ connection: cluster, queueName: 'q', tasks: [task] });
bullmqRunner({ connection: sentinel, queueName: 'q' });
bullmqRunner({ connection: 'rediss://user:secret@redis.example.com:6380', queueName: 'q' });

// @ts-expect-error: a cluster's nodes are { host, port }
bullmqRunner({ connection: { cluster: '10.0.0.1:6379' }, queueName: 'q' });
// @ts-expect-error: a node's port is a number
runWorker({ connection: { cluster: [{ host: '10.0.0.1', port: '6379' }] }, queueName: 'q', tasks: [task] });
// @ts-expect-error: no such ioredis option (a typo of host)
bullmqRunner({ connection: { hots: 'redis.internal' }, queueName: 'q' });
