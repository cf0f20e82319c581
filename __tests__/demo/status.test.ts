// The demo's POST /reports as real processes: 202 with a Location, then the record at /tasks/:id and its event stream,
// in process and (with REDIS_URL) through the queue and `npm run demo:worker`.
import { randomUUID } from 'node:crypto';
import { SseClient, UUID } from '../status-support.js';
import { describeWithRedis, killChildren, type RedisServer, startDemo, startRedis, tsxNode } from './support.js';

interface Record {
  id: string;
  state: string;
  progress?: number;
  message?: string;
  result?: unknown;
  where: string;
}

afterEach(killChildren);

/** POST /reports, then the record at its Location and its stream to the end; returns what the stream said. */
async function reportThrough(port: number, where: string): Promise<Record[]> {
  const response = await fetch(`http://127.0.0.1:${port}/reports?title=Q3`, { method: 'POST' });
  expect(response.status).toBe(202);
  const body = (await response.json()) as { id: string; status: string; events: string };
  expect(body.id).toMatch(UUID);
  expect(response.headers.get('location')).toBe(`/tasks/${body.id}`);
  expect(body).toEqual({ id: body.id, status: `/tasks/${body.id}`, events: `/tasks/${body.id}/events` });

  const polled = await fetch(`http://127.0.0.1:${port}${body.status}`);
  expect(polled.status).toBe(200);
  expect(await polled.json()).toMatchObject({ id: body.id, name: 'buildReport', where });

  const stream = new SseClient(port, body.events);
  await stream.ended;
  const records = stream.records<Record>();
  expect(records.at(-1)).toMatchObject({
    state: 'succeeded',
    progress: 1,
    message: 'step 4 of 4',
    result: { title: 'Q3', pages: 12 },
  });
  const unknown = await fetch(`http://127.0.0.1:${port}/tasks/${randomUUID()}`);
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toEqual({ error: 'unknown task' });
  return records;
}

test('in process: POST /reports answers 202 and Location; the record is polled and streamed to its result', async () => {
  const { demo, port } = await startDemo({ REPORT_STEP_MS: '40' }, 'node');
  await demo.line(
    (line) => line === `     curl -i -X POST "http://localhost:${port}/reports" (202, then GET the Location, or add /events to stream it)`,
  );
  const records = await reportThrough(port, 'process');
  const progress = records.map((r) => r.progress ?? 0);
  expect(progress).toEqual([...progress].sort((x, y) => x - y));
});

describeWithRedis('the demo on BullMQ', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  test('POST /reports: the worker builds it, the web process reads its record from the queue', async () => {
    const env = {
      REDIS_URL: redis.url,
      QUEUE_NAME: `ebt-demo-status-x${process.env.EXPRESS_VERSION ?? '5'}-${randomUUID().slice(0, 8)}`,
      REPORT_STEP_MS: '40',
    };
    const { port } = await startDemo(env, 'node');
    const worker = tsxNode('demo/worker.ts', env);
    await worker.line((line) => line.startsWith('Worker running tasks from the BullMQ queue '));
    await reportThrough(port, 'queue');
  }, 30_000);
});
