// The demo with REDIS_URL, as real processes: `npm run demo` queues the email, `npm run demo:worker` sends it, both stop on SIGTERM.
import path from 'node:path';
import { Child, killChildren, ROOT } from '../reliability/child.js';
import { describeWithRedis, freePort, type RedisServer, startRedis, uniqueQueueName } from './redis.js';

describeWithRedis('the demo on BullMQ (REDIS_URL set)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(killChildren);
  afterAll(() => redis?.stop());

  test('the web process enqueues, the worker sends the email, and both shut down gracefully', async () => {
    const port = await freePort();
    const env = { REDIS_URL: redis.url, QUEUE_NAME: uniqueQueueName('demo'), EMAIL_DELAY_MS: '20', PORT: String(port) };
    const web = new Child(path.join(ROOT, 'demo/server.ts'), env);
    await web.line((line) => line.startsWith('Demo listening on '));
    await web.line(
      (line) => line === `Tasks go to the BullMQ queue "${env.QUEUE_NAME}" (REDIS_URL); run \`npm run demo:worker\` to send the emails`,
    );
    const worker = new Child(path.join(ROOT, 'demo/worker.ts'), env);
    await worker.line((line) => line.startsWith('Worker running tasks from the BullMQ queue '));

    const response = await fetch(`http://127.0.0.1:${port}/register?email=ada%40example.com`, { method: 'POST' });
    expect(response.status).toBe(200);
    await worker.line((line) => line === 'Email sent to ada@example.com');
    // The web process only queued it.
    expect(web.lines.filter((line) => line.startsWith('Email sent to'))).toEqual([]);

    expect(await web.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(web.lines.at(-1)).toBe('Shutdown: 0 tasks finished while draining, 0 abandoned');
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(worker.lines.at(-1)).toBe('Shutdown: 1 tasks succeeded, 0 failed, 0 left for BullMQ to deliver again');
  });
});
