// Tracing across BullMQ against a real redis-server: the enqueue channel, the worker's attempts on the task channel (BullMQ's attempt
// numbers, the traceparent from the job), old jobs without one, and OpenTelemetry spans of the worker in the request's trace.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import request from 'supertest';
import { bullmqRunner, JOB_FORMAT_VERSION, runWorker } from '../../lib/bullmq/index.js';
import { backgroundTasks, defineTask } from '../../lib/index.js';
import { appWith, loadExpress, settled } from '../helpers.js';
import { otelInMemory, parentOf, spanNamed } from '../otel-support.js';
import { allText, recordChannel } from '../tracing-support.js';
import { describeWithRedis, inspectQueue, nextOutcomes, uniqueQueueName, useRedis } from './support.js';

const SECRET = 'secret-argument-value-42';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describeWithRedis('tracing across BullMQ', () => {
  const redis = useRedis();
  const { closer } = redis;

  function worker(queueName: string, tasks: Parameters<typeof runWorker>[0]['tasks']) {
    return closer.add(runWorker({ connection: redis.server.url, queueName, tasks, onError: () => {} }));
  }

  test('the hand-off is traced, a subscriber traceparent travels with the jobs, and each BullMQ attempt is one traced attempt', async () => {
    const tasks = recordChannel('express-background-tasks.task');
    const enqueues = recordChannel('express-background-tasks.enqueue', (context) => {
      context.traceparent = TRACEPARENT;
    });
    try {
      const queueName = uniqueQueueName('tracing');
      const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
      let calls = 0;
      const flakyEmail = defineTask(
        'flakyEmail',
        async (_email: string) => {
          calls++;
          if (calls === 1) throw new Error('SMTP down');
        },
        { retries: 1 },
      );
      const audit = defineTask('audit', (_what: { secret: string }) => undefined);
      const { app, bg } = appWith({ runner });
      app.post('/register', (_req, res) => {
        res.locals.background.addTask(flakyEmail, SECRET);
        res.locals.background.addTask(audit, { secret: SECRET });
        res.end();
      });
      await request(app).post('/register?token=abc').expect(200);
      await settled(bg);
      expect(enqueues.events.map((e) => e.event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(enqueues.events[0]?.fields).toMatchObject({ names: ['flakyEmail', 'audit'], method: 'POST', path: '/register' });
      expect(allText(enqueues.events[3]?.context)).not.toContain(SECRET);

      const running = worker(queueName, [flakyEmail, audit]);
      // flakyEmail's first attempt fails and BullMQ retries it; then audit, its parent in the chain, runs.
      const outcomes = await nextOutcomes(running.worker, 3);
      expect(outcomes.map((o) => o.type)).toEqual(['failed', 'completed', 'completed']);
      await tasks.until(11);
      const attempts = tasks.byAttempt();
      expect(attempts.map((events) => events.map((e) => e.event))).toEqual([
        ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
        ['start', 'end', 'asyncStart', 'asyncEnd'],
        ['start', 'end'],
      ]);
      const starts = attempts.map((events) => events[0]?.fields);
      expect(starts).toEqual([
        expect.objectContaining({
          name: 'flakyEmail',
          attempt: 1,
          where: 'queue',
          method: 'POST',
          path: '/register',
          traceparent: TRACEPARENT,
        }),
        expect.objectContaining({ name: 'flakyEmail', attempt: 2, where: 'queue', traceparent: TRACEPARENT }),
        expect.objectContaining({ name: 'audit', attempt: 1, where: 'queue', traceparent: TRACEPARENT }),
      ]);
      for (const fields of starts) expect(fields?.taskId).toMatch(UUID);
      expect(starts[0]?.taskId).toBe(starts[1]?.taskId);
      for (const event of tasks.events) expect(allText(event.fields)).not.toContain(SECRET);
    } finally {
      tasks.unsubscribe();
      enqueues.unsubscribe();
    }
  });

  test('a job without a traceparent (or with a malformed one) runs as before, traced without one', async () => {
    const tasks = recordChannel('express-background-tasks.task');
    try {
      const queueName = uniqueQueueName('old-jobs');
      const ran: string[] = [];
      const oldTask = defineTask('oldTask', (label: string) => {
        ran.push(label);
      });
      const queue = inspectQueue(closer, redis.server.url, queueName);
      const data = (id: string, extra: Record<string, unknown>) => ({
        v: JOB_FORMAT_VERSION,
        id,
        args: [id],
        enqueuedAt: Date.now(),
        timeout: null,
        method: 'POST',
        path: '/old',
        ...extra,
      });
      await queue.add('oldTask', data('job-without', {}), { jobId: 'job-without' });
      await queue.add('oldTask', data('job-malformed', { traceparent: 'not-a-traceparent' }), { jobId: 'job-malformed' });
      const running = worker(queueName, [oldTask]);
      expect((await nextOutcomes(running.worker, 2)).map((o) => o.type)).toEqual(['completed', 'completed']);
      expect(ran.sort()).toEqual(['job-malformed', 'job-without']);
      await tasks.until(4);
      expect(tasks.events.filter((e) => e.event === 'start').map((e) => e.fields.traceparent)).toEqual([undefined, undefined]);
    } finally {
      tasks.unsubscribe();
    }
  });

  test("OpenTelemetry: the worker's span joins the request's trace, below the hand-off's send span", async () => {
    const otel = otelInMemory();
    try {
      const queueName = uniqueQueueName('otel');
      const runner = closer.add(bullmqRunner({ connection: redis.server.url, queueName }));
      const sendEmail = defineTask('sendEmail', async (_email: string) => {
        otel.tracer.startSpan('smtp call').end();
      });
      const broken = defineTask('broken', () => {
        throw new Error('template missing');
      });
      const bg = backgroundTasks({ runner });
      const express = loadExpress();
      const app = express();
      app.use(otel.requestSpan('request'));
      app.use(bg);
      app.post('/register', (_req, res) => {
        res.locals.background.addTask(sendEmail, SECRET);
        res.locals.background.addTask(broken);
        res.end();
      });
      await request(app).post('/register').expect(200);
      await settled(bg);
      const running = worker(queueName, [sendEmail, broken]);
      await nextOutcomes(running.worker, 2);
      const spans = otel.spans();
      const req = spanNamed(spans, 'request');
      const send = spanNamed(spans, 'send 2 tasks');
      const process = spanNamed(spans, 'process sendEmail');
      const failed = spanNamed(spans, 'process broken');
      const inner = spanNamed(spans, 'smtp call');
      const traceId = req.spanContext().traceId;
      for (const span of [send, process, failed, inner]) expect(span.spanContext().traceId).toBe(traceId);
      expect(parentOf(send)).toBe(req.spanContext().spanId);
      expect(parentOf(process)).toBe(send.spanContext().spanId);
      expect(parentOf(failed)).toBe(send.spanContext().spanId);
      expect(parentOf(inner)).toBe(process.spanContext().spanId);
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.attributes).toMatchObject({
        'messaging.operation.type': 'send',
        'messaging.batch.message_count': 2,
        'background_task.names': ['sendEmail', 'broken'],
      });
      expect(process.kind).toBe(SpanKind.CONSUMER);
      expect(process.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.system': 'bullmq',
        'messaging.message.id': expect.stringMatching(UUID),
        'background_task.where': 'queue',
        'background_task.outcome': 'succeeded',
      });
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.events.map((event) => event.name)).toEqual(['exception']);
      expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain(SECRET);
    } finally {
      await otel.shutdown();
    }
  });
});
