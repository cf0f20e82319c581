// The demo with REDIS_URL, as real processes: `npm run demo` queues the email, `npm run demo:worker` sends it, both stop on SIGTERM.
import { randomUUID } from 'node:crypto';
import { describeWithRedis, killChildren, npmRun, type RedisServer, startDemo, startRedis } from './support.js';

describeWithRedis('the demo on BullMQ (REDIS_URL set)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(killChildren);
  afterAll(() => redis?.stop());

  test('the web process enqueues, the worker sends the email, and both shut down gracefully', async () => {
    const env = {
      REDIS_URL: redis.url,
      QUEUE_NAME: `ebt-demo-x${process.env.EXPRESS_VERSION ?? '5'}-${randomUUID().slice(0, 8)}`,
      EMAIL_DELAY_MS: '20',
    };
    const { demo: web, port } = await startDemo(env);
    await web.line(
      (line) => line === `Tasks go to the BullMQ queue "${env.QUEUE_NAME}" (REDIS_URL); run \`npm run demo:worker\` to send the emails`,
    );
    const worker = npmRun('demo:worker', env);
    await worker.line((line) => line.startsWith('Worker running tasks from the BullMQ queue '));

    const response = await fetch(`http://127.0.0.1:${port}/register?email=ada%40example.com`, { method: 'POST' });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    await worker.line((line) => line === 'Email sent to ada@example.com');
    // The web process only queued it.
    expect(web.lines.filter((line) => line.startsWith('Email sent to'))).toEqual([]);

    web.signal('SIGTERM');
    expect(await web.exited).toEqual({ code: 0, signal: null });
    expect(web.lines.at(-1)).toBe('Shutdown: 0 tasks finished while draining, 0 abandoned');
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.at(-1)).toBe('Shutdown: 1 tasks succeeded, 0 failed, 0 left for BullMQ to deliver again');
  });
});
