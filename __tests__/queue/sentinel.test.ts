// The queue through Redis Sentinel: the master killed (SIGKILL) under load, the Sentinel promotes the replica, the runner and a worker carry on, no accepted task lost.
import { RedisSentinel } from './redis-sentinel.js';
import { Closer, describeWithRedis, hasRedisServer } from './support.js';
import { expectNoneLost, underLoad } from './under-load.js';

describeWithRedis('BullMQ runner and worker through Redis Sentinel', () => {
  if (!hasRedisServer()) {
    // REDIS_URL alone cannot make a Sentinel set: say so rather than fail on a missing binary.
    test.skip('needs redis-server (Debian redis-server package): REDIS_URL is not enough', () => {});
    return;
  }
  let sentinel: RedisSentinel | undefined;
  const closer = new Closer();
  afterEach(async () => {
    await closer.closeAll();
    await sentinel?.stop();
  });

  test('failover under load: the master killed, the replica promoted, every accepted task runs or is reported as given up', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {}); // "lost Redis", "answers again"
    try {
      const set = await RedisSentinel.start();
      sentinel = set;
      const result = await underLoad(closer, set.connection, {}, async (send, runner) => {
        const promoted = set.promoted();
        let switched = false;
        void promoted.then(() => {
          switched = true;
        });
        await set.master.kill();
        // Requests go on through the failover: the runner holds what it cannot store, the promotion ends the outage.
        let held = 0;
        while (!switched) {
          await send(5);
          held = Math.max(held, runner.stats().buffered);
        }
        await send(50);
        expect(held).toBeGreaterThan(0); // the outage was real: tasks waited in memory for the new master
      });
      expectNoneLost(result);
      // The web process and the worker went on with the new master.
      expect(result.worker.stats().failed).toBe(0);
    } finally {
      errors.mockRestore();
    }
  });
});
