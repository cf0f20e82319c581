// Kept only for __tests__/bullmq/demo.test.ts until it moves to __tests__/demo/: the queue helpers now live in
// __tests__/queue/support.ts and freePort() in __tests__/helpers.ts (import them from there).
export { freePort } from '../helpers.js';
export {
  deadRedisUrl,
  describeWithRedis,
  hasRedisServer,
  type RedisServer,
  skipReason,
  startRedis,
  uniqueQueueName,
} from '../queue/support.js';
